"""The static tier: a model2vec distillation behind the encoder contract, chosen by name only."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from densefit.inference import select
from densefit.inference.export import ExportConfig, export_model
from densefit.inference.runtimes import MANIFEST, open_exported
from densefit.inference.static import StaticEncoder

pytest.importorskip("model2vec")

TEXTS = ["get file status", "open and possibly create a file", "x", "a much longer text " * 12]


@pytest.fixture(scope="module")
def static_export(tiny_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("static") / "model"
    shutil.copytree(tiny_model, folder)
    manifest = export_model(ExportConfig(model=str(folder), format="static", out=str(folder / "exports" / "static"),
                                         sample=16))
    return folder, manifest


def test_static_export_writes_safetensors_and_records_its_speed(static_export):
    folder, manifest = static_export
    out = folder / "exports" / "static"
    assert (out / "model.safetensors").is_file() and not list(out.glob("*.bin")) and not list(out.glob("*.pkl"))
    assert manifest["format"] == "static" and manifest["runtime"] == "static" and manifest["size_mb"] > 0
    parity = manifest["parity"]
    assert parity["docs_per_s"] > 0 and parity["torch_docs_per_s"] > 0 and not parity["passed"]
    assert parity["min_cosine"] is None  # the tiny model keeps its 32 dimensions, yet PCA rotated them
    assert not list(folder.glob("exports/.*"))  # no staging folder left behind


def test_static_encoder_keeps_the_contract(static_export):
    folder, manifest = static_export
    encoder = open_exported(folder / "exports" / "static")
    assert isinstance(encoder, StaticEncoder) and encoder.dimension == manifest["dimension"]
    emb = encoder.encode(TEXTS)
    assert emb.dtype == np.float32 and emb.shape == (len(TEXTS), encoder.dimension)
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-4)
    backwards = encoder.encode(TEXTS[::-1])
    assert np.allclose(backwards[::-1], emb, atol=1e-6)           # rows follow the input order
    assert encoder.encode([]).shape == (0, encoder.dimension)
    assert not np.allclose(emb[0], emb[1])                        # different texts, different vectors


def test_auto_never_picks_the_static_tier_but_naming_it_does(static_export):
    folder, _ = static_export
    _, why = select.choose_variant(folder)
    assert "static" in why and "asked for" in why
    assert select.load_encoder(str(folder)).backend == "torch"
    assert isinstance(select.load_encoder(str(folder), backend="static"), StaticEncoder)


def test_index_then_search_with_the_static_export_in_separate_processes(static_export, tmp_path):
    from tests.conftest import write_jsonl

    folder, _ = static_export
    model = str(folder / "exports" / "static")
    docs = [{"_id": f"d{i}", "text": t} for i, t in enumerate(
        ["change the permissions of a file", "list the open network sockets", "show the kernel ring buffer"])]
    corpus = write_jsonl(tmp_path / "docs.jsonl", docs)
    store = tmp_path / "store"
    cli = [sys.executable, "-c", "from densefit.cli.app import main; main()"]
    done = subprocess.run([*cli, "index", "--corpus", str(corpus), "--store", str(store), "--model", model],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    found = subprocess.run([*cli, "search", "list the open network sockets", "--store", str(store), "--model", model,
                            "-k", "1", "--json"], capture_output=True, text=True)
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)[0]["id"] == "d1"  # the exact text shares every token with d1


def test_export_cli_reports_the_static_tiers_quality_and_why_auto_skips_it(tiny_model, tmp_path):
    from typer.testing import CliRunner

    from densefit.cli.app import app
    from tests.conftest import make_ir_set

    ir = make_ir_set(tmp_path / "ir")
    result = CliRunner().invoke(app, ["export", "--model", tiny_model, "--format", "static", "--out",
                                      str(tmp_path / "s"), "--sample", "16", "--eval", str(ir)])
    assert result.exit_code == 0, result.output
    assert "other space" in result.output and "mrr@10" in result.output  # no cosine: a space of its own
    manifest = json.loads((tmp_path / "s" / MANIFEST).read_text())
    assert manifest["parity"]["retrieval"]["metric"] and manifest["parity"]["retrieval"]["delta"] is not None
