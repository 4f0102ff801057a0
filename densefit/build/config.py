"""BuildConfig: every setting of `densefit build`, with its help text (the CLI reads it from here)."""

from __future__ import annotations

from dataclasses import dataclass

from densefit.config import _f, parse_duration
from densefit.errors import ConfigError, UnknownNameError

STAGES = ("chunks", "queries", "index-base", "train", "index", "evaluate")  # in the order they run

BUILD_BUDGET = "5m"   # chosen from the wall-time target (docs/benchmarks.md, BUILD), not from a domain's scores
BUILD_TIME = "15m"    # the whole-build target on 2 cores; it only ever shortens training
MINIMUMS = {"min_real_test": 1, "chunk_overlap": 0, "queries_per_chunk": 1, "max_train_pairs": 1, "test_queries": 1,
            "max_file_mb": 1}


@dataclass
class BuildConfig:
    folder: str = _f("", "The documents: a folder of .txt/.md/.rst/.html/.pdf/.json/.jsonl files and man pages, "
                         "or a BEIR folder.")
    out: str = _f("", "Output folder: chunks, data, the trained model, the indexes and build.json.")
    model: str = _f("default", "Base model to tune: 'default' (bundled MiniLM), a model folder or a hub id.")
    queries: str | None = _f(None, "Real queries: a JSONL of {\"query\": ..., \"source\": FILE} (a query log with "
                                   "the clicked file) or {\"query\": ..., \"chunk\": ID}. With at least "
                                   "--min-real-test of them they are the test split, else they join the generated one.")
    min_real_test: int = _f(50, "Real queries needed to make them the test split (generated test queries "
                                "overrate a model: they are cut from their own chunk).")
    chunk_tokens: int | None = _f(None, "Token budget of a chunk, its title included (default: the model's "
                                        "max_seq_length, at most 256).")
    chunk_overlap: int = _f(32, "Tokens of whole paragraphs or sentences shared by neighbouring chunks.")
    queries_per_chunk: int = _f(2, "Generated queries per sampled chunk.")
    max_train_pairs: int = _f(4000, "Most generated training pairs (the time of training grows with it).")
    dev_queries: int | None = _f(None, "Generated training queries the recipe holds out to pick the checkpoint "
                                       "and the shipped model (default: the recipe's plan).")
    test_queries: int = _f(500, "Generated queries held out for the before/after report (when real queries "
                                "are too few).")
    generator: str = _f("extractive", "Query generator: extractive (offline, no model), seq2seq, openai.")
    generator_model: str | None = _f(None, "seq2seq: a doc2query model folder; openai: the model name.")
    generator_base_url: str | None = _f(None, "openai generator: base URL of an OpenAI-compatible endpoint.")
    budget: str | None = _f(BUILD_BUDGET, "Training time of the recipe, e.g. 20m; 'epochs' for its default of 3 "
                                          "plain epochs, whatever they take. On 2 CPU cores the two index passes "
                                          "take most of a build; docs/benchmarks.md (BUILD) has the times.")
    time_target: str = _f(BUILD_TIME, "Whole-build time, e.g. 15m: when the stages before training and the index "
                                       "pass after it leave less than --budget, training gets what is left (at "
                                       "least 2m) and the log says so. 'none': train for --budget, however long "
                                       "the build then takes.")
    precision: str = _f("auto", "auto|fp32|bf16 for training and encoding.")
    max_file_mb: int = _f(50, "Files larger than this are skipped (and listed in the report).")
    resume: bool = _f(False, "Continue or update the build in --out: finished stages are kept, changed files "
                             "are read again and only their chunks re-indexed.")
    retrain: bool = _f(False, "With --resume: regenerate queries and train again on the current chunks "
                              "(then both indexes are rebuilt).")
    seed: int = _f(0, "Seed of the splits, the query generator and training.")
    until: str | None = _f(None, "Stop after this stage: chunks, queries, index-base, train or index (e.g. --until "
                                 "queries to look at what was read and generated before training); --resume goes on.")

    def __post_init__(self) -> None:
        for name, least in MINIMUMS.items():
            if getattr(self, name) < least:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= {least}, got {getattr(self, name)}")
        if self.chunk_tokens is not None and self.chunk_tokens < 32:
            raise ConfigError(f"--chunk-tokens must be >= 32, got {self.chunk_tokens}")
        if self.chunk_tokens is not None and self.chunk_overlap >= self.chunk_tokens // 2:
            raise ConfigError(f"--chunk-overlap ({self.chunk_overlap}) must be under half of --chunk-tokens "
                              f"({self.chunk_tokens})")
        if self.budget not in (None, "epochs"):
            parse_duration(self.budget, "budget")
        if self.time_target != "none":
            parse_duration(self.time_target, "time-target")
        if self.until is not None and self.until not in STAGES:
            raise UnknownNameError("stage", self.until, STAGES)
        if self.retrain and not self.resume:
            raise ConfigError("--retrain updates an existing build: add --resume")

    def train_budget(self) -> str | None:
        """The recipe's --budget: None for its plain-epoch default."""
        return None if self.budget in (None, "epochs") else self.budget
