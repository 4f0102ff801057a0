"""Split a retrieval set by document, and check it for verbatim leaks.

Every builder gives (query text, relevant document ids) groups and a corpus. `split_by_document`
puts each *document* in train, dev or test by a stable hash of its id, and each query in the split
of its documents (a query whose documents straddle splits is dropped), so no test document is
ever trained on. Distractor documents stay in the shared corpus. `verbatim_leaks` counts test
queries whose text appears word for word in a relevant document, which would make the set lexical.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from densefit.errors import DensefitError

SPLITS = ("train", "dev", "test")
MIN_TEST = 300


@dataclass
class SplitSet:
    """What `write_beir` takes: corpus rows, query texts, and qrels per split."""

    corpus: dict[str, dict]
    queries: dict[str, str]
    qrels: dict[str, dict[str, dict[str, int]]]

    def split_sizes(self) -> dict[str, int]:
        return {split: len(rel) for split, rel in self.qrels.items()}


@dataclass
class SetSummary:
    """What a builder wrote: documents, queries, queries per split, drops by reason, wall time, and for
    multilingual sets the same counts per language."""

    out_dir: Path
    docs: int
    queries: int
    split_sizes: dict[str, int]
    dropped: dict[str, int]
    seconds: float
    languages: dict[str, dict[str, int]] = field(default_factory=dict)


def stable_rank(key: str, seed: int = 0) -> int:
    """A pseudo-random rank for `key` (sha1 of seed and key), independent of every other key."""
    return int.from_bytes(hashlib.sha1(f"{seed}:{key}".encode("utf-8")).digest()[:8], "big")


def _doc_splits(doc_ids: Sequence[str], test: int, dev: int, seed: int) -> dict[str, str]:
    ranked = sorted(doc_ids, key=lambda d: (stable_rank(d, seed), d))
    return {d: "test" if i < test else "dev" if i < test + dev else "train" for i, d in enumerate(ranked)}


def split_by_document(groups: Mapping[str, Sequence[str]], corpus: dict[str, dict], *, test: int, dev: int,
                      train: int | None = None, seed: int = 0, prefix: str = "q") -> SplitSet:
    """Queries (text -> relevant doc ids) split so a document's queries all land in its split.

    `test` and `dev` count relevant documents drawn for those splits (queries follow them); `train`
    caps the training queries (None: all the rest). Queries are numbered by sorted text.
    """
    relevant = sorted({d for ids in groups.values() for d in ids})
    if test + dev >= len(relevant):
        raise DensefitError(f"cannot take {test} test and {dev} dev documents from {len(relevant)} relevant "
                            "documents and keep some for training; ask for fewer")
    where = _doc_splits(relevant, test, dev, seed)
    width = max(4, len(str(len(groups))))
    queries, qrels = {}, {s: {} for s in SPLITS}
    for i, text in enumerate(sorted(groups), 1):
        splits = {where[d] for d in groups[text]}
        if len(splits) != 1:
            continue
        qid = f"{prefix}{i:0{width}d}"
        queries[qid] = text
        qrels[splits.pop()][qid] = {d: 1 for d in sorted(groups[text])}
    if train is not None and len(qrels["train"]) > train:
        keep = sorted(qrels["train"], key=lambda q: (stable_rank(q, seed), q))[:train]
        qrels["train"] = {q: qrels["train"][q] for q in sorted(keep)}
    used = {q for rel in qrels.values() for q in rel}
    return SplitSet(corpus=corpus, queries={q: t for q, t in queries.items() if q in used}, qrels=qrels)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def verbatim_leaks(data: SplitSet, split: str = "test") -> int:
    """Queries of `split` whose whole text appears, case- and space-insensitively, in a relevant document."""
    leaks = 0
    for qid, rel in data.qrels[split].items():
        query = _norm(data.queries[qid])
        leaks += any(query in _norm(" ".join(str(data.corpus[d].get(k, "")) for k in ("title", "text")))
                     for d in rel)
    return leaks


def check_split(data: SplitSet, name: str, min_test: int = MIN_TEST) -> SplitSet:
    """Refuse a set with too few test queries or with test queries found verbatim in their documents."""
    n_test = len(data.qrels["test"])
    if n_test < min_test:
        raise DensefitError(f"{name}: only {n_test} test queries (need at least {min_test}); ask for more "
                            "test documents")
    leaks = verbatim_leaks(data)
    if leaks:
        raise DensefitError(f"{name}: {leaks} test queries appear verbatim in their relevant document; "
                            "the builder must strip the query from the document text")
    return data
