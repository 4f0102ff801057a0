"""STS evaluation: Pearson and Spearman of cosine similarity against gold scores."""

from __future__ import annotations

import numpy as np

from densefit.inference.encoder import TextEncoder


def evaluate_sts(encoder: TextEncoder, sentence1: list[str], sentence2: list[str], scores: list[float]) -> dict[str, float]:
    from scipy.stats import pearsonr, spearmanr

    a = encoder.encode(sentence1)
    b = encoder.encode(sentence2)
    cosine = np.sum(a * b, axis=1)
    gold = np.asarray(scores, dtype=np.float64)
    return {
        "pearson": float(pearsonr(cosine, gold).statistic),
        "spearman": float(spearmanr(cosine, gold).statistic),
        "pairs": float(len(gold)),
    }
