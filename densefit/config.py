"""Run configuration: one dataclass per layer, with help text on every field.

The CLI builds these from flags (its help strings come from here) and the
Python API from keyword arguments; `from_yaml` reads the same fields from a file.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from densefit.errors import ConfigError


def _f(default: Any, help: str, **kw: Any) -> Any:
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help}, **kw)
    return field(default=default, metadata={"help": help}, **kw)


def help_of(cls: type, name: str) -> str:
    """The help text of a config field, for CLI options."""
    return next(f.metadata["help"] for f in dataclasses.fields(cls) if f.name == name)


@dataclass
class DataConfig:
    train: str = _f("", "Training data: JSONL, CSV/TSV, Parquet, a HF datasets folder or a BEIR folder.")
    format: str | None = _f(None, "Data format; detected from the columns when not given.")
    strict: bool = _f(False, "Treat empty texts and duplicate rows as errors instead of dropping them.")
    seed: int = _f(0, "Seed for sampling pairs from labelled documents.")


@dataclass
class TrainConfig:
    model: str = _f("default", "Base model: 'default' (bundled all-MiniLM-L6-v2), a local folder or a hub id.")
    train: str = _f("", "Training data file or folder.")
    out: str = _f("runs/densefit", "Run folder: gets model/, checkpoints/ and train.json.")
    eval: str | None = _f(None, "BEIR-style IR folder (or STS file) evaluated before and after training.")
    format: str | None = _f(None, "Data format; detected from the columns when not given.")
    strict: bool = _f(False, "Treat empty texts and duplicate rows as errors instead of dropping them.")
    loss: str | None = _f(None, "Loss; by default it follows from the data format.")
    matryoshka_dims: list[int] = _f([], "Wrap the loss in Matryoshka with these dimensions, e.g. 384,256,128,64.")
    epochs: float = _f(1.0, "Number of passes over the training data.")
    max_steps: int = _f(-1, "Stop after this many optimizer steps (overrides epochs when > 0).")
    batch_size: int = _f(32, "Pairs per batch; with MNR, larger batches give more in-batch negatives.")
    learning_rate: float = _f(5e-5, "Peak learning rate (AdamW).")
    warmup_ratio: float = _f(0.1, "Fraction of steps for linear learning-rate warm-up.")
    max_seq_length: int | None = _f(None, "Truncate texts to this many tokens (default: the model's own limit).")
    seed: int = _f(0, "Random seed for initialisation, shuffling and sampling.")
    eval_steps: int = _f(0, "Evaluate every N steps and keep the best checkpoint (0: only at the end).")
    save_steps: int = _f(0, "Save a checkpoint every N steps (0: same as eval_steps, else once per epoch).")
    save_total_limit: int = _f(2, "Keep at most this many checkpoints (the best one is always kept).")
    resume: bool = _f(False, "Continue from the newest complete checkpoint in OUT/checkpoints.")
    precision: str = _f("auto", "auto|fp32|bf16|fp16; auto uses bf16 only where the hardware makes it fast.")
    logging_steps: int = _f(10, "Log the training loss every N steps.")
    trust_remote_code: bool = _f(False, "Allow model folders to run their own Python code (off by default).")

    def __post_init__(self) -> None:
        checks = [
            (self.batch_size >= 1, "batch_size must be >= 1"),
            (self.learning_rate > 0, "learning_rate must be > 0"),
            (self.epochs > 0 or self.max_steps > 0, "set epochs > 0 or max_steps > 0"),
            (0 <= self.warmup_ratio < 1, "warmup_ratio must be in [0, 1)"),
            (self.eval_steps >= 0 and self.save_steps >= 0, "eval_steps and save_steps must be >= 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)

    @classmethod
    def from_yaml(cls, path: str | Path, **overrides: Any) -> "TrainConfig":
        """Read fields from a YAML file; keyword overrides (e.g. CLI flags) win."""
        import yaml

        values = yaml.safe_load(Path(path).read_text()) or {}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"{path}: unknown field(s) {unknown}; valid fields: {', '.join(sorted(known))}")
        return cls(**{**values, **overrides})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class EvalConfig:
    ks: list[int] = _f([1, 3, 5, 10, 100], "Cut-offs for the retrieval metrics.")
    batch_size: int = _f(64, "Texts per encode batch.")
    precision: str = _f("auto", "auto|fp32|bf16|fp16 for encoding.")
    max_seq_length: int | None = _f(None, "Truncate texts to this many tokens (default: the model's own limit).")
