"""Export with pooling and normalisation in the graph, parity recorded on every export, same encode API."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest

from densefit.errors import UnknownNameError
from densefit.evaluation.retrieval import retrieval_delta
from densefit.inference.encoder import Encoder
from densefit.inference.export import ExportConfig, export_model, get_variant
from densefit.inference.runtimes import MANIFEST, open_exported
from densefit.models import load_model

FORMATS = ("onnx", "onnx-int8", "openvino", "openvino-int8")
TEXTS = ["get file status", "open and possibly create a file", "x", "a much longer text " * 12]


@pytest.fixture(scope="module")
def exports(tiny_model, tmp_path_factory):
    from tests.conftest import make_ir_set

    ir = make_ir_set(tmp_path_factory.mktemp("ir") / "ir")
    root = tmp_path_factory.mktemp("exports")
    check = functools.partial(retrieval_delta, eval_dir=str(ir))  # what `densefit export --eval` passes
    return {fmt: (root / fmt, export_model(ExportConfig(model=tiny_model, format=fmt, out=str(root / fmt),
                                                        eval=str(ir), sample=48, calibration=16), check=check))
            for fmt in FORMATS}


def test_onnx_export_matches_torch_embeddings(tiny_model, exports):
    folder, manifest = exports["onnx"]
    reference = Encoder(load_model(tiny_model), precision="fp32").encode(TEXTS)
    exported = open_exported(folder)
    emb = exported.encode(TEXTS)
    assert emb.dtype == np.float32 and emb.shape == reference.shape
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)  # normalisation is inside the graph
    assert np.min(np.sum(emb * reference, axis=1)) > 0.9999
    assert exported.dimension == 32 and exported.precision == "fp32"
    assert manifest["parity"]["passed"] and manifest["parity"]["min_cosine"] > 0.9999


def test_openvino_fp32_export_keeps_torch_numbers(tiny_model, exports):
    folder, manifest = exports["openvino"]
    reference = Encoder(load_model(tiny_model), precision="fp32").encode(TEXTS)
    emb = open_exported(folder).encode(TEXTS)
    assert (folder / "model.xml").is_file() and not (folder / "model.onnx").exists()
    assert np.min(np.sum(emb * reference, axis=1)) > 0.9999 and manifest["parity"]["passed"]


def test_graph_has_no_pooling_inputs_beyond_ids_and_mask(exports):
    import onnx

    folder, _ = exports["onnx"]
    graph = onnx.load(str(folder / "model.onnx")).graph
    assert [i.name for i in graph.input] == ["input_ids", "attention_mask"]
    assert [o.name for o in graph.output] == ["embedding"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_export_records_parity_speed_size_and_metric_delta(exports, fmt):
    folder, manifest = exports[fmt]
    on_disk = json.loads((folder / MANIFEST).read_text())
    assert on_disk == manifest
    parity = manifest["parity"]
    assert 0.0 < parity["min_cosine"] <= parity["mean_cosine"] <= 1.0001
    assert parity["docs_per_s"] > 0 and parity["torch_docs_per_s"] > 0 and parity["sample"] == 48
    assert parity["passed"] == (parity["min_cosine"] >= 0.999)
    assert abs(parity["retrieval"]["delta"] - (parity["retrieval"]["export"] - parity["retrieval"]["torch"])) < 1e-9
    assert manifest["size_mb"] > 0 and manifest["precision"] == ("int8" if fmt.endswith("int8") else "fp32")
    emb = open_exported(folder).encode(TEXTS)
    assert emb.shape == (4, 32) and np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-4)


def test_no_staging_folders_are_left_behind(exports):
    root = next(iter(exports.values()))[0].parent
    assert sorted(p.name for p in root.iterdir()) == sorted(FORMATS)


def test_unknown_format_lists_the_valid_ones():
    with pytest.raises(UnknownNameError, match="onnx, onnx-int8, openvino, openvino-int8"):
        get_variant("tensorrt")


def test_export_cli_prints_the_comparison_table(tiny_model, tmp_path):
    from typer.testing import CliRunner

    from densefit.cli.app import app

    result = CliRunner().invoke(app, ["export", "--model", tiny_model, "--format", "onnx", "--out",
                                      str(tmp_path / "e"), "--sample", "16"])
    assert result.exit_code == 0, result.output
    assert "min cos" in result.output and "onnx" in result.output
    assert (Path(tmp_path / "e") / "model.onnx").is_file()


def test_models_with_layers_after_pooling_are_refused(tiny_model):
    from sentence_transformers.sentence_transformer.modules import Dense

    from densefit.errors import ConfigError
    from densefit.inference.graph import embedding_module

    model = load_model(tiny_model)
    model.append(Dense(32, 8))
    with pytest.raises(ConfigError, match="cannot export modules"):
        embedding_module(model)
