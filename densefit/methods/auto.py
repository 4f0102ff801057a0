"""`--method auto`: pick the training method from what the user gave, and say why in one line.

The decision is two small steps, so each can be tested on its own:
`inspect_inputs(cfg) -> Facts` looks at the data (format, labels, negatives, sizes, lengths),
and `choose(facts) -> Choice` applies the RULES table in order; the first rule that matches wins.
The same table is documented in docs/methods.md; keep the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from densefit.config import TrainConfig
from densefit.data.audit import median_words
from densefit.console import say
from densefit.errors import ConfigError

SMALL_LABELLED = 300        # fewer labelled pairs than this, plus a corpus: AugSBERT
SYMMETRIC_RATIO = 0.5       # query/document length ratio at or above this: symmetric search
SHORT_DOCUMENT_WORDS = 24   # corpus only, no queries known: documents this short count as symmetric
PARALLEL_COLUMNS = ({"source", "target"}, {"src", "tgt"}, {"english", "non_english"}, {"en", "es"},
                    {"source_text", "target_text"})


@dataclass
class Facts:
    """What the user gave, as far as the method choice cares."""

    train_format: str | None = None   # pairs, triplets, nemo, sts, nli, labelled, beir, parallel; None: no --train
    kind: str | None = None           # retrieval, scored, nli, parallel
    rows: int = 0
    has_negatives: bool = False
    corpus_docs: int = 0              # documents in --corpus (0: none given)
    query_words: float | None = None  # median words per query (training anchors, else eval queries)
    doc_words: float | None = None    # median words per document

    @property
    def length_ratio(self) -> float | None:
        if not self.query_words or not self.doc_words:
            return None
        return self.query_words / self.doc_words

    @property
    def symmetric(self) -> bool:
        if self.length_ratio is not None:
            return self.length_ratio >= SYMMETRIC_RATIO
        return (self.doc_words or 0) <= SHORT_DOCUMENT_WORDS


@dataclass
class Choice:
    method: str
    reason: str
    overrides: dict = field(default_factory=dict)   # config fields the choice sets, e.g. {"mine": True}
    rejected: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Rule:
    method: str
    when: Callable[[Facts], bool]
    reason: Callable[[Facts], str]
    overrides: Callable[[Facts], dict] = lambda f: {}


def _pairs_only(f: Facts) -> bool:
    return f.kind == "retrieval" and not f.has_negatives


def _ratio(f: Facts) -> str:
    r = f.length_ratio
    return f"query/doc length ratio {r:.2f}" if r is not None else f"median document {f.doc_words or 0:.0f} words"


RULES: tuple[Rule, ...] = (
    Rule("distill", lambda f: f.kind == "parallel",
         lambda f: f"{f.rows} translation pairs: multilingual knowledge distillation from the teacher"),
    Rule("supervised", lambda f: f.kind == "scored",
         lambda f: f"{f.rows} pairs with similarity scores: supervised CoSENT/cosine on the labels"),
    Rule("supervised", lambda f: f.kind == "nli",
         lambda f: f"{f.rows} NLI pairs with labels: supervised softmax loss"),
    Rule("supervised", lambda f: f.kind == "retrieval" and f.has_negatives,
         lambda f: f"{f.rows} triplets (negatives given): supervised MNR with those hard negatives"),
    Rule("augsbert", lambda f: _pairs_only(f) and f.rows < SMALL_LABELLED and f.corpus_docs > 0,
         lambda f: f"only {f.rows} labelled pairs (< {SMALL_LABELLED}) plus {f.corpus_docs} documents: "
                   "AugSBERT (cross-encoder labels silver pairs)"),
    Rule("supervised", lambda f: _pairs_only(f) and f.corpus_docs > 0,
         lambda f: f"{f.rows} pairs and a corpus of {f.corpus_docs} documents: the recipe (MNR, epochs and "
                   "mining from the corpus planned to the budget, dev-picked checkpoint, never worse than the base)"),
    Rule("supervised", _pairs_only,
         lambda f: f"{f.rows} pairs without negatives: the recipe (MNR, epochs and "
                   "mining from the training documents planned to the budget, dev-picked checkpoint, never worse "
                   "than the base; add --corpus FILE to mine from all your documents)"),
    Rule("tsdae", lambda f: f.kind is None and f.corpus_docs > 0 and f.symmetric,
         lambda f: f"only documents ({f.corpus_docs}), symmetric search ({_ratio(f)}): TSDAE"),
    Rule("gpl", lambda f: f.kind is None and f.corpus_docs > 0,
         lambda f: f"only documents ({f.corpus_docs}), asymmetric search ({_ratio(f)}): GPL "
                   "(generated queries, mined negatives, cross-encoder margins)"),
)

WHY_NOT = {
    "supervised": "needs labelled pairs, triplets or scores (--train)",
    "augsbert": f"needs a small labelled pair set (< {SMALL_LABELLED}) plus unlabelled documents (--corpus)",
    "genq": "GPL does GenQ's query generation and adds mined negatives and margins; pick --method genq for speed",
    "gpl": "for corpus-only, asymmetric search (short queries, long documents)",
    "tsdae": "for corpus-only, symmetric search (queries as long as documents)",
    "mlm": "a domain pre-training stage, not a whole method: run --method mlm, then train its model",
    "distill": "needs parallel (translation) pairs",
}


def choose(facts: Facts) -> Choice:
    """The first matching rule; every other method is listed with why it was not picked."""
    for rule in RULES:
        if rule.when(facts):
            rejected = [(m, WHY_NOT[m]) for m in WHY_NOT if m != rule.method]
            return Choice(rule.method, rule.reason(facts), rule.overrides(facts), rejected)
    raise ConfigError("nothing to train on: give --train FILE (labelled data) and/or --corpus FILE (documents)")


def _first_keys(path: str) -> set[str]:
    from densefit.data.readers import read_records

    first = next(iter(read_records(path)), None)
    return set(first.row) if first else set()


def _is_parallel(cfg: TrainConfig) -> bool:
    from densefit.data.beir import is_beir_dir

    if cfg.format == "parallel":
        return True
    if cfg.format or is_beir_dir(cfg.train):
        return False
    keys = {k.lower() for k in _first_keys(cfg.train)}
    return any(cols <= keys for cols in PARALLEL_COLUMNS)


def _train_facts(cfg: TrainConfig, facts: Facts) -> None:
    from densefit.data.formats import load_training_data

    if _is_parallel(cfg):
        facts.train_format, facts.kind = "parallel", "parallel"
        from densefit.data.readers import read_records

        facts.rows = sum(1 for _ in read_records(cfg.train))
        return
    data = load_training_data(cfg.train, cfg.format, strict=cfg.strict, seed=cfg.seed)
    facts.train_format, facts.kind, facts.rows = data.format, data.kind, len(data)
    facts.has_negatives = "negative" in data.columns
    if data.kind == "retrieval":
        facts.query_words = median_words(data.columns["anchor"])
        facts.doc_words = median_words(data.columns["positive"])


def _corpus_facts(cfg: TrainConfig, facts: Facts) -> None:
    from densefit.data.corpus import load_corpus

    corpus = load_corpus(cfg.corpus)
    facts.corpus_docs = len(corpus)
    if facts.doc_words is None:
        facts.doc_words = median_words(corpus.texts)
    if facts.query_words is None and cfg.eval:
        from densefit.data.beir import is_beir_dir, load_beir

        if is_beir_dir(cfg.eval):
            facts.query_words = median_words(load_beir(cfg.eval).judged_queries().values())


def inspect_inputs(cfg: TrainConfig) -> Facts:
    facts = Facts()
    if cfg.train:
        _train_facts(cfg, facts)
    if cfg.corpus:
        _corpus_facts(cfg, facts)
    return facts


def explain(choice: Choice) -> None:
    for name, why in choice.rejected:
        say(f"  not {name}: {why}")


def run(cfg: TrainConfig, callbacks: list | None = None):
    """Choose, say why (one line; --explain adds the rejected alternatives), then run the choice."""
    import dataclasses

    from densefit.methods.common import method_reason
    from densefit.methods.registry import run_method

    facts = inspect_inputs(cfg)
    choice = choose(facts)
    say(f"method: {choice.method} ({choice.reason})")
    if cfg.explain:
        explain(choice)
    chosen = dataclasses.replace(cfg, method=choice.method, **choice.overrides)
    with method_reason(f"auto: {choice.reason}"):
        if uses_recipe(choice, facts):
            from densefit.methods import recipe

            return recipe.run(chosen, callbacks=callbacks)
        return run_method(chosen, callbacks=callbacks, announce=False)


def uses_recipe(choice: Choice, facts: Facts) -> bool:
    """Query-document pairs without negatives get the planned recipe (densefit/methods/recipe.py)."""
    return choice.method == "supervised" and _pairs_only(facts)
