"""backend=auto picks an export only where parity is proven on this hardware; never a lossy one."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from densefit.api import load
from densefit.errors import ModelLoadError, UnknownNameError
from densefit.inference import select
from densefit.inference.encoder import Encoder
from densefit.inference.export import ExportConfig, export_model
from densefit.inference.runtimes import MANIFEST, OnnxEncoder


@pytest.fixture(scope="module")
def model_with_export(tiny_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sel") / "model"
    shutil.copytree(tiny_model, folder)
    export_model(ExportConfig(model=str(folder), format="onnx", out=str(folder / "exports" / "onnx"), sample=16))
    return folder


def _edit_parity(folder, **changes):
    path = folder / "exports" / "onnx" / MANIFEST
    manifest = json.loads(path.read_text())
    manifest["parity"].update(changes)
    path.write_text(json.dumps(manifest))


@pytest.fixture
def proven(model_with_export):
    _edit_parity(model_with_export, speedup=2.0, min_cosine=0.99999)
    return model_with_export


def test_auto_picks_a_proven_faster_export(proven):
    encoder = load(str(proven))
    assert isinstance(encoder, OnnxEncoder)
    emb = encoder.encode(["get file status", "open a file"])
    assert emb.shape == (2, encoder.dimension) and emb.dtype == np.float32


def test_auto_refuses_an_export_below_the_cosine_bar(proven):
    _edit_parity(proven, min_cosine=0.93)
    assert isinstance(load(str(proven)), Encoder)
    folder, why = select.choose_variant(proven)
    assert folder is None and "min cosine 0.9300 < 0.999" in why


def test_auto_refuses_a_variant_measured_on_other_hardware_or_not_faster(proven):
    _edit_parity(proven, machine={"cpu": "elsewhere", "cores": 2, "isa": ["amx_bf16"]})
    assert select.choose_variant(proven)[0] is None
    _edit_parity(proven, machine=select.machine_signature(), speedup=0.8)
    assert "not faster" in select.choose_variant(proven)[1]


def test_explicit_backends_and_torch_keep_the_encoder_api(proven):
    torch_enc = load(str(proven), backend="torch", precision="fp32")
    onnx_enc = load(str(proven), backend="onnx")
    assert isinstance(torch_enc, Encoder) and torch_enc.precision == "fp32" and torch_enc.model is not None
    texts = ["socket options", "wait for a process"]
    cos = np.sum(torch_enc.encode(texts) * onnx_enc.encode(texts, batch_size=1), axis=1)
    assert cos.min() > 0.9999


def test_missing_named_export_says_how_to_make_it(proven):
    with pytest.raises(ModelLoadError, match="densefit export --model .* --format openvino-int8"):
        load(str(proven), backend="openvino-int8")


def test_unknown_backend_lists_choices(proven):
    with pytest.raises(UnknownNameError, match="onnx-int8"):
        select.load_encoder(str(proven), backend="tensorrt")


def test_model_without_exports_uses_torch(tiny_model):
    assert select.choose_variant(tiny_model) == (None, "backend torch (no exports found)")
    assert isinstance(select.load_encoder(tiny_model), Encoder)
