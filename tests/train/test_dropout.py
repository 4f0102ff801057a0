"""--dropout: which layers each choice zeroes, that the fused attention kernel then runs, and that nothing
outside training changes (the saved config, inference embeddings)."""

from __future__ import annotations

import json

import pytest
import torch
from sentence_transformers import SentenceTransformer
from torch.profiler import ProfilerActivity, profile

from densefit.config import TrainConfig
from densefit.errors import ConfigError
from densefit.train.dropout import apply_dropout, dropout_modules

FUSED = "aten::_scaled_dot_product_flash_attention_for_cpu"
UNFUSED = "aten::_scaled_dot_product_attention_math"
TEXTS = ["file disk memory process signal", "socket thread lock time clock user group network"]


def _rates(model) -> dict[str, float]:
    return {name: m.p for name, m in model.named_modules() if isinstance(m, torch.nn.Dropout)}


def _attention_ops(model) -> set[str]:
    model.train()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        model(model.preprocess(TEXTS))
    return {e.key for e in prof.key_averages()} & {FUSED, UNFUSED}


def test_no_attention_zeroes_only_the_attention_probability_dropouts(tiny_model):
    model = SentenceTransformer(tiny_model)
    before = _rates(model)
    assert apply_dropout(model, "no-attention") == 2  # one per layer of the 2-layer BERT
    after = _rates(model)
    zeroed = sorted(n for n in before if before[n] > 0 and after[n] == 0)
    assert zeroed and all(n.endswith("attention.self.dropout") for n in zeroed)
    assert after["0.model.encoder.layer.0.attention.output.dropout"] == pytest.approx(0.1)  # hidden states
    assert after["0.model.embeddings.dropout"] == pytest.approx(0.1)


def test_off_zeroes_every_dropout_and_model_keeps_them(tiny_model):
    model = SentenceTransformer(tiny_model)
    assert apply_dropout(model, "model") == 0 and dropout_modules(model, "model") == []
    n = sum(p > 0 for p in _rates(model).values())
    assert apply_dropout(model, "off") == n > 2
    assert set(_rates(model).values()) == {0.0}
    assert apply_dropout(model, "off") == 0  # idempotent: nothing left to change


def test_without_attention_dropout_training_takes_the_fused_attention_kernel(tiny_model):
    model = SentenceTransformer(tiny_model)
    assert _attention_ops(model) == {UNFUSED}  # the model's own 0.1 forces the unfused path
    apply_dropout(model, "no-attention")
    assert _attention_ops(model) == {FUSED}


def test_inference_embeddings_are_unchanged(tiny_model):
    plain, lever = SentenceTransformer(tiny_model), SentenceTransformer(tiny_model)
    apply_dropout(lever, "off")
    assert torch.equal(plain.encode(TEXTS, convert_to_tensor=True), lever.encode(TEXTS, convert_to_tensor=True))


def test_training_losses_match_a_model_built_without_those_dropouts(tiny_model, tmp_path):
    """Parity with the plain path: --dropout off trains exactly as a model whose config has no dropout."""
    from datasets import Dataset

    from densefit.methods.losses import build_loss, get_spec
    from densefit.train.run import train

    rows = {"anchor": [f"q{i} " + TEXTS[i % 2] for i in range(32)], "positive": [f"d{i} " + TEXTS[1 - i % 2]
                                                                               for i in range(32)]}
    spec, _ = get_spec("mnr", "retrieval")

    def losses(model, dropout: str, out: str) -> list[float]:
        cfg = TrainConfig(model=tiny_model, train="x", out=str(tmp_path / out), max_steps=4, batch_size=8,
                          precision="fp32", logging_steps=1, report=False, dropout=dropout)
        outcome = train(cfg, model, build_loss(spec, model, []), Dataset.from_dict(rows), in_batch_negatives=True)
        return [e["loss"] for e in outcome.log_history if "loss" in e]

    plain = SentenceTransformer(tiny_model)
    for m in plain.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    assert losses(SentenceTransformer(tiny_model), "off", "lever") == pytest.approx(losses(plain, "model", "plain"))
    saved = json.loads((tmp_path / "lever" / "model" / "config.json").read_text())
    assert saved["attention_probs_dropout_prob"] == pytest.approx(0.1)  # the model's own config is kept


def test_an_unknown_choice_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="model, no-attention, off"):
        TrainConfig(dropout="none")
