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
