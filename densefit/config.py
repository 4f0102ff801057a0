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


SECRET_FIELDS = ("generator_api_key",)  # never written to train.json, reports or logs


def _f(default: Any, help: str, **kw: Any) -> Any:
    """A config field with its help text: the one place the CLI, the docs and errors read it from."""
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help}, **kw)
    return field(default=default, metadata={"help": help}, **kw)


def help_of(cls: type, name: str) -> str:
    """The help text of a config field, for CLI options."""
    return next(f.metadata["help"] for f in dataclasses.fields(cls) if f.name == name)


TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def parse_value(text: str, hint: Any, var: str) -> Any:
    """Turn an environment string into a field's type (int, float, bool, str, optional)."""
    import typing

    args = [a for a in typing.get_args(hint) if a is not type(None)]
    target = args[0] if args else hint
    if args and text.strip().lower() in ("", "none", "null"):
        return None
    try:
        if target is bool:
            word = text.strip().lower()
            if word not in TRUE_WORDS | FALSE_WORDS:
                raise ValueError(text)
            return word in TRUE_WORDS
        return target(text)
    except ValueError:
        raise ConfigError(f"${var}={text!r} is not a valid {target.__name__}") from None


def from_env(cls: type, prefix: str, environ: dict[str, str] | None = None, **overrides: Any) -> Any:
    """`cls` from its defaults, then PREFIX<FIELD> environment variables, then `overrides` that are not None."""
    import os
    import typing

    environ = os.environ if environ is None else environ
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        var = prefix + f.name.upper()
        if var in environ:
            values[f.name] = parse_value(environ[var], hints[f.name], var)
    values.update({k: v for k, v in overrides.items() if v is not None})
    unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
    if unknown:
        raise ConfigError(f"unknown setting(s) {unknown}; valid: {', '.join(f.name for f in dataclasses.fields(cls))}")
    return cls(**values)


@dataclass
class TrainConfig:
    model: str = _f("default", "Base model: 'default' (bundled all-MiniLM-L6-v2), a local folder or a hub id.")
    train: str = _f("", "Training data file or folder (optional for corpus-only methods, which read --corpus).")
    out: str = _f("runs/densefit", "Run folder: gets model/, checkpoints/ and train.json.")
    eval: str | None = _f(None, "BEIR-style IR folder (or STS file) evaluated before and after training.")
    format: str | None = _f(None, "Data format; detected from the columns when not given.")
    strict: bool = _f(False, "Treat empty texts and duplicate rows as errors instead of dropping them.")
    loss: str | None = _f(None, "Loss; by default it follows from the data format.")
    matryoshka_dims: list[int] = _f([], "Wrap the loss in Matryoshka with these dimensions, e.g. 384,256,128,64.")
    epochs: float | None = _f(None, "Number of passes over the training data (default: the recipe plans it from the "
                                    "data and --budget; 1 outside the recipe).")
    max_steps: int = _f(-1, "Stop after this many optimizer steps (overrides epochs when > 0).")
    batch_size: int | None = _f(None, "Pairs per batch; with MNR, larger batches give more in-batch negatives "
                                      "(default: 32).")
    learning_rate: float | None = _f(None, "Peak learning rate (AdamW) (default: the recipe's, 5e-5 outside it).")
    budget: str | None = _f(None, "Time budget of the recipe (--method auto on query-document pairs), e.g. 10m, 1h, "
                                  "90s; default: about 3x the cost of one plain epoch.")
    dev_queries: int | None = _f(None, "Recipe: training queries held out as a dev split to pick the checkpoint and "
                                       "the shipped model (default: 10% of the queries, 30-200; 0: none). Unused "
                                       "when --eval has a dev split.")
    ship: str = _f("best", "Recipe: best (the best on dev of base, merged and tuned; never worse than the base), "
                           "confident (as best, but a model beats the base only when its dev gain's 95% CI is "
                           "above zero; what build uses, since generated dev queries overrate tuning) or "
                           "tuned (always the fine-tuned model).")
    warmup_ratio: float = _f(0.1, "Fraction of steps for linear learning-rate warm-up.")
    group_by_length: bool = _f(False, "In-batch-negative losses: batch rows of similar length together (still no "
                                      "text twice in a batch), so less of each step pads; bench/speed.py measures it.")
    dropout: str = _f("model", "Dropout while training: model (the model's own rates, as a stock script trains; "
                               "the default), no-attention (none on attention probabilities, so PyTorch's fused "
                               "attention kernel runs) or off (none). On CPU the dropout that stays is drawn with a "
                               "cheap mask at the same rate, so model trains within 5% of off's speed; the two "
                               "levers lost 0.017-0.020 dev MRR@10 on Python docs (docs/methods.md). The saved "
                               "model's config is never changed.")
    query_prompt: str | None = _f(None, "Text put before every query, in training and everywhere the model is used "
                                        "(e.g. 'query: ' for e5); stored in the model folder.")
    document_prompt: str | None = _f(None, "Text put before every document (e.g. 'passage: ' for e5); stored in the "
                                           "model folder.")
    max_seq_length: int | None = _f(None, "Truncate texts to this many tokens (default: the model's own limit).")
    seed: int = _f(0, "Random seed for initialisation, shuffling and sampling.")
    eval_steps: int = _f(0, "Evaluate every N steps and keep the best checkpoint (0: only at the end).")
    save_steps: int = _f(0, "Save a checkpoint every N steps (0: same as eval_steps, else once per epoch).")
    save_total_limit: int = _f(2, "Keep at most this many checkpoints (the best one is always kept).")
    resume: bool = _f(False, "Continue from the newest complete checkpoint in OUT/checkpoints (the model, data, "
                             "batch size, learning rate, loss and method must match the first run's).")
    resume_force: bool = _f(False, "Resume even when those differ from the first run's (recorded in "
                                   "OUT/run-fingerprint.json).")
    precision: str = _f("auto", "auto|fp32|bf16|fp16; auto uses bf16 only where the hardware makes it fast.")
    logging_steps: int = _f(10, "Log the training loss every N steps.")
    trust_remote_code: bool = _f(False, "Allow model folders to run their own Python code (off by default).")
    # report and tracking (densefit/report)
    report: bool = _f(True, "Write OUT/report.html (before/after statistics, plots) and the model card "
                            "OUT/model/README.md after training.")
    report_to: list[str] = _f([], "Send training logs to tensorboard, mlflow and/or wandb (comma-separated); "
                                  "mlflow defaults to a local file store in OUT/mlruns, wandb to offline mode.")
    forgetting: str | None = _f(None, "Forgetting check in the report: 'bible' (KJV→WEB paraphrase retrieval) or a "
                                      "BEIR folder the run did not train on. Off by default: it costs two evaluations.")
    merge: str | None = _f(None, "Weight-space merge of base and fine-tuned (WiSE-FT): 'auto' picks the weight that "
                                 "keeps in-domain gains within the general-domain drop limit, or a weight in [0, 1]; "
                                 "writes OUT/model-merged.")
    # methods (densefit/methods): which one, and the data only some methods use
    method: str = _f("auto", "Training method: auto (chosen from the data given), supervised, augsbert, genq, gpl, "
                             "tsdae, mlm, distill.")
    corpus: str | None = _f(None, "Documents for corpus-only methods and mining: a BEIR folder, a .txt file (one per "
                                  "line) or a table with a text column.")
    explain: bool = _f(False, "Print why the method was chosen and why each alternative was not.")
    mine: bool | None = _f(None, "Mine hard negatives from --corpus (else the training documents) with the base "
                                 "model (default: the recipe mines when the budget leaves room for 2 epochs with "
                                 "the negative; off elsewhere; --no-mine turns it off).")
    mine_negatives: int = _f(1, "Hard negatives mined per query.")
    mine_depth: int = _f(50, "Candidates retrieved per query before the false-negative filters.")
    mine_skip_top: int = _f(0, "Rank window: never take the top-k candidates (likely unlabelled positives).")
    mine_margin: float | None = _f(None, "Drop candidates scoring above (positive score - margin), e.g. 0.05.")
    mine_relative_margin: float | None = _f(0.05, "Drop candidates scoring above positive score * (1 - margin).")
    mine_index: str = _f("auto", "Mining search: exact, hnsw (faiss ANN), or auto (hnsw from 30,000 queries "
                                 "and 50,000 documents).")
    mine_cross_encoder: str | None = _f(None, "Rescore mined candidates with this CrossEncoder (path or hub id) and "
                                              "drop those it scores close to or above the positive.")
    mine_review: str | None = _f(None, "JSONL file for the dropped suspected false negatives "
                                       "(default OUT/mined_false_negatives.jsonl).")
    generator: str = _f("extractive", "GenQ/GPL query generator: extractive (offline, no model), seq2seq, openai.")
    generator_model: str | None = _f(None, "seq2seq: HF model folder or hub id (e.g. a doc2query T5); openai: model.")
    generator_base_url: str | None = _f(None, "openai generator: base URL of an OpenAI-compatible endpoint "
                                              "(default: env DENSEFIT_GENERATOR_BASE_URL).")
    generator_api_key: str | None = _f(None, "openai generator: API key (default: env DENSEFIT_GENERATOR_API_KEY); "
                                             "never logged.")
    queries_per_passage: int = _f(3, "GenQ/GPL: queries generated per corpus document.")
    max_passages: int = _f(0, "GenQ/GPL/AugSBERT: use at most this many corpus documents (0: all).")
    cross_encoder: str | None = _f(None, "AugSBERT/GPL: CrossEncoder path or hub id; by default one is trained on the "
                                         "available pairs from the base model.")
    cross_encoder_epochs: float = _f(1.0, "Epochs when densefit trains the cross-encoder itself.")
    cross_encoder_steps: int = _f(-1, "Most steps when densefit trains the cross-encoder itself (-1: "
                                      "--cross-encoder-epochs). Independent of --max-steps, so a short "
                                      "bi-encoder run still gets a fully trained teacher.")
    silver_per_query: int = _f(4, "AugSBERT: new pairs sampled per gold query (BM25 neighbours and random).")
    retrievers: list[str] = _f(["model", "bm25"], "GPL: retrievers that mine hard negatives (model, bm25).")
    # TSDAE, MLM and distillation (densefit/methods/tsdae.py, mlm.py, distill.py)
    tsdae_noise: float = _f(0.6, "TSDAE: fraction of words deleted from each input sentence.")
    tsdae_pooling: str = _f("cls", "TSDAE: pooling of the trained model: cls (as in the paper), mean, or keep "
                                   "(the base model's own pooling).")
    max_sentences: int = _f(0, "TSDAE/MLM: train on at most this many corpus sentences, sampled with --seed (0: all).")
    mlm_probability: float = _f(0.15, "MLM: fraction of tokens masked.")
    mlm_first: bool = _f(False, "Adapt the model to --corpus with MLM first, then run --method on the adapted model.")
    mlm_epochs: float = _f(1.0, "MLM stage of --mlm-first: passes over the corpus sentences.")
    mlm_max_steps: int = _f(-1, "MLM stage of --mlm-first: stop after this many steps (overrides mlm_epochs when > 0).")
    teacher: str | None = _f(None, "distill: teacher model, run on the source language (default: --model).")
    parallel_eval: str | None = _f(None, "distill: held-out parallel pairs (TSV/JSONL) for translation-match accuracy "
                                         "(default: the aligned query/document pairs of --eval).")

    def __post_init__(self) -> None:
        checks = [
            (self.batch_size is None or self.batch_size >= 1, "batch_size must be >= 1"),
            (self.learning_rate is None or self.learning_rate > 0, "learning_rate must be > 0"),
            (self.epochs is None or self.epochs > 0 or self.max_steps > 0, "set epochs > 0 or max_steps > 0"),
            (self.dev_queries is None or self.dev_queries >= 0, "dev_queries must be >= 0"),
            (self.ship in SHIP_CHOICES, f"ship must be one of {', '.join(SHIP_CHOICES)}"),
            (self.dropout in DROPOUT_CHOICES, f"dropout must be one of {', '.join(DROPOUT_CHOICES)}"),
            (0 <= self.warmup_ratio < 1, "warmup_ratio must be in [0, 1)"),
            (self.eval_steps >= 0 and self.save_steps >= 0, "eval_steps and save_steps must be >= 0"),
            (self.mine_negatives >= 1 and self.mine_depth >= 1 and self.mine_skip_top >= 0,
             "mine_negatives and mine_depth must be >= 1, mine_skip_top >= 0"),
            (self.queries_per_passage >= 1, "queries_per_passage must be >= 1"),
            (0 < self.tsdae_noise < 1 and 0 < self.mlm_probability < 1,
             "tsdae_noise and mlm_probability must be in (0, 1)"),
            (self.tsdae_pooling in ("cls", "mean", "keep"), "tsdae_pooling must be cls, mean or keep"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        if self.budget is not None:
            parse_duration(self.budget, "budget")

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
        """The settings as written to train.json and the report; secrets appear only as "<redacted>"."""
        values = dataclasses.asdict(self)
        for name in SECRET_FIELDS:
            if values.get(name):
                values[name] = "<redacted>"
        return values

    def settled(self, **planned: Any) -> "TrainConfig":
        """A copy where every setting left to the recipe is decided: `planned` values, else STOCK_DEFAULTS.

        A value the user gave always wins over both."""
        open_fields = {k: v for k, v in {**STOCK_DEFAULTS, **planned}.items() if getattr(self, k) is None}
        return dataclasses.replace(self, **open_fields)


def parse_duration(text: str, what: str) -> float:
    """'90s', '10m', '1.5h' or a plain number of seconds -> seconds; anything else is a ConfigError."""
    import re

    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", str(text))
    if not match or float(match.group(1)) <= 0:
        raise ConfigError(f"{what} '{text}' is not a duration; write it like 90s, 10m or 1.5h")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


SHIP_CHOICES = ("best", "confident", "tuned")
DROPOUT_CHOICES = ("model", "no-attention", "off")
# `densefit train --help` groups its options in these panels (fields not named here go under "Training").
TRAIN_PANELS: dict[str, tuple[str, ...]] = {
    "Data": ("model", "train", "eval", "corpus", "format", "strict", "out", "max_seq_length", "seed"),
    "Mining": ("mine", "mine_negatives", "mine_depth", "mine_skip_top", "mine_margin", "mine_relative_margin",
               "mine_index", "mine_cross_encoder", "mine_review"),
    "Methods": ("method", "explain", "generator", "generator_model", "generator_base_url", "generator_api_key",
                "queries_per_passage", "max_passages", "cross_encoder", "cross_encoder_epochs",
                "cross_encoder_steps", "silver_per_query", "retrievers", "tsdae_noise", "tsdae_pooling",
                "max_sentences", "mlm_probability", "mlm_first", "mlm_epochs", "mlm_max_steps", "teacher",
                "parallel_eval"),
    "Report": ("report", "report_to", "forgetting", "merge"),
}
# What a setting left open becomes outside the recipe: sentence-transformers' own training defaults.
STOCK_DEFAULTS: dict[str, Any] = {"epochs": 1.0, "learning_rate": 5e-5, "batch_size": 32, "mine": False}
