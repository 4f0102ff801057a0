"""--group-by-length: length-grouped, no-duplicate batches; every row once per epoch, less padding."""

from __future__ import annotations

import json
import random

import numpy as np
import torch
from datasets import Dataset
from sentence_transformers.base.sampler import NoDuplicatesBatchSampler

import densefit
from densefit.train.sampler import LengthGroupedNoDuplicatesBatchSampler

from ..conftest import write_jsonl


def _pairs(n: int = 600, seed: int = 0) -> Dataset:
    """Queries with documents of 1-60 words; every document serves two queries (as generated queries do)."""
    rng = random.Random(seed)
    docs = [" ".join(f"w{rng.randrange(500)}" for _ in range(rng.randint(1, 60))) for _ in range(n // 2)]
    return Dataset.from_dict({"anchor": [f"query {i}" for i in range(n)], "positive": [docs[i // 2] for i in range(n)]})


def _sampler(data, batch_size=32, seed=3, cls=LengthGroupedNoDuplicatesBatchSampler):
    """As the trainer builds it: a torch generator, reseeded with seed + epoch at every pass."""
    return cls(data, batch_size=batch_size, drop_last=False, generator=torch.Generator(), seed=seed)


def _padding(batches, lengths) -> float:
    """Share of padded positions when each batch pads to its longest row."""
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    return 1 - sum(lengths[i] for b in batches for i in b) / padded


def test_every_row_once_no_text_twice_in_a_batch_and_the_advertised_count():
    data = _pairs()
    sampler = _sampler(data)
    batches = list(sampler)
    rows = [i for b in batches for i in b]
    assert sorted(rows) == list(range(len(data)))
    for b in batches:
        texts = [data[i]["positive"] for i in b] + [data[i]["anchor"] for i in b]
        assert len(texts) == len(set(texts))  # a duplicate would be a false in-batch negative
    stock = list(_sampler(data, cls=NoDuplicatesBatchSampler))
    assert len(batches) == len(stock) and max(len(b) for b in batches) <= 32  # the stock pass's batch count


def test_it_pads_less_than_the_stock_sampler_and_is_reproducible():
    data = _pairs()
    grouped, stock = _sampler(data), _sampler(data, cls=NoDuplicatesBatchSampler)
    lengths = grouped.lengths
    assert _padding(list(grouped), lengths) < 0.5 * _padding(list(stock), lengths)
    assert list(grouped) == list(_sampler(data))
    grouped.set_epoch(1)
    assert list(grouped) != list(_sampler(data))


def test_a_window_full_of_duplicates_defers_rows_and_drops_none():
    data = Dataset.from_dict({"anchor": [f"q{i}" for i in range(40)], "positive": ["same text"] * 20 + [
        f"doc {i}" for i in range(20)]})
    batches = list(_sampler(data, batch_size=8, seed=0))
    assert sorted(i for b in batches for i in b) == list(range(40))
    assert all(sum(data[i]["positive"] == "same text" for i in b) <= 1 for b in batches)


def test_training_with_group_by_length_runs_through_the_trainer(tiny_model, tmp_path):
    rng = random.Random(0)
    rows = [{"anchor": f"q{i}", "positive": " ".join(f"w{rng.randrange(99)}" for _ in range(rng.randint(2, 40)))}
            for i in range(48)]
    run = densefit.fit(model=tiny_model, train_data=write_jsonl(tmp_path / "p.jsonl", rows), out=tmp_path / "run",
                       method="supervised", epochs=1, batch_size=8, group_by_length=True, report=False)
    summary = json.loads(run.train_json.read_text())
    losses = [e["loss"] for e in summary["train"]["log_history"] if "loss" in e]
    assert losses and np.isfinite(losses).all()
    assert summary["config"]["group_by_length"] is True
