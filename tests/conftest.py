"""Shared fixtures: a tiny random BERT (fast unit tests) and the bundled MiniLM (integration)."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

WORDS = ("file disk memory process signal socket thread lock time clock user group network packet "
         "buffer stream string number error device kernel page cache queue timer event").split()


def build_tiny_model(folder: Path, *, seed: int = 0, plain_hf: bool = False) -> Path:
    """A 2-layer, 32-wide random BERT with MiniLM's tokenizer, saved as a ST (or plain HF) folder."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import AutoTokenizer, BertConfig, BertModel

    from densefit.models import bundled_model_dir

    torch.manual_seed(seed)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128)
    hf_dir = folder / ("hf" if not plain_hf else "")
    BertModel(config).save_pretrained(hf_dir, safe_serialization=True)
    AutoTokenizer.from_pretrained(bundled_model_dir()).save_pretrained(hf_dir)  # MiniLM's vocabulary
    if plain_hf:
        return hf_dir
    transformer = Transformer(str(hf_dir), max_seq_length=64)
    model = SentenceTransformer(modules=[transformer, Pooling(32, pooling_mode="mean")])
    st_dir = folder / "st"
    model.save(str(st_dir))
    return st_dir


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    return str(build_tiny_model(tmp_path_factory.mktemp("tiny")))


@pytest.fixture(scope="session")
def tiny_hf_model(tmp_path_factory) -> str:
    return str(build_tiny_model(tmp_path_factory.mktemp("tinyhf"), plain_hf=True))


def sentence(rng: random.Random, n: int = 6) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def pairs_file(tmp_path) -> Path:
    rng = random.Random(1)
    return write_jsonl(tmp_path / "pairs.jsonl",
                       [{"anchor": f"q{i} " + sentence(rng, 4), "positive": f"d{i} " + sentence(rng)} for i in range(64)])


def make_ir_set(folder: Path, n_docs: int = 40, n_queries: int = 20, seed: int = 0) -> Path:
    """A small BEIR set where each query shares words with its document."""
    from densefit.data.beir import write_beir

    rng = random.Random(seed)
    corpus = {f"d{i}": {"text": sentence(rng, 12)} for i in range(n_docs)}
    queries, qrels = {}, {}
    for i in range(n_queries):
        words = corpus[f"d{i}"]["text"].split()
        queries[f"q{i}"] = " ".join(rng.sample(words, 4))
        qrels[f"q{i}"] = {f"d{i}": 1}
    train = {q: r for q, r in qrels.items() if int(q[1:]) < n_queries // 2}
    test = {q: r for q, r in qrels.items() if int(q[1:]) >= n_queries // 2}
    return write_beir(folder, corpus, queries, {"train": train, "test": test})


@pytest.fixture
def ir_set(tmp_path) -> Path:
    return make_ir_set(tmp_path / "ir")
