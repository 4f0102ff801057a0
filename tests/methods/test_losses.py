"""Every loss trains on the data kind it accepts, and refuses the ones it cannot use."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

import densefit
from densefit.errors import ConfigError, UnknownNameError
from densefit.methods.losses import LOSSES, get_spec, loss_names

from ..conftest import sentence, write_jsonl


def _rows(kind: str, n: int = 24) -> list[dict]:
    rng = random.Random(3)
    if kind == "triplets":
        return [{"anchor": f"a{i} " + sentence(rng, 3), "positive": f"p{i} " + sentence(rng),
                 "negative": f"n{i} " + sentence(rng)} for i in range(n)]
    if kind == "sts":
        return [{"sentence1": f"s{i} " + sentence(rng), "sentence2": f"t{i} " + sentence(rng),
                 "score": round(rng.uniform(0, 5), 2)} for i in range(n)]
    return [{"premise": f"p{i} " + sentence(rng), "hypothesis": f"h{i} " + sentence(rng),
             "label": ["entailment", "neutral", "contradiction"][i % 3]} for i in range(n)]


CASES = [
    ("mnr", "triplets"), ("mnr-symmetric", "triplets"), ("mnr-gte", "triplets"), ("cached-mnr", "triplets"), ("triplet", "triplets"), ("cosine", "sts"),
    ("cosent", "sts"), ("softmax", "nli"), ("contrastive", "triplets"), ("contrastive", "nli"),
    ("online-contrastive", "sts"), ("matryoshka", "triplets"),
]


def _embedding(model_path, text="file disk memory"):
    return densefit.load(str(model_path)).encode([text])[0]


@pytest.mark.parametrize("loss,kind", CASES)
def test_each_loss_trains_and_changes_the_model(loss, kind, tiny_model, tmp_path):
    data = write_jsonl(tmp_path / f"{kind}.jsonl", _rows(kind))
    extra = {"matryoshka_dims": [32, 16]} if loss == "matryoshka" else {}
    run = densefit.fit(model=tiny_model, train_data=data, loss=loss, out=tmp_path / "run", max_steps=3,
                       batch_size=8, learning_rate=1e-3, **extra)
    summary = json.loads(run.train_json.read_text())
    assert summary["train"]["steps"] == 3
    expected = "mnr" if loss == "matryoshka" else loss
    assert summary["loss"]["name"] == expected
    assert not np.allclose(_embedding(tiny_model), _embedding(run.model_path), atol=1e-6)


def test_unknown_loss_lists_valid_names():
    with pytest.raises(UnknownNameError) as err:
        get_spec("hinge", "retrieval")
    for name in loss_names():
        assert name in str(err.value)


def test_incompatible_loss_names_the_losses_that_fit():
    spec, _ = get_spec("softmax", "nli")
    with pytest.raises(ConfigError, match="losses for retrieval data: .*mnr"):
        spec.shape("retrieval", {"anchor": ["a"], "positive": ["b"]})


def test_triplet_loss_without_negatives_says_how_to_fix():
    with pytest.raises(ConfigError, match="no negatives"):
        LOSSES["triplet"].shape("retrieval", {"anchor": ["a"], "positive": ["b"]})


def test_default_loss_follows_the_data_kind():
    assert get_spec(None, "retrieval")[0].name == "mnr"
    assert get_spec(None, "scored")[0].name == "cosent"
    assert get_spec(None, "nli")[0].name == "softmax"


def test_contrastive_shapes_triplets_into_labelled_pairs():
    cols = LOSSES["contrastive"].shape("retrieval", {"anchor": ["a"], "positive": ["p"], "negative": ["n"]})
    assert cols == {"sentence1": ["a", "a"], "sentence2": ["p", "n"], "label": [1, 0]}


def test_matryoshka_dims_out_of_range(tiny_model, tmp_path):
    data = write_jsonl(tmp_path / "t.jsonl", _rows("triplets"))
    with pytest.raises(ConfigError, match="1..32"):
        densefit.fit(model=tiny_model, train_data=data, out=tmp_path / "r", max_steps=1, matryoshka_dims=[64])


def _cross_entropy(scores):
    import torch

    return torch.nn.functional.cross_entropy(scores, torch.arange(scores.size(0)))


def test_the_two_way_losses_add_the_directions_they_name(tiny_model):
    import torch
    from sentence_transformers import SentenceTransformer

    from densefit.methods.losses import build_loss

    model = SentenceTransformer(str(tiny_model), device="cpu")
    torch.manual_seed(0)
    q, d = (torch.nn.functional.normalize(torch.randn(6, 8), dim=-1) for _ in range(2))
    scores = 20.0 * q @ d.T

    def value(name):
        return float(build_loss(LOSSES[name], model).compute_loss_from_embeddings([q, d], None))

    one_way = float(_cross_entropy(scores))
    assert value("mnr") == pytest.approx(one_way, rel=1e-5)
    assert value("mnr-symmetric") == pytest.approx((one_way + float(_cross_entropy(scores.T))) / 2, rel=1e-5)
    q_q, d_d = 20.0 * q @ q.T, 20.0 * d @ d.T
    eye = torch.eye(6, dtype=torch.bool)
    # one softmax over the batch's documents, its other queries, and each document's view of them all
    pool = torch.cat([scores, q_q.masked_fill(eye, -torch.inf), scores.T,
                      d_d.masked_fill(eye, -torch.inf)], dim=1)
    assert value("mnr-gte") == pytest.approx(float(_cross_entropy(pool)), rel=1e-5)
