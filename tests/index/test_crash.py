"""Crash consistency of the embedded store: SIGKILL a writer at random points, reopen, check everything."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from densefit.index import Index
from densefit.index.config import IndexConfig
from tests.index import writer_child as child

CHILD = Path(child.__file__)
TRIALS = 20
OPS = 60
ENV = {"DENSEFIT_INDEX_EXACT_BELOW": "150", "DENSEFIT_INDEX_EF_SEARCH": "256"}


def spawn(store: Path, seed: int, start: int, known: list[str], out: Path) -> subprocess.Popen:
    env = {**os.environ, **ENV, "PYTHONPATH": str(CHILD.parents[2])}
    with open(out, "w") as fh:
        proc = subprocess.Popen([sys.executable, str(CHILD), str(store), str(seed), str(start), str(OPS),
                                 "--flush-every", "3", "--known"], stdin=subprocess.PIPE, stdout=fh,
                                stderr=subprocess.STDOUT, env=env)
    proc.stdin.write(" ".join(known).encode())
    proc.stdin.close()
    return proc


def wait_started(out: Path, proc: subprocess.Popen, limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    while "BEGIN 0" not in out.read_text() and proc.poll() is None:
        assert time.monotonic() < deadline, "writer did not start"
        time.sleep(0.01)


def acked_and_inflight(out: Path) -> tuple[int, int | None]:
    lines = out.read_text().split("\n")
    acks = [int(line.split()[1]) for line in lines if line.startswith("ACK ")]
    begins = [int(line.split()[1]) for line in lines if line.startswith("BEGIN ")]
    last_ack = max(acks, default=-1)
    inflight = max(begins, default=-1)
    assert inflight in (last_ack, last_ack + 1), out.read_text()[-500:]
    return last_ack, inflight if inflight == last_ack + 1 else None


def apply(state: dict, op) -> dict:
    kind, ids, version = op
    state = dict(state)
    for i in ids:
        if kind == "add":
            state[i] = 0
        elif kind == "upsert":
            state[i] = version
        else:
            state.pop(i, None)
    return state


def scan(idx: Index) -> tuple[list[str], np.ndarray]:
    ids, vecs = [], []
    for batch_ids, batch_vecs in idx.store.scan():
        ids += batch_ids
        vecs.append(batch_vecs)
    return ids, (np.vstack(vecs) if vecs else np.zeros((0, child.DIM), np.float32))


def matches(state: dict, ids: list[str], vecs: np.ndarray) -> bool:
    """Every stored vector is the one its (acknowledged or in-flight) operation wrote."""
    if not ids:
        return True
    expected = np.vstack([child.vector(i, state[i]) for i in ids])
    return bool(np.allclose(vecs, expected, atol=1e-6))


def check_store(store: Path, candidates: list[dict]) -> dict:
    """Reopen and check: no duplicates, count == scan, state equals one allowed outcome, top-1 is itself."""
    with Index.open(store, config=IndexConfig.from_env(exact_below=150, ef_search=256)) as idx:
        ids, vecs = scan(idx)
        assert len(ids) == len(set(ids)), "duplicate ids after a crash"
        assert idx.count() == len(ids)
        state = next((s for s in candidates if set(s) == set(ids) and matches(s, ids, vecs)), None)
        assert state is not None, (f"phantom, missing or half-written rows: "
                                   f"{sorted(set(ids) ^ set(candidates[-1]))[:10]}")
        if ids:
            top1 = [hits[0].id for hits in idx.search_vectors(vecs, k=1)]
            assert top1 == ids, "a stored vector's top-1 neighbour is not itself"
        check_lexical(idx)
    return state


def check_lexical(idx: Index) -> None:
    """The FTS5 index holds exactly the committed rows: FTS5's own integrity check, and the same rowids."""
    conn = idx.store.conn
    conn.execute("INSERT INTO lexical(lexical, rank) VALUES ('integrity-check', 1)")  # raises when corrupt
    indexed = {r[0] for r in conn.execute("SELECT rowid FROM lexical WHERE lexical MATCH '\"text\"'")}
    assert indexed == {r[0] for r in conn.execute("SELECT rowid FROM rows")}, "lexical index and rows differ"


def test_sigkill_at_random_points_leaves_a_consistent_store(tmp_path):
    store, rng = tmp_path / "store", random.Random(7)
    state: dict = {}
    kills = 0
    for trial in range(TRIALS):
        known = sorted(state)
        out = tmp_path / f"child{trial}.out"
        proc = spawn(store, trial + 1, trial * 100_000, known, out)
        wait_started(out, proc)
        time.sleep(rng.uniform(0.0, 0.35))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
        last_ack, inflight = acked_and_inflight(out)
        ops = child.plan(trial + 1, trial * 100_000, OPS, known)
        for op in ops[: last_ack + 1]:
            state = apply(state, op)
        candidates = [state] + ([apply(state, ops[inflight])] if inflight is not None else [])
        state = check_store(store, candidates)
    assert kills >= TRIALS // 2, f"only {kills} of {TRIALS} writers were killed mid-run"
    assert len(state) > 0
