"""Score distributions: the cosine of each query's positive against its strongest negative.

Both come from the ranked run (top-k by cosine): the positive is the best-scored
relevant document the run retrieved, the top negative the best-scored other one.
Queries whose positives all fall outside the top-k are counted, not guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ScoreDistribution:
    positives: list[float] = field(default_factory=list)
    negatives: list[float] = field(default_factory=list)
    positive_missing: int = 0  # queries with no relevant doc in the top-k
    confused: int = 0  # queries whose top negative outscores every retrieved positive

    @property
    def queries(self) -> int:
        return len(self.negatives)

    def to_dict(self) -> dict:
        return {"positives": self.positives, "negatives": self.negatives,
                "positive_missing": self.positive_missing, "confused": self.confused}


def score_distribution(run: dict, qrels: dict) -> ScoreDistribution:
    out = ScoreDistribution()
    for qid, grades in qrels.items():
        relevant = {d for d, g in grades.items() if g > 0}
        scores = run.get(qid, {})
        if not relevant or not scores:
            continue
        pos = [s for d, s in scores.items() if d in relevant]
        neg = [s for d, s in scores.items() if d not in relevant]
        if neg:
            out.negatives.append(float(max(neg)))
        if pos:
            out.positives.append(float(max(pos)))
        else:
            out.positive_missing += 1
        if neg and (not pos or max(neg) > max(pos)):
            out.confused += 1
    return out
