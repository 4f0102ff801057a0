"""The query split and real queries, without a model: file-level test split, boilerplate dropped, real
queries replace generated test queries only when there are enough of them."""

from __future__ import annotations

import json
import random

import pytest

from densefit.build.queries import build_queries, split_chunks
from densefit.build.real import read_real_queries
from densefit.errors import ConfigError, DataError
from densefit.methods.generators.extractive import ExtractiveGenerator
from tests.conftest import sentence


def rows(n_files: int = 30, per_file: int = 3) -> list[dict]:
    rng = random.Random(0)
    return [{"_id": f"f{i}.md#{j}", "source": f"f{i}.md", "title": f"Topic {i} › part {j}",
             "text": f"The {sentence(rng, 9)}. Then {sentence(rng, 9)}."} for i in range(n_files) for j in range(per_file)]


def test_test_split_takes_whole_files():
    split = split_chunks(rows(), {"test": 6}, seed=0)
    test_files = {r["source"] for r in split["test"]}
    assert not test_files & {r["source"] for r in split["train"]}
    assert 6 <= len(split["test"]) <= 9 and len(split["test"]) + len(split["train"]) == 90


def test_boilerplate_queries_are_dropped_and_splits_do_not_share_text():
    data = rows()
    for r in data:
        r["title"] = "Common heading"  # every chunk's title strategy yields the same query
    qs = build_queries(ExtractiveGenerator(), split_chunks(data, {"test": 6}, 0), [], 2,
                       {"train": 100, "test": 10}, min_real_test=5, seed=0)
    texts = list(qs.queries.values())
    assert "Common heading" not in texts and qs.qrels["train"] and qs.qrels["test"]
    test_texts = {qs.queries[q] for q in qs.qrels["test"]}
    assert not test_texts & {qs.queries[q] for q in qs.qrels["train"]}


def test_real_queries_become_the_test_split_when_there_are_enough(tmp_path):
    data = rows()
    log = tmp_path / "log.jsonl"
    log.write_text("".join(json.dumps({"query": f"tuning widgets {i}", "source": f"f{i}.md"}) + "\n"
                           for i in range(6)) + json.dumps({"query": "gone", "source": "deleted.md"}) + "\n")
    real, info = read_real_queries(str(log), data)
    assert info == {"given": 7, "used": 6, "unmatched": 1, "file": str(log)}
    assert dict(real)["tuning widgets 2"] == {"f2.md#0", "f2.md#1", "f2.md#2"}
    split = split_chunks(data, {"test": 0}, 0)
    qs = build_queries(ExtractiveGenerator(), split, real, 2, {"train": 50, "test": 10}, min_real_test=5, seed=0)
    assert qs.test_kind == "real" and sorted(qs.queries[q] for q in qs.qrels["test"]) == sorted(dict(real))
    few = build_queries(ExtractiveGenerator(), split_chunks(data, {"test": 5}, 0), real[:2], 2,
                        {"train": 50, "test": 10}, min_real_test=5, seed=0)
    assert few.test_kind == "generated + 2 real"


def test_a_query_file_that_names_nothing_is_a_clear_error(tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text(json.dumps({"query": "x", "source": "nope.md"}) + "\n")
    with pytest.raises(DataError, match="none of its 1 queries"):
        read_real_queries(str(log), rows())
    log.write_text(json.dumps({"query": "x"}) + "\n")
    with pytest.raises(DataError, match=r"log.jsonl:1: missing field .*source"):
        read_real_queries(str(log), rows())


def test_serve_refuses_a_folder_that_is_not_a_build(tmp_path):
    from densefit.cli.serve import build_defaults

    with pytest.raises(ConfigError, match="not a build folder"):
        build_defaults(str(tmp_path), {})
    (tmp_path / "build.json").write_text(json.dumps({"stages": {}}))
    with pytest.raises(ConfigError, match="unfinished build"):
        build_defaults(str(tmp_path), {})
    (tmp_path / "build.json").write_text(json.dumps({"serve": {"model": "train/model", "store": "index",
                                                               "compare_model": "default"}}))
    got = build_defaults(str(tmp_path), {"port": 9000, "store": None})
    assert got["store"] == str(tmp_path / "index") and got["compare_model"] == "default" and got["port"] == 9000


def test_the_build_token_counter_tokenizes_each_text_once(tiny_model):
    from densefit.build.pipeline import _token_counter
    from densefit.inference.select import load_encoder

    encoder = load_encoder(tiny_model)
    count = _token_counter(encoder)
    text = "Disk quotas limit how much space a user may take."
    expected = len(encoder.tokenizer(text, add_special_tokens=False)["input_ids"])
    assert count(text) == count(text) == expected
    assert count.cache_info().hits == 1 and count.cache_info().misses == 1
