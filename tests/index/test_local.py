"""The embedded store through the Index API: writes, search, filters, persistence and refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from densefit.errors import DataError, UnknownNameError
from densefit.index import Hit, Index, Rows
from densefit.index.config import IndexConfig
from densefit.index.errors import (DimensionError, DuplicateIdError, ModelMismatchError, NotAStoreError,
                                   StoreError)
from densefit.index.filters import FilterError, check_filter, parse_filter_args


def unit(n: int, dim: int = 24, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def store(tmp_path):
    return tmp_path / "store"


def fill(path, n=300, dim=24, config=None) -> tuple[Index, np.ndarray]:
    idx = Index.open(path, create=True, config=config)
    x = unit(n, dim)
    idx.add([f"d{i}" for i in range(n)], [f"text {i}" for i in range(n)],
            [{"section": str(i % 3), "n": i % 2, "even": i % 2 == 0} for i in range(n)], vectors=x)
    return idx, x


def test_add_search_filter_upsert_delete(store):
    idx, x = fill(store)
    assert idx.count() == 300 and idx.dimension == 24
    hits = idx.search_vectors(x[:5], k=3)
    assert [h[0].id for h in hits] == [f"d{i}" for i in range(5)]
    assert isinstance(hits[0][0], Hit) and hits[0][0].text == "text 0" and hits[0][0].score == pytest.approx(1, abs=1e-5)
    filtered = idx.search_vectors(x[:1], k=50, filter={"section": "1"})[0]
    assert len(filtered) == 50 and all(h.metadata["section"] == "1" for h in filtered)
    assert all(h.metadata["n"] == 1 for h in idx.search_vectors(x[:1], k=5, filter={"n": 1})[0])
    assert all(h.metadata["even"] for h in idx.search_vectors(x[:1], k=5, filter={"even": True})[0])
    assert idx.search_vectors(x[:1], k=5, filter={"section": 1})[0] == []  # types matter: "1" is not 1
    assert idx.delete(["d0", "d1", "missing"]) == 2
    assert idx.count() == 298 and idx.search_vectors(x[:1], k=1)[0][0].id != "d0"
    assert idx.upsert(["d2", "new"], ["changed", "brand new"], vectors=x[[10, 11]]) == 2
    assert idx.count() == 299
    top = idx.search_vectors(x[10:11], k=2)[0]
    assert {h.id for h in top} == {"d2", "d10"}
    assert next(h for h in top if h.id == "d2").text == "changed"


def test_add_refuses_existing_and_repeated_ids_and_writes_nothing(store):
    idx, x = fill(store, n=10)
    with pytest.raises(DuplicateIdError, match="d3"):
        idx.add(["fresh", "d3"], ["a", "b"], vectors=x[:2])
    with pytest.raises(DuplicateIdError, match="repeated"):
        idx.add(["x", "x"], ["a", "b"], vectors=x[:2])
    assert idx.count() == 10 and idx.existing(["fresh", "x"]) == set()
    fresh = unit(2, seed=4)
    assert idx.upsert(["y", "y"], ["first", "last"], vectors=fresh) == 1
    assert idx.search_vectors(fresh[1:2], k=1)[0][0].text == "last"


def test_dimension_mismatch_is_refused_before_writing(store):
    idx, x = fill(store, n=10)
    with pytest.raises(DimensionError, match="24"):
        idx.add(["z"], ["t"], vectors=unit(1, dim=8))
    with pytest.raises(DimensionError):
        idx.search_vectors(unit(1, dim=8))
    assert idx.count() == 10
    idx.close()
    raw = Index.open(store)
    with pytest.raises(DimensionError):  # the store itself checks too, inside the write transaction
        raw.store.write(Rows(["z"], ["t"], [{}], unit(1, 8)), replace=False)
    assert raw.count() == 10


@pytest.mark.parametrize("ann", ["ivf", "hnsw"])
def test_ann_mode_persists_its_cache_and_reopens(store, ann):
    cfg = IndexConfig(exact_below=100, ef_search=128, ann=ann)
    idx, x = fill(store, n=600, config=cfg)
    assert idx.describe()["count"] == 600
    idx.search_vectors(x[:1])
    assert idx.store.table.mode == ann
    idx.close()
    assert list((store / "ann").glob("gen-*/index.faiss"))
    idx = Index.open(store, config=cfg)
    idx.delete(["d5"])
    idx.add(["tail"], ["t"], vectors=unit(1, seed=9))
    found = [h[0].id for h in idx.search_vectors(x[:50], k=1)]
    assert found[5] != "d5" and sum(f == f"d{i}" for i, f in enumerate(found)) >= 48
    assert idx.search_vectors(unit(1, seed=9), k=1)[0][0].id == "tail"
    exact = idx.search_vectors(x[:3], k=5, exact=True)
    assert [h[0].id for h in exact] == ["d0", "d1", "d2"]


def test_reopen_sees_writes_of_another_connection(store):
    a, x = fill(store, n=20)
    b = Index.open(store)
    assert b.search_vectors(x[:1], k=1)[0][0].id == "d0"
    a.delete(["d0"])
    a.add(["late"], ["late"], vectors=unit(1, seed=5))
    assert b.count() == 20
    assert b.search_vectors(x[:1], k=1)[0][0].id != "d0"
    assert b.search_vectors(unit(1, seed=5), k=1)[0][0].id == "late"


def test_not_a_store_and_missing_store_and_unknown_scheme(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("hello")
    with pytest.raises(NotAStoreError, match="not a densefit store"):
        Index.open(other, create=True)
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotAStoreError):
        Index.open(tmp_path / "file")
    with pytest.raises(StoreError, match="no densefit store"):
        Index.open(tmp_path / "absent")
    assert not (tmp_path / "absent").exists()
    with pytest.raises(UnknownNameError, match="opensearch://") as err:
        Index.open("redis://localhost/x")
    assert "milvus://" in str(err.value) and "a folder path" in str(err.value)


def test_empty_folder_becomes_a_store(tmp_path):
    (tmp_path / "empty").mkdir()
    with Index.open(tmp_path / "empty", create=True) as idx:
        assert idx.count() == 0 and idx.search_vectors(unit(1), k=3) == [[]]
    assert json.loads((tmp_path / "empty" / "densefit-store.json").read_text())["format"] == "densefit-store"


def test_filters_are_checked():
    assert parse_filter_args(["section=2", "year:=2020", "ok:=true"]) == {"section": "2", "year": 2020, "ok": True}
    with pytest.raises(FilterError):
        parse_filter_args(["nope"])
    with pytest.raises(FilterError):
        check_filter({"a": [1, 2]})
    with pytest.raises(FilterError):
        check_filter({"a'); drop": 1})


def test_text_search_records_the_model_and_refuses_another(tmp_path, tiny_model):
    from tests.conftest import build_tiny_model

    other = str(build_tiny_model(tmp_path / "other", seed=3))
    with Index.open(tmp_path / "s", model=tiny_model, create=True) as idx:
        idx.add(["a", "b"], ["file status of a path", "send a signal to a process"])
        assert idx.model_name == tiny_model and idx.dimension == 32
    with Index.open(tmp_path / "s") as idx:  # model=None: the recorded one
        hits = idx.search("file status of a path", k=2)
        assert hits[0].id == "a" and hits[0].score == pytest.approx(1, abs=1e-4)
        assert [h[0].id for h in idx.search_many(["send a signal to a process"], k=1)] == ["b"]
    with pytest.raises(ModelMismatchError, match="different model"):
        Index.open(tmp_path / "s", model=other)
    vec_only = Index.open(tmp_path / "v", create=True)
    vec_only.add(["a"], ["t"], vectors=unit(1, dim=32))
    with pytest.raises(StoreError, match="records no model"):
        vec_only.search("query")


def test_corpus_rows_without_id_or_text_name_the_line(tmp_path):
    from densefit.index.build import index_corpus

    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "a", "text": "x"}\n{"text": "no id"}\n')
    with pytest.raises(DataError, match=r"c.jsonl:2: field 'id'"):
        index_corpus(str(tmp_path / "s"), path, model=None, show_progress=False)
    path.write_text('{"id": "a", "text": "x"}\n\n{"id": "b", "body": "no text"}\n')
    with pytest.raises(DataError, match=r"c.jsonl:3: field 'text'"):
        index_corpus(str(tmp_path / "s"), path, show_progress=False)
    csv = tmp_path / "c.csv"
    csv.write_text("id,text\na,x\nb,y\na,z\n")
    with pytest.raises(DataError, match=r"c.csv:4: field 'id': duplicate id 'a'"):
        index_corpus(str(tmp_path / "s"), csv, show_progress=False)
    assert not (tmp_path / "s").exists()  # nothing written, not even an empty store


def test_a_faiss_failure_while_saving_the_cache_is_a_warning_and_the_rows_stay(store, monkeypatch, capsys):
    import faiss

    cfg = IndexConfig(exact_below=50)
    idx, x = fill(store, n=300, config=cfg)
    idx.search_vectors(x[:1], k=1)  # builds the ANN structure, which flush and close save

    def broken(*args, **kwargs):
        raise RuntimeError("Error in faiss::FileIOWriter: write failed")

    monkeypatch.setattr(faiss, "write_index", broken)
    idx.flush()
    idx.close()  # neither raises
    said = " ".join(capsys.readouterr().err.split())
    assert "could not save the ANN cache" in said and "rows are safe" in said
    assert not list((store / "ann").glob(".gen-*")), "the failed save left its staging folder"
    monkeypatch.undo()
    with Index.open(store, config=cfg) as again:
        assert again.count() == 300 and again.search_vectors(x[7:8], k=1)[0][0].id == "d7"


def test_staging_folders_of_a_dead_saver_are_removed_on_open(store):
    import os
    import subprocess

    idx, _ = fill(store, n=10)
    idx.close()
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = store / "ann" / f".gen-9.{dead.pid}.deadbeef"
    legacy = store / "ann" / ".gen-3.cafe0123"
    live = store / "ann" / f".gen-9.{os.getpid()}.0badcafe"  # a saver that is still running: left alone
    for folder in (stale, legacy, live):
        folder.mkdir(parents=True)
        (folder / "index.faiss").write_bytes(b"partial")
    Index.open(store).close()
    assert not stale.exists() and not legacy.exists() and live.exists()


def test_a_copied_store_has_the_rows_and_lexical_index_and_is_its_own_store(store, tmp_path):
    from densefit.index.local import MARKER, copy_store

    cfg = IndexConfig(exact_below=100, ann="hnsw")
    idx, x = fill(store, n=300, config=cfg)
    idx.search_vectors(x[:1])
    idx.close()  # leaves an ANN cache, which the copy must not take along
    copy = tmp_path / "copy"
    copy_store(store, copy)
    assert json.loads((copy / MARKER).read_text())["uuid"] != json.loads((store / MARKER).read_text())["uuid"]
    assert not (copy / "ann").exists() and not list(tmp_path.glob(".copy.creating-*"))
    twin = Index.open(copy, config=cfg)
    assert twin.count() == 300 and [h[0].id for h in twin.search_vectors(x[:5], k=1)] == [f"d{i}" for i in range(5)]
    assert twin.search_lexical(["text 7"], k=1)[0][0].id == "d7"
    twin.delete(["d0"])
    twin.close()
    assert Index.open(store).count() == 300  # the source is untouched
    with pytest.raises(StoreError, match="already exists"):
        copy_store(store, copy)
    with pytest.raises(NotAStoreError):
        copy_store(tmp_path / "nothing", tmp_path / "other")
