"""Splitting one batch into the cheapest forward passes."""

from __future__ import annotations

import itertools
import random

import numpy as np

from densefit.inference.batching import cheapest_passes


def cost(lengths, passes, overhead):
    return sum(len(p) * max(lengths[i] for i in p) + overhead for p in passes)


def brute_force_cost(lengths, max_tokens, overhead):
    """The cheapest cut of the sorted lengths into contiguous passes, by trying every cut."""
    s = sorted(lengths)
    best = float("inf")
    for mask in itertools.product([0, 1], repeat=len(s) - 1):
        groups, start = [], 0
        for i, cut in enumerate(mask, 1):
            if cut:
                groups.append(s[start:i])
                start = i
        groups.append(s[start:])
        if all(len(g) * g[-1] <= max_tokens for g in groups):
            best = min(best, sum(len(g) * g[-1] + overhead for g in groups))
    return best


def test_short_queries_are_not_padded_to_a_long_one():
    lengths = [8] * 30 + [70]
    passes = cheapest_passes(lengths, max_tokens=8192, overhead=16)
    assert sorted(len(p) for p in passes) == [1, 30]
    assert cost(lengths, passes, 16) == 30 * 8 + 70 + 2 * 16 < 31 * 70 + 16


def test_equal_lengths_share_one_pass_and_every_text_is_placed_once():
    passes = cheapest_passes([5, 12, 5, 12, 5], max_tokens=8192, overhead=100)
    assert len(passes) == 1  # a second pass would cost more than the padding it saves
    assert sorted(np.concatenate(passes).tolist()) == [0, 1, 2, 3, 4]


def test_passes_stay_within_the_token_budget():
    lengths = [10] * 100
    passes = cheapest_passes(lengths, max_tokens=300)
    assert [len(p) for p in passes] == [30, 30, 30, 10]
    assert all(len(p) * 10 <= 300 for p in passes)
    assert cheapest_passes([500], max_tokens=300)[0].tolist() == [0]  # one text over the budget still runs


def test_the_split_is_as_cheap_as_the_best_possible_cut():
    rng = random.Random(0)
    for _ in range(40):
        lengths = [rng.choice([3, 4, 8, 9, 20, 33, 70]) for _ in range(rng.randint(1, 10))]
        overhead, max_tokens = rng.choice([0, 5, 16, 60]), rng.choice([120, 8192])
        passes = cheapest_passes(lengths, max_tokens=max_tokens, overhead=overhead)
        assert sorted(np.concatenate(passes).tolist()) == list(range(len(lengths)))
        if max_tokens == 8192:  # with a binding budget the greedy chunking may differ from the exact optimum
            assert cost(lengths, passes, overhead) == brute_force_cost(lengths, max_tokens, overhead)
        else:
            assert all(len(p) * max(lengths[i] for i in p) <= max_tokens for p in passes)
