"""Translation-match accuracy: is a sentence's nearest neighbour among the translations its own?

For aligned lists (sources[i] translates to targets[i]), each source's top-1 target by cosine
must be its own translation, and the other way round. Chance level is 1 / len(pairs).
"""

from __future__ import annotations

import numpy as np

from densefit.inference.encoder import TextEncoder

KEY = "translation_match@1"


def top1_accuracy(queries: np.ndarray, candidates: np.ndarray) -> float:
    """Fraction of rows i whose most similar candidate row (inner product) is row i."""
    if len(queries) == 0:
        return 0.0
    best = np.argmax(queries @ candidates.T, axis=1)
    return float(np.mean(best == np.arange(len(queries))))


def translation_match(sources_emb: np.ndarray, targets_emb: np.ndarray) -> dict[str, float]:
    """Top-1 accuracy source->target, target->source, and their mean, from normalised embeddings."""
    s2t = top1_accuracy(sources_emb, targets_emb)
    t2s = top1_accuracy(targets_emb, sources_emb)
    return {KEY: (s2t + t2s) / 2, f"{KEY}_src2tgt": s2t, f"{KEY}_tgt2src": t2s}


def evaluate_translation(encoder: TextEncoder, sources: list[str], targets: list[str]) -> dict[str, float]:
    if len(sources) != len(targets):
        raise ValueError(f"{len(sources)} sources but {len(targets)} targets")
    return translation_match(encoder.encode(sources), encoder.encode(targets))
