"""The cheap dropout mask (densefit.train.attention): it drops at the model's rate, given the same mask it
computes what eager attention and nn.Dropout compute (values and gradients), training takes it instead of the
per-element generator, and nothing outside training changes."""

from __future__ import annotations

import json

import pytest
import torch
from sentence_transformers import SentenceTransformer
from torch.profiler import ProfilerActivity, profile

from densefit.train import attention
from densefit.train.attention import (CheapDropout, cheap_dropout, drop_mask, dropout_attention, restore_sdpa,
                                      use_cheap_dropout)
from densefit.train.dropout import apply_dropout

TEXTS = ["file disk memory process signal", "socket thread lock time clock user group network"]


@pytest.mark.parametrize("rate", [0.1, 0.25])
def test_the_mask_drops_at_the_rate_and_keeps_the_expectation(rate):
    torch.manual_seed(0)
    drop, scale = drop_mask(torch.Size([1000, 1000]), rate)
    assert drop.dtype == torch.bool and drop.shape == (1000, 1000)
    assert drop.float().mean().item() == pytest.approx(rate, abs=0.002)
    assert (1 - round(rate * 65536) / 65536) * scale == pytest.approx(1.0, abs=1e-12)
    # neighbouring lanes come from one 64-bit word: they must still be independent
    pairs = (drop[:, 0::2] & drop[:, 1::2]).float().mean().item()
    assert pairs == pytest.approx(rate * rate, abs=0.002)


def test_the_mask_follows_torch_seed():
    torch.manual_seed(3)
    a, _ = drop_mask(torch.Size([64, 7]), 0.1)
    torch.manual_seed(3)
    b, _ = drop_mask(torch.Size([64, 7]), 0.1)
    assert torch.equal(a, b) and not torch.equal(a, drop_mask(torch.Size([64, 7]), 0.1)[0])


def _eager(query, key, value, additive, drop, rate):
    """transformers' eager attention, with `drop` as F.dropout's mask."""
    probs = torch.softmax(query @ key.transpose(2, 3) * query.size(-1) ** -0.5 + additive, dim=-1)
    return (probs.masked_fill(drop, 0) / (1 - rate) @ value).transpose(1, 2)


@pytest.mark.parametrize("bool_mask", [True, False])
def test_given_the_same_mask_attention_equals_eager_in_values_and_gradients(monkeypatch, bool_mask):
    torch.manual_seed(1)
    rate = 0.25  # a multiple of 1/65536, so the scales agree exactly
    q, k, v = (torch.randn(2, 3, 5, 4, dtype=torch.float64, requires_grad=True) for _ in range(3))
    attends = torch.ones(2, 1, 5, 5, dtype=torch.bool)
    attends[0, :, :, 3:] = False  # padding of the first row
    additive = torch.zeros(attends.shape, dtype=torch.float64).masked_fill(~attends, torch.finfo(torch.float64).min)
    drop = torch.rand(2, 3, 5, 5) < rate
    monkeypatch.setattr(attention, "drop_mask", lambda shape, r: (drop, 1 / (1 - r)))
    ours = dropout_attention(q, k, v, attends if bool_mask else additive, q.size(-1) ** -0.5, rate)
    grads = torch.autograd.grad(ours.sum(), (q, k, v))
    ref = _eager(q, k, v, additive, drop, rate)
    ref_grads = torch.autograd.grad(ref.sum(), (q, k, v))
    assert torch.allclose(ours, ref)
    assert all(torch.allclose(a, b) for a, b in zip(grads, ref_grads))


def test_cheap_dropout_equals_nn_dropout_given_the_same_mask(monkeypatch):
    x = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    drop = torch.rand(4, 6) < 0.5
    monkeypatch.setattr(attention, "drop_mask", lambda shape, r: (drop, 1 / (1 - r)))
    assert torch.allclose(cheap_dropout(x, 0.5), x * (~drop) * 2)


def _ops(model) -> set[str]:
    model.train()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        model(model.preprocess(TEXTS))
    return {e.key for e in prof.key_averages()}


def test_training_draws_the_cheap_mask_instead_of_the_per_element_generator(tiny_model):
    model = SentenceTransformer(tiny_model)
    stock = _ops(model)
    assert {"aten::bernoulli_", "aten::_scaled_dot_product_attention_math"} <= stock
    assert apply_dropout(model, "model") == 0  # no rate changes: the same dropouts, drawn cheaply
    assert model[0].auto_model.config._attn_implementation == attention.NAME
    assert all(type(m) is CheapDropout for m in model.modules() if isinstance(m, torch.nn.Dropout))
    cheap = _ops(model)
    assert "aten::random_" in cheap
    assert not cheap & {"aten::bernoulli_", "aten::_scaled_dot_product_attention_math"}
    restore_sdpa(model)
    assert model[0].auto_model.config._attn_implementation == "sdpa"
    assert {"aten::bernoulli_"} <= _ops(model)


def test_inference_and_the_saved_model_are_unchanged(tiny_model, tmp_path):
    model = SentenceTransformer(tiny_model)
    before = model.encode(TEXTS, convert_to_tensor=True)
    use_cheap_dropout(model)
    assert torch.equal(model.encode(TEXTS, convert_to_tensor=True), before)  # eval: SDPA, no dropout
    model.save(str(tmp_path / "m"), safe_serialization=True)
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert attention.NAME not in json.dumps(config)
    reloaded = SentenceTransformer(str(tmp_path / "m"))
    assert reloaded[0].auto_model.config._attn_implementation == "sdpa"
    assert torch.equal(reloaded.encode(TEXTS, convert_to_tensor=True), before)


def test_training_mode_outputs_follow_the_seed(tiny_model):
    model = SentenceTransformer(tiny_model)
    use_cheap_dropout(model)
    model.train()
    features = model.preprocess(TEXTS)

    def run(seed):
        torch.manual_seed(seed)
        return model(dict(features))["sentence_embedding"].detach()

    assert torch.equal(run(5), run(5)) and not torch.equal(run(5), run(6))
