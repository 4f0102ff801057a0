"""One contract, every store, across processes: what `densefit index` writes, a new process must read.

A process writes the store; a second, new process counts, searches, filters, upserts and
deletes; a third searches what the second left. The same body runs for the embedded store,
Milvus Lite and OpenSearch (against the local recorder, which answers searches with an exact
k-NN). Reopening only inside the writing process hides state that a new process does not
have (Milvus Lite's collections start 'released' in a new process).
"""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from tests.index.opensearch_recorder import running_recorder
from tests.index.store_child import N, vectors

CHILD = Path(__file__).with_name("store_child.py")
ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def local(tmp_path):
    yield str(tmp_path / "store")


@contextmanager
def milvus_lite(tmp_path):
    pytest.importorskip("milvus_lite")
    yield str(tmp_path / "m.db")


@contextmanager
def opensearch(tmp_path):
    pytest.importorskip("opensearchpy")
    with running_recorder() as server:
        yield f"opensearch://127.0.0.1:{server.server_address[1]}/docs"


BACKENDS = {"local": local, "milvus-lite": milvus_lite, "opensearch": opensearch}


def step(name: str, uri: str) -> dict:
    done = subprocess.run([sys.executable, str(CHILD), name, uri], capture_output=True, text=True, timeout=300,
                          cwd=ROOT, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, f"{name} failed:\n{done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def expected_top(x: np.ndarray, rows: list[int], k: int, keep=lambda i: True) -> list[str]:
    order = [int(i) for i in np.argsort(-(x[rows] @ x.T), axis=1, kind="stable")[0] if keep(int(i))]
    return [f"d{i}" for i in order[:k]]


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_write_then_change_then_read_in_three_new_processes(backend, tmp_path):
    x = vectors()
    with BACKENDS[backend](tmp_path) as uri:
        assert step("write", uri) == {"added": N}
        seen = step("change", uri)
        assert seen["count"] == N and seen["dimension"] == x.shape[1]
        assert seen["top"] == ["d3", "d9"] and seen["text"] == "text 3"
        assert seen["filtered"] == expected_top(x, [3], 5, keep=lambda i: i % 4 == 1)
        assert seen["existing"] == ["d1", "d39"]
        assert seen["upserted"] == 2 and seen["deleted"] == 2
        after = step("check", uri)
        assert after["count"] == N - 2 + 1
        assert after["existing"] == ["d2", "d5", "new"]
        assert after["top_of_d0"] != ["d0"] and after["top_of_d0"] == expected_top(
            x, [0], 1, keep=lambda i: i not in (0, 1, 5))
        assert after["replaced"] == [["d5", "replaced", {"section": "9"}]]
