"""Two writers on one embedded store at once: both land, or one gets an explicit error; never a silent loss."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from densefit.index import Index
from tests.index import writer_child as child

SCRIPT = """
import sys, numpy as np
from densefit.index import Index
from densefit.index.errors import DuplicateIdError
sys.path.insert(0, {tests!r})
from writer_child import vector
store, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
idx = Index.open(store, create=True)
for b in range(n):
    ids = [f"{{prefix}}{{b * 20 + i}}" for i in range(20)]
    try:
        idx.add(ids, ["t"] * 20, vectors=np.vstack([vector(i, 0) for i in ids]))
        print("ACK", " ".join(ids), flush=True)
    except DuplicateIdError as exc:
        print("REFUSED", " ".join(ids), flush=True)
idx.close()
"""


def run_pair(store: Path, prefixes: tuple[str, str], batches: int = 15) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(child.__file__).parents[2])}
    code = SCRIPT.format(tests=str(Path(child.__file__).parent))
    procs = [subprocess.Popen([sys.executable, "-c", code, str(store), p, str(batches)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for p in prefixes]
    outs = [p.communicate(timeout=120) for p in procs]
    for proc, (_, err) in zip(procs, outs):
        assert proc.returncode == 0, err[-2000:]
    return [line for out, _ in outs for line in out.splitlines()]


def stored_ids(store: Path) -> list[str]:
    with Index.open(store) as idx:
        ids = [i for batch, _ in idx.store.scan() for i in batch]
        assert idx.count() == len(ids)
    return ids


def test_two_writers_with_disjoint_ids_both_land(tmp_path):
    lines = run_pair(tmp_path / "s", ("a", "b"))
    acked = [i for line in lines if line.startswith("ACK") for i in line.split()[1:]]
    assert len(acked) == 2 * 15 * 20
    ids = stored_ids(tmp_path / "s")
    assert sorted(ids) == sorted(acked)


def test_two_writers_with_the_same_ids_never_lose_or_duplicate(tmp_path):
    lines = run_pair(tmp_path / "s", ("x", "x"))
    acked = [i for line in lines if line.startswith("ACK") for i in line.split()[1:]]
    refused = [line for line in lines if line.startswith("REFUSED")]
    ids = stored_ids(tmp_path / "s")
    assert len(ids) == len(set(ids)) == 15 * 20          # each row once
    assert sorted(acked) == sorted(ids)                   # every acknowledged row is there, nothing else
    assert len(refused) == 15                             # the loser of each batch was told explicitly
    with Index.open(tmp_path / "s") as idx:
        vecs = np.vstack([child.vector(i, 0) for i in ids[:20]])
        assert [h[0].id for h in idx.search_vectors(vecs, k=1)] == ids[:20]
