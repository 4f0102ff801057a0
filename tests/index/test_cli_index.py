"""`densefit index` and `densefit search` in-process (typer's runner) with the tiny model."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from densefit.cli.app import app
from densefit.index import Index
from densefit.index.errors import ModelMismatchError
from tests.conftest import write_jsonl

runner = CliRunner()


def corpus(tmp_path, n=30):
    rows = [{"_id": f"d{i}", "title": f"page {i}", "text": f"document {i} about files and signals",
             "section": str(i % 3)} for i in range(n)]
    return write_jsonl(tmp_path / "corpus.jsonl", rows)


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=True)


def test_index_resume_search_upsert_delete(tmp_path, tiny_model):
    store, path = tmp_path / "store", corpus(tmp_path)
    with Index.open(store, model=tiny_model, create=True) as idx:  # a run that stopped after 10 rows
        idx.add([f"d{i}" for i in range(10)], [f"page {i} document {i} about files and signals" for i in range(10)],
                [{"section": str(i % 3)} for i in range(10)])
    done = invoke("index", "--corpus", path, "--store", store, "--no-progress")
    assert done.exit_code == 0, done.output
    said = " ".join(done.output.split())
    assert "skipped 10 already present" in said and "wrote 20" in said
    with Index.open(store) as idx:
        assert idx.count() == 30
        hit = idx.search("page 17 document 17 about files and signals", k=1)[0]
        assert hit.id == "d17" and hit.metadata == {"title": "page 17", "section": "2"}

    found = invoke("search", "page 4 document 4 about files and signals", "--store", store, "-k", "3", "--json")
    assert found.exit_code == 0, found.output
    hits = json.loads(found.stdout)
    assert [h["rank"] for h in hits] == [1, 2, 3] and hits[0]["id"] == "d4"
    filtered = json.loads(invoke("search", "files", "--store", store, "-k", "5", "--filter", "section=2",
                                 "--json").stdout)
    assert len(filtered) == 5 and all(h["metadata"]["section"] == "2" for h in filtered)
    table = invoke("search", "files", "--store", store, "-k", "2")
    assert "rank" in table.stdout and "score" in table.stdout

    write_jsonl(path, [{"_id": "d1", "text": "rewritten text", "section": "9"}])
    assert invoke("index", "--corpus", path, "--store", store, "--upsert", "--no-progress").exit_code == 0
    assert invoke("index", "--store", store, "--delete", "d2,d3,nope", "--no-progress").exit_code == 0
    with Index.open(store) as idx:
        assert idx.count() == 28 and idx.existing(["d1", "d2", "d3"]) == {"d1"}
        assert idx.search("rewritten text", k=1, filter={"section": "9"})[0].text == "rewritten text"


def test_search_with_another_model_is_refused(tmp_path, tiny_model):
    store = tmp_path / "store"
    assert invoke("index", "--model", tiny_model, "--corpus", corpus(tmp_path, 5), "--store", store,
                  "--no-progress").exit_code == 0
    result = invoke("search", "files", "--store", store, "--model", "default")
    assert isinstance(result.exception, ModelMismatchError)
    assert "built with model" in str(result.exception) and tiny_model in str(result.exception)


@pytest.mark.slow
def test_densefit_index_killed_midway_resumes_without_loss(tmp_path, tiny_model):
    import os
    import signal
    import sqlite3
    import subprocess
    import sys
    import time
    from pathlib import Path

    n = 6_000
    path = write_jsonl(tmp_path / "big.jsonl", [{"id": f"r{i}", "text": f"row {i} of the corpus"} for i in range(n)])
    store = tmp_path / "store"
    cmd = [str(Path(sys.executable).with_name("densefit")), "index", "--model", tiny_model, "--corpus", str(path),
           "--store", str(store), "--batch-size", "100"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)

    def stored() -> int:
        try:
            with sqlite3.connect(store / "rows.sqlite", timeout=30) as conn:
                return conn.execute("SELECT count(*) FROM rows").fetchone()[0]
        except sqlite3.Error:
            return 0

    deadline = time.monotonic() + 300
    while proc.poll() is None and stored() < 300 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL, "the indexer finished before it could be killed"
    partial = stored()
    assert 0 < partial < n
    resumed = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    said = " ".join(resumed.stderr.split())
    assert f"skipped {partial} already present" in said and f"wrote {n - partial}" in said
    with Index.open(store) as idx:
        ids = [i for batch, _ in idx.store.scan() for i in batch]
        assert len(ids) == len(set(ids)) == idx.count() == n
