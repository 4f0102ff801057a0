"""`densefit build` end to end, in separate processes: build, serve with sources, update, resume after a kill."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time

import httpx
import pytest

from densefit.build.manifest import load_state
from tests.build.conftest import build, cli, make_docs
from tests.serve.conftest import free_port, wait_ready

pytestmark = pytest.mark.slow


def chunk_rows(out):
    return [json.loads(line) for line in (out / "chunks.jsonl").read_text().splitlines()]


def test_build_writes_every_stage_and_lists_skips(built):
    _, out, output = built
    state = load_state(out)
    assert set(state["stages"]) == {"chunks", "queries", "index-base", "train", "index", "evaluate"}
    assert all(s["done"] for s in state["stages"].values())
    skipped = {s["path"]: s["reason"] for s in state["stages"]["chunks"]["skipped_files"]}
    assert skipped["blob.txt"].startswith("binary") and "unsupported type '.png'" in skipped["logo.png"]
    rows = chunk_rows(out)
    assert {r["source"] for r in rows} >= {"disk.md", "html/disk.html", "chmod.1.gz", "manual.pdf"}
    assert state["stages"]["index"]["rows"] == len(rows) == state["stages"]["index-base"]["rows"]
    ev = state["stages"]["evaluate"]
    assert ev["queries"] > 0 and 0 <= ev["before"]["mrr@10"] <= 1 and 0 <= ev["after"]["mrr@10"] <= 1
    assert ev["paired"]["mrr@10"]["ci_low"] <= ev["paired"]["mrr@10"]["delta"] <= ev["paired"]["mrr@10"]["ci_high"]
    assert state["stages"]["train"]["shipped"] in ("base", "merged", "tuned")
    assert "serve it: densefit serve" in output and "skipped blob.txt" in output
    assert (out / "data" / "qrels" / "test.tsv").is_file() and (out / "train" / "model").is_dir()


def test_serve_answers_search_with_sources(built, tmp_path):
    _, out, _ = built
    port = free_port()
    log = open(tmp_path / "serve.log", "wb")
    proc = cli(["serve", str(out), "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc=proc)
        body = httpx.post(base + "/search", json={"query": "disk quota limits", "k": 5}, timeout=60).json()
        assert len(body["hits"]) == 5
        for hit in body["hits"]:
            assert hit["metadata"]["source"] and hit["metadata"]["title"] and "heading" in hit["metadata"]
        compare = httpx.post(base + "/search", json={"query": "disk quota limits", "k": 3, "model": "base"},
                             timeout=60)
        assert compare.status_code == 200 and compare.json()["model"] == "base"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()


def test_a_second_build_without_resume_is_refused(built, tiny_model):
    docs, out, _ = built
    done = build(docs, out, tiny_model)
    assert done.returncode == 2 and "already holds a build" in done.stdout and "--resume" in done.stdout
    assert "Traceback" not in done.stdout


def test_a_changed_file_reindexes_only_its_chunks(built, tiny_model, tmp_path):
    docs, out = tmp_path / "docs", tmp_path / "out"
    shutil.copytree(built[0], docs)
    shutil.copytree(built[1], out)
    before = {r["_id"]: r for r in chunk_rows(out)}
    (docs / "disk.md").write_text("# disk guide\n\nThe disk quota is now enforced per project.\n")
    (docs / "clock.md").unlink()
    (docs / "notes.txt").write_text("Release notes\n\nThe socket timer fires once per second.\n")
    train_seconds = load_state(out)["stages"]["train"]["seconds"]
    done = build(docs, out, tiny_model, "--resume")
    assert done.returncode == 0, done.stdout
    after = {r["_id"]: r for r in chunk_rows(out)}
    changed = {s for s in ("disk.md", "clock.md", "notes.txt")}
    gone = {i for i in before if i not in after}
    new = {i for i in after if i not in before}
    assert {before[i]["source"] for i in gone} <= changed and {after[i]["source"] for i in new} <= changed
    for name in ("index", "index-base"):
        index = load_state(out)["stages"][name]
        assert (index["written"], index["deleted"], index["rows"]) == (len(new), len(gone), len(after))
    assert load_state(out)["stages"]["train"]["seconds"] == train_seconds  # the model was kept
    assert load_state(out)["stages"]["chunks"]["files_read"] == 2  # the changed and the new file


WHEN = {"queries": lambda out: (out / "chunks.jsonl").exists(),
        "train": lambda out: (out / "train").exists(),
        "index": lambda out: (out / "index").exists()}


@pytest.mark.parametrize("stage", sorted(WHEN))
def test_a_kill_in_any_stage_resumes_without_duplicates(stage, tiny_model, tmp_path):
    docs, out = make_docs(tmp_path / "docs"), tmp_path / "out"
    proc = cli(["build", str(docs), "--out", str(out), "--model", tiny_model, "--max-train-pairs", "120",
                "--dev-queries", "20", "--test-queries", "20"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while proc.poll() is None and not WHEN[stage](out) and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    done = build(docs, out, tiny_model, "--resume")
    assert done.returncode == 0, done.stdout
    rows = chunk_rows(out)
    from densefit.index import Index

    for store in ("index", "index-base"):
        with Index.open(str(out / store)) as idx:
            assert idx.count() == len(rows)
            assert idx.existing([r["_id"] for r in rows]) == {r["_id"] for r in rows}


def test_until_stops_after_a_stage_and_resume_finishes(tiny_model, tmp_path):
    docs, out = make_docs(tmp_path / "docs"), tmp_path / "out"
    done = build(docs, out, tiny_model, "--until", "queries")
    assert done.returncode == 0, done.stdout
    state = json.loads((out / "build.json").read_text())
    assert set(state["stages"]) == {"chunks", "queries"} and "serve" not in state
    assert (out / "data" / "queries.jsonl").is_file() and not (out / "index-base").exists()
    refused = cli(["serve", str(out)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output, _ = refused.communicate(timeout=120)
    assert refused.returncode != 0 and "unfinished build" in output and "Traceback" not in output
    done = build(docs, out, tiny_model, "--resume")
    assert done.returncode == 0, done.stdout
    state = json.loads((out / "build.json").read_text())
    assert "evaluate" in state["stages"] and "serve" in state


def test_an_unknown_until_stage_lists_the_stages(tiny_model, tmp_path):
    done = build(make_docs(tmp_path / "docs"), tmp_path / "out", tiny_model, "--until", "nope")
    assert done.returncode == 2 and "index-base" in done.stdout and "Traceback" not in done.stdout
    assert not (tmp_path / "out").exists()
