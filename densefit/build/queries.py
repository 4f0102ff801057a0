"""The queries stage: a BEIR set (OUT/data) from the chunks alone, plus real queries when the user has them.

Chunks are split by source file (by chunk when there are fewer than SPLIT_BY_FILE_MIN files), so no
test chunk shares overlapping text with a training one. Queries are generated for a sample of chunks:
train pairs (at most --max-train-pairs) and test. The recipe carves its dev split (checkpoint and shipped
model) from the training pairs, against a few hundred distractors, so picking a checkpoint does not
re-encode the whole corpus. Real queries, when there are at least --min-real-test of them, replace the
generated test split (queries cut from their own chunk overrate a model); fewer join it. A query text
generated for many chunks (a repeated heading) is boilerplate, not a query, and is dropped.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from densefit.console import say

DATA = "data"
SPLIT_BY_FILE_MIN = 20
HELD_OUT_SHARE = 0.1          # dev and test each take at most this share of the chunks
MAX_QUERY_CHUNKS = 3          # a query text generated for more chunks than this is dropped


@dataclass
class QuerySet:
    queries: dict[str, str] = field(default_factory=dict)
    qrels: dict[str, dict[str, dict[str, int]]] = field(default_factory=lambda: {"train": {}, "test": {}})
    test_kind: str = "generated"
    real: dict = field(default_factory=dict)

    def add(self, split: str, text: str, chunk_ids) -> None:
        qid = f"{split[:2]}{len(self.qrels[split])}"
        self.queries[qid] = text
        self.qrels[split][qid] = {c: 1 for c in sorted(chunk_ids)}

    def summary(self) -> dict:
        return {"queries": {s: len(q) for s, q in self.qrels.items()}, "test": self.test_kind, "real": self.real}


def _rank(key: str, seed: int) -> str:
    return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()


def split_chunks(rows: list[dict], held_out: dict[str, int], seed: int) -> dict[str, list[dict]]:
    """Chunk rows -> {"test", "train"}: whole files in hash order, the test split capped."""
    sources = sorted({r["source"] for r in rows})
    by_file = len(sources) >= SPLIT_BY_FILE_MIN
    groups = defaultdict(list)
    for r in rows:
        groups[r["source"] if by_file else r["_id"]].append(r)
    cap = max(1, int(len(rows) * HELD_OUT_SHARE))
    out: dict[str, list[dict]] = {"test": [], "train": []}
    for key in sorted(groups, key=lambda k: _rank(k, seed)):
        split = "test" if len(out["test"]) < min(cap, held_out["test"]) else "train"
        out[split].extend(groups[key])
    return out


def _sample(rows: list[dict], n: int, seed: int) -> list[dict]:
    return sorted(rows, key=lambda r: _rank(r["_id"], seed))[:n]


def generate(generator, rows: list[dict], n: int) -> dict[str, set[str]]:
    """Query text -> the chunks it was generated for (boilerplate queries dropped)."""
    found: dict[str, set[str]] = defaultdict(set)
    passages = [f"{r['title']}\n{r['text']}" for r in rows]
    for row, queries in zip(rows, generator.generate(passages, n)):
        for q in queries:
            found[" ".join(q.split())].add(row["_id"])
    return {q: ids for q, ids in found.items() if q and len(ids) <= MAX_QUERY_CHUNKS}


def build_queries(generator, splits: dict[str, list[dict]], real: list[tuple[str, set[str]]], per_chunk: int,
                  targets: dict[str, int], min_real_test: int, seed: int) -> QuerySet:
    qs = QuerySet()
    real_test = len(real) >= min_real_test
    if not real_test:
        test = generate(generator, _sample(splits["test"], math.ceil(targets["test"] / per_chunk), seed), per_chunk)
        for text, ids in list(test.items())[:targets["test"]]:
            qs.add("test", text, ids)
    train = generate(generator, _sample(splits["train"], math.ceil(targets["train"] / per_chunk), seed), per_chunk)
    for text, ids in real:
        qs.add("test", text, ids)
    qs.test_kind = "real" if real_test else "generated" + (f" + {len(real)} real" if real else "")
    held_texts = set(qs.queries.values())
    for text, ids in list(train.items())[:targets["train"]]:
        if text not in held_texts:
            qs.add("train", text, ids)
    return qs


def write_data(out: Path, rows: list[dict], qs: QuerySet) -> Path:
    from densefit.data.beir import write_beir

    corpus = {r["_id"]: {k: v for k, v in r.items() if k != "_id"} for r in rows}
    path = write_beir(out / DATA, corpus, qs.queries, {s: q for s, q in qs.qrels.items() if q})
    say(f"queries: {', '.join(f'{len(q)} {s}' for s, q in qs.qrels.items())} "
        f"(test: {qs.test_kind}{', real queries' if qs.real.get('given') else ''}) -> {path}")
    return path
