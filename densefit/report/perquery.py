"""Per-query view: wins, losses and ties, the deltas, and the biggest wins and regressions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from densefit.data.beir import IRSet

TIE_TOLERANCE = 1e-9
SHOWN = 10
TOP = 5
SNIPPET = 240


@dataclass
class QueryExample:
    """One query with its relevant document and the top results before and after."""

    query_id: str
    query: str
    delta: float
    before: float
    after: float
    relevant: list[dict]
    top_before: list[dict]
    top_after: list[dict]


@dataclass
class PerQuery:
    metric: str
    wins: int
    losses: int
    ties: int
    deltas: list[float]
    biggest_wins: list[QueryExample] = field(default_factory=list)
    biggest_regressions: list[QueryExample] = field(default_factory=list)


SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
WORD = re.compile(r"\w{3,}")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def snippet(text: str, limit: int = SNIPPET, query: str | None = None) -> str:
    """The passage around the sentence that shares most words with `query` (the start when none does), so
    documents that all open with the same boilerplate still show what matched."""
    text = " ".join(text.split())
    terms = set(WORD.findall(query.lower())) if query else set()
    if len(text) <= limit or not terms:
        return _cut(text, limit)
    starts = [0] + [m.end() for m in SENTENCE_END.finditer(text)]
    overlap = [len(terms & set(WORD.findall(text[a:b].lower()))) for a, b in zip(starts, starts[1:] + [len(text)])]
    best = max(range(len(starts)), key=lambda i: (overlap[i], -i))
    if overlap[best] == 0 or starts[best] == 0:
        return _cut(text, limit)
    return "…" + _cut(text[starts[best]:], limit - 1)


def top_docs(irset: IRSet, run: dict, qid: str, n: int = TOP) -> list[dict]:
    """The top `n` of a query's ranking (score descending, ties by id), marked relevant or not."""
    relevant, query = irset.qrels.get(qid, {}), irset.queries.get(qid, "")
    ranked = sorted(run.get(qid, {}).items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return [{"id": d, "score": float(s), "relevant": relevant.get(d, 0) > 0,
             "text": snippet(irset.corpus.get(d, ""), 160, query)} for d, s in ranked]


def _example(irset: IRSet, qid: str, before: dict, after: dict, values: tuple[float, float]) -> QueryExample:
    relevant = [{"id": d, "text": snippet(irset.corpus.get(d, ""), query=irset.queries.get(qid, ""))}
                for d, g in sorted(irset.qrels[qid].items()) if g > 0][:3]
    return QueryExample(query_id=qid, query=irset.queries.get(qid, ""), delta=values[1] - values[0],
                        before=values[0], after=values[1], relevant=relevant,
                        top_before=top_docs(irset, before, qid), top_after=top_docs(irset, after, qid))


def per_query_view(irset: IRSet, values_before: dict[str, float], values_after: dict[str, float],
                   run_before: dict, run_after: dict, metric: str, shown: int = SHOWN) -> PerQuery:
    """Counts and examples on `metric` (per-query values as from `per_query_metrics`)."""
    ids = [q for q in values_before if q in values_after]
    deltas = {q: values_after[q] - values_before[q] for q in ids}
    wins = sum(d > TIE_TOLERANCE for d in deltas.values())
    losses = sum(d < -TIE_TOLERANCE for d in deltas.values())
    order = sorted(ids, key=lambda q: (deltas[q], q))
    pick = lambda qs: [_example(irset, q, run_before, run_after, (values_before[q], values_after[q]))  # noqa: E731
                       for q in qs]
    regressions = [q for q in order if deltas[q] < -TIE_TOLERANCE][:shown]
    best = [q for q in reversed(order) if deltas[q] > TIE_TOLERANCE][:shown]
    return PerQuery(metric=metric, wins=wins, losses=losses, ties=len(ids) - wins - losses,
                    deltas=[deltas[q] for q in ids], biggest_wins=pick(best), biggest_regressions=pick(regressions))
