"""Lexical and hybrid search through the embedded store: FTS5 kept in step with the rows, a store made before
the lexical index gets it on first use, fusion equals the evaluation functions, and bad modes are refused."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from densefit.errors import UnknownNameError
from densefit.evaluation.fusion import convex, rrf
from densefit.index import Index
from densefit.index.errors import StoreError
from densefit.index.local import DB

TEXTS = {"ls": "list directory contents", "cp": "copy files and directories", "rm": "remove files or directories",
         "cat": "concatenate files and print on the standard output", "grep": "print lines that match patterns"}


def vectors(n: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def filled(tmp_path):
    idx = Index.open(tmp_path / "store", create=True)
    idx.add(list(TEXTS), list(TEXTS.values()), [{"n": i % 2} for i in range(len(TEXTS))], vectors=vectors(len(TEXTS)))
    yield idx
    idx.close()


def test_lexical_search_ranks_by_bm25_and_follows_writes(filled):
    hits = filled.search_lexical(["directories"], k=5)[0]
    assert {h.id for h in hits} == {"ls", "cp", "rm"} and all(h.score > 0 for h in hits)  # porter: directory(ies)
    assert [h.id for h in filled.search_lexical(["print"], k=5, filter={"n": 0})[0]] == ["grep"]  # cat has n=1
    filled.delete(["cp"])
    filled.upsert(["rm"], ["delete penguins"], vectors=vectors(1, seed=3))
    assert {h.id for h in filled.search_lexical(["directories"], k=5)[0]} == {"ls"}
    assert [h.id for h in filled.search_lexical(["penguins"], k=5)[0]] == ["rm"]
    assert filled.search_lexical(["zebra", "", "(\"* ^"], k=5) == [[], [], []]  # no known word: no hits
    # FTS5 syntax in a query is read as plain words: "and" is a word of cat's text, not an operator
    assert [h.id for h in filled.search_lexical(['AND OR NOT ("*'], k=5)[0]] == ["cat"]


def test_a_store_made_before_the_lexical_index_gets_it_from_its_rows(tmp_path, filled):
    path = filled.store.path
    filled.close()
    conn = sqlite3.connect(path / DB)
    for stmt in ("DROP TRIGGER rows_lexical_insert", "DROP TRIGGER rows_lexical_delete", "DROP TABLE lexical"):
        conn.execute(stmt)
    conn.commit()
    conn.close()
    with Index.open(path) as idx:
        assert [h.id for h in idx.search_lexical(["concatenate"], k=3)[0]] == ["cat"]
        idx.add(["new"], ["a brand new concatenate page"], vectors=vectors(1, seed=9))
        assert {h.id for h in idx.search_lexical(["concatenate"], k=3)[0]} == {"cat", "new"}


def test_hybrid_is_the_fusion_of_the_dense_and_lexical_lists(filled):
    query_vec = vectors(1, seed=5)
    dense = filled.search_vectors(query_vec, k=5)[0]
    lexical = filled.search_lexical(["files directories"], k=5)[0]
    d_run, l_run = {"q": {h.id: h.score for h in dense}}, {"q": {h.id: h.score for h in lexical}}
    for fusion, expected in (("rrf", rrf([d_run, l_run])["q"]), ("convex", convex(d_run, l_run, 0.3)["q"])):
        hits = filled.search_hybrid(["files directories"], query_vec, k=3, fusion=fusion, weight=0.3)[0]
        assert [h.id for h in hits] == list(expected)[:3]
        assert [h.score for h in hits] == pytest.approx([expected[h.id] for h in hits])
        assert all(h.text == TEXTS[h.id] for h in hits)


def test_bad_modes_are_refused_with_the_valid_names(filled):
    with pytest.raises(UnknownNameError, match="dense, hybrid, lexical"):
        filled.search_many(["x"], mode="semantic")
    with pytest.raises(UnknownNameError, match="convex, rrf"):
        filled.search_many(["x"], mode="hybrid", fusion="sum")
    with pytest.raises(StoreError, match="weight must be in"):
        filled.search_many(["x"], mode="hybrid", fusion="convex", weight=1.5)


def test_a_store_without_a_lexical_index_says_so(tmp_path):
    pytest.importorskip("milvus_lite")
    with Index.open(str(tmp_path / "m.db"), create=True) as idx:
        idx.add(["a"], ["some text"], vectors=vectors(1))
        with pytest.raises(StoreError, match="no lexical index.*Fix: search with mode dense"):
            idx.search_lexical(["text"])
