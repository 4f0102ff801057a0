"""Length-bucketed batches: texts sorted by token count, each batch padded only to its own longest text.

Stock `encode` sorts by character length; sorting by the tokenizer's own count
keeps padding lower still for texts with long words, code or numbers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np


def token_lengths(tokenizer, texts: Sequence[str], max_length: int) -> np.ndarray:
    """Token count of each text after truncation (special tokens included)."""
    ids = tokenizer(list(texts), truncation=True, max_length=max_length, add_special_tokens=True)["input_ids"]
    return np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(texts))


def length_batches(lengths: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """Index arrays of at most `batch_size` texts, longest first, so each batch has similar lengths."""
    order = np.argsort(-lengths, kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start:start + batch_size]


def padded_batch(tokenizer, texts: Sequence[str], max_length: int) -> dict[str, np.ndarray]:
    """input_ids and attention_mask as int64, padded to the longest text of this batch."""
    enc = tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="np")
    return {"input_ids": enc["input_ids"].astype(np.int64), "attention_mask": enc["attention_mask"].astype(np.int64)}


def padding_fraction(lengths: np.ndarray, batch_size: int, sort: bool = True) -> float:
    """Share of the padded token grid that is padding, for sorted or input-order batches."""
    batches = length_batches(lengths, batch_size) if sort else (
        np.arange(s, min(s + batch_size, len(lengths))) for s in range(0, len(lengths), batch_size))
    real = padded = 0
    for idx in batches:
        real += int(lengths[idx].sum())
        padded += int(lengths[idx].max()) * len(idx)
    return 1.0 - real / padded if padded else 0.0


# Fixed cost of one forward pass (tokenizer call, runtime dispatch), in padded tokens. Measured on 2 cores,
# OpenVINO MiniLM-L6, batches of 2-48 real queries, interleaved A/B (2026-11-30): 16, 48 and 96 all beat one
# padded pass for batches of 16 or more; 48 was best or within noise of it at every size.
PASS_OVERHEAD_TOKENS = 48


def cheapest_passes(lengths: Sequence[int], max_tokens: int, overhead: int = PASS_OVERHEAD_TOKENS) -> list[np.ndarray]:
    """Split one batch into forward passes that cost the fewest padded tokens plus `overhead` per pass.

    A pass costs texts x its longest text, so one short query padded to a long neighbour's length is
    waste; a pass also has a fixed cost. Texts are sorted by length and cut only between lengths
    (an optimal partition of a sorted run is contiguous), by dynamic programming over the distinct
    lengths. A group over `max_tokens` is cut into passes that fit. Returns index arrays into `lengths`.
    """
    lengths = np.maximum(np.asarray(lengths, dtype=np.int64), 1)
    order = np.argsort(lengths, kind="stable")
    values, counts = np.unique(lengths[order], return_counts=True)
    ends = np.concatenate([[0], np.cumsum(counts)])
    per_pass = np.maximum(max_tokens // values, 1)  # texts of that length that fit one pass
    best, cut = np.zeros(len(values) + 1), np.zeros(len(values) + 1, dtype=np.int64)
    for j in range(1, len(values) + 1):  # groups (i, j]: distinct lengths i..j-1, padded to values[j-1]
        n = ends[j] - ends[:j]
        cost = best[:j] + n * values[j - 1] + -(-n // per_pass[j - 1]) * overhead
        cut[j] = int(np.argmin(cost))
        best[j] = cost[cut[j]]
    passes, j = [], len(values)
    while j > 0:
        group, size = order[ends[cut[j]]:ends[j]], int(per_pass[j - 1])
        passes[:0] = [group[s:s + size] for s in range(0, len(group), size)]
        j = cut[j]
    return passes
