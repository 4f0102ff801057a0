"""TSDAE: deletion noise, sentence splitting, and an end-to-end run on the tiny model."""

from __future__ import annotations

import json
import random

import pytest

from densefit.config import TrainConfig
from densefit.errors import ConfigError, DataError
from densefit.methods.sentences import corpus_sentences, sample, split_sentences
from densefit.methods.tsdae import delete_words, noisy_columns
from tests.conftest import make_ir_set, sentence


def test_delete_words_removes_about_the_ratio_and_keeps_order():
    rng = random.Random(0)
    text = " ".join(f"w{i}" for i in range(1000))
    kept = delete_words(text, 0.6, rng).split()
    assert 330 < len(kept) < 470  # binomial(1000, 0.4): mean 400, sd 15.5
    assert kept == sorted(kept, key=lambda w: int(w[1:]))


def test_delete_words_never_returns_empty():
    rng = random.Random(1)
    assert all(delete_words("alpha beta", 0.99, rng) in ("alpha", "beta", "alpha beta") for _ in range(50))


def test_noisy_columns_are_seeded():
    sents = [sentence(random.Random(i), 10) for i in range(20)]
    assert noisy_columns(sents, 0.6, 3) == noisy_columns(sents, 0.6, 3)
    assert noisy_columns(sents, 0.6, 3)["text"] == sents


def test_split_sentences_splits_drops_fragments_and_windows():
    text = "The file is open. It has 10 lines!\n\n-v\n\nShort. " + " ".join(["word"] * 100)
    out = split_sentences(text, min_words=3, max_words=48)
    assert out[0] == "The file is open."
    assert out[1] == "It has 10 lines!"
    assert "-v" not in out and "Short." not in out
    # "Short." runs into the lowercase words after it: 101 words, cut into windows of 48, 48 and 5
    assert [len(s.split()) for s in out[2:]] == [48, 48, 5]


def test_sample_is_seeded_and_keeps_order():
    items = [str(i) for i in range(100)]
    a = sample(items, 10, 7)
    assert a == sample(items, 10, 7) and len(a) == 10 and a == sorted(a, key=int)
    assert sample(items, 0, 7) == items


def test_corpus_without_sentences_is_a_data_error(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("a b\nc\n")
    with pytest.raises(DataError, match="no sentence"):
        corpus_sentences(str(path))


def test_bad_pooling_is_a_config_error():
    with pytest.raises(ConfigError, match="tsdae_pooling"):
        TrainConfig(train="x", tsdae_pooling="max")


def _corpus(tmp_path, n=48):
    rng = random.Random(0)
    lines = [". ".join(sentence(rng, 8).capitalize() for _ in range(2)) + "." for _ in range(n)]
    path = tmp_path / "docs.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_tsdae_end_to_end_on_tiny_model(tmp_path, tiny_model):
    from sentence_transformers import SentenceTransformer

    from densefit.methods.registry import run_method

    ir = make_ir_set(tmp_path / "ir")
    cfg = TrainConfig(model=tiny_model, method="tsdae", corpus=str(_corpus(tmp_path)), eval=str(ir),
                      out=str(tmp_path / "run"), batch_size=8, epochs=1, max_sentences=64, logging_steps=2)
    result = run_method(cfg)
    summary = json.loads(result.train_json.read_text())
    assert summary["method"]["name"] == "tsdae"
    assert summary["loss"]["name"] == "denoising-auto-encoder" and summary["loss"]["tie_encoder_decoder"]
    assert summary["data"]["sentences_used"] == 64 and summary["data"]["pooling"] == "cls"
    assert summary["train"]["steps"] == 8
    assert "mrr@10" in summary["metrics_before"] and "mrr@10" in summary["metrics_after"]
    losses = [e["loss"] for e in summary["train"]["log_history"] if "loss" in e]
    assert losses and all(v == v and v > 0 for v in losses)
    model = SentenceTransformer(str(result.model_path))
    assert [type(m).__name__ for m in model] == ["Transformer", "Pooling"]
    assert model[1].pooling_mode == "cls"
    assert model.encode(["file disk memory"]).shape == (1, 32)
