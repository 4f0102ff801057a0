"""Length-grouped batches for losses with in-batch negatives (`--group-by-length`).

A batch pads every text to the batch's longest, so random batches of documents from 20 to 256 tokens
spend much of forward and backward on padding. This sampler takes the stock no-duplicates batches
of an epoch (sentence-transformers' `NoDuplicatesBatchSampler`: no text twice in a batch, so no false
in-batch negatives), pools WINDOW of them, sorts the pooled rows by length and deals them again
into the same number of batches under the same no-duplicates rule, then shuffles the batches.
Every row is still seen once per epoch and the batch count stays what the scheduler was told;
the padding of a batch is bounded by the length spread of neighbours in one window's sort.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np
from sentence_transformers.base.sampler import NoDuplicatesBatchSampler

WINDOW = 16            # batches pooled per sort: wider cuts more padding, narrower keeps batches more random
SKIP_COLUMNS = {"dataset_name"}


class LengthGroupedNoDuplicatesBatchSampler(NoDuplicatesBatchSampler):
    def __init__(self, dataset, batch_size: int, drop_last: bool, valid_label_columns=None, generator=None,
                 seed: int = 0) -> None:
        super().__init__(dataset, batch_size=batch_size, drop_last=drop_last,
                         valid_label_columns=valid_label_columns, generator=generator, seed=seed)
        columns = [self.dataset[c] for c in self.dataset.column_names if c not in SKIP_COLUMNS]
        self.lengths = np.zeros(len(self.dataset), dtype=np.int64)
        for column in columns:
            self.lengths += np.fromiter((len(str(v)) for v in column), dtype=np.int64, count=len(self.dataset))
        self.row_values = [frozenset(str(column[i]) for column in columns) for i in range(len(self.dataset))]

    def __iter__(self) -> Iterator[list[int]]:
        batches = list(super().__iter__())
        dealt, carry = [], []
        for start in range(0, len(batches), WINDOW):
            window = batches[start:start + WINDOW]
            rows = sorted(carry + [i for b in window for i in b], key=self.lengths.__getitem__)
            new, carry = self.deal(rows, len(window))
            dealt.extend(new)
        while carry:  # rows no batch of their window could take (duplicates): rare, never dropped
            new, carry = self.deal(carry, 1)
            dealt.extend(new)
        random.Random(self.seed + self.epoch).shuffle(dealt)
        yield from dealt

    def deal(self, rows: list[int], n_batches: int) -> tuple[list[list[int]], list[int]]:
        """Fill up to `n_batches` batches from `rows` in order, skipping a row whose text a batch already
        holds (it goes to the next batch); returns the batches and the rows left over."""
        batches, pending = [], rows
        while pending and len(batches) < n_batches:
            batch, seen, rest = [], set(), []
            for i in pending:
                if len(batch) < self.batch_size and seen.isdisjoint(self.row_values[i]):
                    batch.append(i)
                    seen |= self.row_values[i]
                else:
                    rest.append(i)
            batches.append(batch)
            pending = rest
        return batches, pending
