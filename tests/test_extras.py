"""Heavy engines are extras: without them the base install still trains, indexes and searches, and a feature
that needs one says in one line which extra to install (no traceback)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from densefit.errors import EXTRAS

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def densefit_without(modules, *args, cwd=None) -> subprocess.CompletedProcess:
    """`densefit ARGS` in a process where importing any of `modules` fails, as on an install without them."""
    code = (f"import sys\nfor m in {list(modules)!r}: sys.modules[m] = None\n"
            f"sys.argv = ['densefit', *{[str(a) for a in args]!r}]\nfrom densefit.cli.app import main\nmain()")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=ENV, cwd=cwd)


@pytest.mark.parametrize("module,args,extra", [
    ("pymilvus", ["index", "--corpus", "{corpus}", "--store", "{tmp}/s.db", "--model", "{model}"], "milvus"),
    ("milvus_lite", ["index", "--corpus", "{corpus}", "--store", "{tmp}/s.db", "--model", "{model}"], "milvus"),
    ("opensearchpy", ["search", "a query", "--store", "opensearch://127.0.0.1:9/idx"], "opensearch"),
    ("ray", ["encode", "--input", "{corpus}", "--out", "{tmp}/e.parquet", "--model", "{model}", "--ray"], "ray"),
    ("onnxruntime", ["export", "--model", "{model}", "--format", "onnx", "--out", "{tmp}/x"], "export"),
    ("nncf", ["export", "--model", "{model}", "--format", "openvino-int8", "--out", "{tmp}/x"], "export"),
    ("mteb", ["eval", "--model", "{model}", "--mteb", "{ir}"], "mteb"),
])
def test_a_missing_extra_is_one_line_naming_the_extra(module, args, extra, tiny_model, ir_set, tmp_path):
    corpus = ir_set / "corpus.jsonl"
    filled = [a.format(corpus=corpus, tmp=tmp_path, model=tiny_model, ir=ir_set) for a in args]
    done = densefit_without([module], *filled)
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"pip install 'densefit[{extra}]'" in done.stderr and "Traceback" not in done.stderr
    assert EXTRAS[module] == extra
    assert not (tmp_path / "x").exists()  # nothing half-made


@pytest.mark.slow
def test_the_base_install_trains_indexes_and_searches_without_any_extra(tiny_model, pairs_file, ir_set, tmp_path):
    heavy = list(EXTRAS)
    trained = densefit_without(heavy, "train", "--model", tiny_model, "--train", pairs_file, "--out", tmp_path / "run",
                               "--max-steps", "2", "--batch-size", "8", "--no-report", "--no-progress")
    assert trained.returncode == 0, trained.stderr[-3000:]
    store = tmp_path / "store"
    indexed = densefit_without(heavy, "index", "--model", tmp_path / "run" / "model", "--corpus",
                               ir_set / "corpus.jsonl", "--store", store, "--no-progress")
    assert indexed.returncode == 0, indexed.stderr[-3000:]
    found = densefit_without(heavy, "search", "some query", "--store", store, "-k", "2", "--json")
    assert found.returncode == 0, found.stderr[-3000:]
    assert len(json.loads(found.stdout)) == 2
