"""MLM adaptation: end to end on the tiny model, the saved MLM head, and --mlm-first chaining."""

from __future__ import annotations

import json
import random

import pytest

from densefit.config import TrainConfig
from densefit.errors import ConfigError
from tests.conftest import make_ir_set, sentence


def _corpus(tmp_path, n=40):
    rng = random.Random(2)
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps({"_id": f"d{i}", "text": sentence(rng, 10).capitalize() + "."}) + "\n"
                            for i in range(n)))
    return path


def _weights(model):
    return {k: v.clone() for k, v in model.transformers_model.state_dict().items()}


def test_mlm_end_to_end_changes_weights_and_keeps_modules(tmp_path, tiny_model):
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModelForMaskedLM

    from densefit.methods.registry import run_method

    base = SentenceTransformer(tiny_model)
    cfg = TrainConfig(model=tiny_model, method="mlm", corpus=str(_corpus(tmp_path)),
                      eval=str(make_ir_set(tmp_path / "ir")), out=str(tmp_path / "run"), batch_size=8, epochs=1,
                      learning_rate=1e-3, logging_steps=1)
    result = run_method(cfg)
    summary = json.loads(result.train_json.read_text())
    assert summary["method"]["name"] == "mlm" and summary["loss"]["name"] == "masked-lm"
    assert summary["loss"]["head"] == "new"  # the tiny ST folder has no MLM head
    assert summary["train"]["steps"] == 5 and summary["data"]["sentences_used"] == 40
    assert "mrr@10" in summary["metrics_before"] and "mrr@10" in summary["metrics_after"]
    adapted = SentenceTransformer(str(result.model_path))
    assert [type(m).__name__ for m in adapted] == [type(m).__name__ for m in base]  # same pooling as the base
    before, after = _weights(base), _weights(adapted)
    assert not torch.equal(before["encoder.layer.0.attention.self.query.weight"],
                           after["encoder.layer.0.attention.self.query.weight"])
    mlm = AutoModelForMaskedLM.from_pretrained(str(tmp_path / "run" / "mlm"), use_safetensors=True)
    assert torch.equal(mlm.bert.embeddings.word_embeddings.weight, after["embeddings.word_embeddings.weight"])
    assert not (tmp_path / "run" / "mlm-checkpoints").exists()


def test_mlm_head_is_reused_when_the_checkpoint_has_one(tmp_path, tiny_model):
    from sentence_transformers import SentenceTransformer

    from densefit.methods.mlm import masked_lm

    base = SentenceTransformer(tiny_model)
    mlm, head = masked_lm(base)
    assert head == "new"
    mlm.save_pretrained(str(tmp_path / "withhead"))
    base.tokenizer.save_pretrained(str(tmp_path / "withhead"))
    from densefit.models import load_model

    _, head_again = masked_lm(load_model(str(tmp_path / "withhead")))
    assert head_again == "pretrained"


def test_mlm_refuses_an_existing_run(tmp_path, tiny_model):
    from densefit.methods.registry import run_method

    (tmp_path / "run" / "model").mkdir(parents=True)
    cfg = TrainConfig(model=tiny_model, method="mlm", corpus=str(_corpus(tmp_path)), out=str(tmp_path / "run"))
    with pytest.raises(ConfigError, match="already holds a run"):
        run_method(cfg)


def test_mlm_first_then_tsdae(tmp_path, tiny_model):
    from sentence_transformers import SentenceTransformer

    from densefit.methods.registry import run_method

    corpus = _corpus(tmp_path)
    cfg = TrainConfig(model=tiny_model, method="tsdae", mlm_first=True, mlm_max_steps=2, corpus=str(corpus),
                      eval=str(make_ir_set(tmp_path / "ir")), out=str(tmp_path / "run"), batch_size=8, max_steps=2)
    result = run_method(cfg)
    summary = json.loads(result.train_json.read_text())
    stage = json.loads((tmp_path / "run" / "mlm-stage" / "train.json").read_text())
    assert summary["method"]["name"] == "tsdae" and stage["method"]["name"] == "mlm"
    assert stage["train"]["steps"] == 2 and summary["train"]["steps"] == 2
    assert summary["config"]["model"] == str(tmp_path / "run" / "mlm-stage" / "model")
    assert summary["mlm_stage"]["base_model"] == tiny_model
    assert summary["metrics_before"] == stage["metrics_before"]  # the base model's, not the adapted one's
    assert result.metrics_before == stage["metrics_before"]
    SentenceTransformer(str(result.model_path)).encode(["file disk"])
