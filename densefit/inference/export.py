"""Export a model to ONNX / ONNX int8 / OpenVINO fp32 / OpenVINO int8, with pooling and normalisation in the graph,
or distil it into static embeddings (model2vec; densefit/inference/static.py).

Every export is checked against the torch model (`densefit.inference.parity`) and
the figures go into the folder's `densefit-export.json`, which is what lets
`densefit.load(..., backend="auto")` trust a variant. The folder appears whole
or not at all (staged, then renamed).
"""

from __future__ import annotations

import dataclasses
import shutil
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from densefit.console import say
from densefit.errors import require
from densefit.inference.batching import padded_batch
from densefit.inference.encoder import prompts_of
from densefit.inference.runtimes import MANIFEST
from densefit.io import publish_dir, staged_dir, write_json_atomic
from densefit.registry import Registry

ONNX_FILE, OPENVINO_FILE, OPSET = "model.onnx", "model.xml", 17


@dataclass(frozen=True)
class Variant:
    name: str
    runtime: str
    file: str
    precision: str
    build: Callable[[Path, object, list[dict]], None]
    help: str = ""
    traced: bool = True   # built from the ONNX trace (fp32 graph, calibration feeds); else from the model itself


@dataclass
class ExportConfig:
    model: str = field(default="default", metadata={"help": "Model to export: 'default', a folder or a hub id."})
    format: str = field(default="onnx", metadata={"help": "onnx | onnx-int8 | openvino | openvino-int8 | static "
                                                          "(model2vec, a distilled model chosen by name only)."})
    out: str = field(default="", metadata={"help": "Folder to write (replaced atomically if it exists). Default: "
                                           "MODEL/exports/FORMAT for a folder you own, else the user cache."})
    max_seq_length: int | None = field(default=None, metadata={"help": "Token limit baked into the export."})
    eval: str | None = field(default=None, metadata={"help": "BEIR folder: report the metric delta vs torch."})
    sample: int = field(default=256, metadata={"help": "Texts in the parity sample (min cosine vs torch)."})
    calibration: int = field(default=64, metadata={"help": "Texts used to calibrate static int8 quantisation."})


def trace_onnx(module, tokenizer, path: Path, max_length: int) -> None:
    """torch.onnx.export (the TorchScript exporter) with dynamic batch and sequence axes."""
    import torch

    feeds = padded_batch(tokenizer, ["densefit export", "a second, longer example text"], max_length)
    args = (torch.from_numpy(feeds["input_ids"]), torch.from_numpy(feeds["attention_mask"]))
    axes = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
            "embedding": {0: "batch"}}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about shape-dependent Python branches; parity checks them
        torch.onnx.export(module, args, str(path), input_names=["input_ids", "attention_mask"],
                          output_names=["embedding"], dynamic_axes=axes, opset_version=OPSET, dynamo=False)


def _build_onnx(stage: Path, fp32_onnx: Path, calibration: list[dict]) -> None:
    fp32_onnx.rename(stage / ONNX_FILE)


def _build_onnx_int8(stage: Path, fp32_onnx: Path, calibration: list[dict]) -> None:
    """Dynamic int8: int8 weights per channel for the MatMuls, activations quantised on the fly."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32_onnx), str(stage / ONNX_FILE), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"])
    fp32_onnx.unlink()


def _build_openvino(stage: Path, fp32_onnx: Path, calibration: list[dict]) -> None:
    """OpenVINO IR with fp32 weights (no fp16 compression): same numbers as torch, less per-call overhead."""
    import openvino as ov

    ov.save_model(ov.Core().read_model(str(fp32_onnx)), str(stage / OPENVINO_FILE), compress_to_fp16=False)
    fp32_onnx.unlink()


def _build_openvino_int8(stage: Path, fp32_onnx: Path, calibration: list[dict]) -> None:
    """Static int8 with NNCF's transformer preset (SmoothQuant), calibrated on sample texts."""
    import nncf
    import openvino as ov

    model = ov.Core().read_model(str(fp32_onnx))
    quantized = nncf.quantize(model, nncf.Dataset(calibration), model_type=nncf.ModelType.TRANSFORMER,
                              subset_size=max(1, len(calibration)))
    ov.save_model(quantized, str(stage / OPENVINO_FILE))
    fp32_onnx.unlink()


def _build_static(stage: Path, model, texts: list[str]) -> None:
    """Built from the model, not the trace: see densefit/inference/static.py."""
    from densefit.inference.static import build_static

    build_static(stage, model, texts)


VARIANTS = Registry("export format", {v.name: v for v in (
    Variant("onnx", "onnx", ONNX_FILE, "fp32", _build_onnx, "ONNX Runtime, fp32"),
    Variant("onnx-int8", "onnx", ONNX_FILE, "int8", _build_onnx_int8, "ONNX Runtime, dynamic int8 weights"),
    Variant("openvino", "openvino", OPENVINO_FILE, "fp32", _build_openvino, "OpenVINO, fp32"),
    Variant("openvino-int8", "openvino", OPENVINO_FILE, "int8", _build_openvino_int8,
            "OpenVINO, static int8 (NNCF)"),
    Variant("static", "static", "model.safetensors", "fp16", _build_static,
            "model2vec static embeddings distilled from the model (chosen by name only)", traced=False),
)})


NEEDS = {"onnx": ("onnx", "onnxruntime"), "onnx-int8": ("onnx", "onnxruntime"),  # optional packages per format
         "openvino": ("onnx", "openvino"), "openvino-int8": ("onnx", "openvino", "nncf"), "static": ("model2vec",)}


def get_variant(name: str) -> Variant:
    return VARIANTS.get(name)


def calibration_feeds(tokenizer, texts: Sequence[str], max_length: int, batch: int = 8) -> list[dict]:
    texts = list(texts)
    return [padded_batch(tokenizer, texts[i:i + batch], max_length) for i in range(0, len(texts), batch)]


def write_variant(model, variant: Variant, out: Path, calibration_texts: Sequence[str]) -> Path:
    """Write the graph, tokenizer and a partial manifest into `out` (staged, then renamed into place)."""
    from densefit.inference.graph import embedding_module

    out.parent.mkdir(parents=True, exist_ok=True)
    stage = staged_dir(out.parent, f".{out.name}.")
    try:
        max_length = int(model.max_seq_length)
        tokenizer = model.tokenizer
        if variant.traced:
            fp32_onnx = stage / "fp32.onnx"
            trace_onnx(embedding_module(model), tokenizer, fp32_onnx, max_length)
            variant.build(stage, fp32_onnx, calibration_feeds(tokenizer, calibration_texts, max_length))
        else:
            variant.build(stage, model, list(calibration_texts))
        tokenizer.save_pretrained(str(stage / "tokenizer"))
        write_json_atomic(stage / MANIFEST, {
            "format": variant.name, "runtime": variant.runtime, "file": variant.file,
            "precision": variant.precision, "max_seq_length": max_length,
            "dimension": _dimension(stage, variant, model), "prompts": prompts_of(getattr(model, "prompts", None)),
            "parity": None})
        publish_dir(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return out


def _dimension(stage: Path, variant: Variant, model) -> int:
    if variant.runtime == "static":  # PCA may shrink it: the saved table says
        import json

        return int(json.loads((stage / "config.json").read_text())["hidden_dim"])
    return int(model.get_embedding_dimension())


def folder_size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def default_out(model: str, fmt: str) -> Path:
    """Where an export goes without --out: where backend=auto looks for it (never under site-packages)."""
    from densefit.errors import ConfigError
    from densefit.inference.locations import writable_exports_dir
    from densefit.models import resolve_model

    resolved = resolve_model(model)
    if not Path(resolved).is_dir():
        raise ConfigError(f"'{model}' is not a local folder, so its exports have no default place. Fix: pass --out")
    return writable_exports_dir(resolved) / fmt


def export_model(cfg: ExportConfig, sample_texts: Sequence[str] | None = None, check=None) -> dict:
    """Export, run the parity check, record it in the manifest; returns the manifest.

    `check(torch_encoder, exported_encoder) -> dict` adds a quality delta to the parity record (the
    CLI passes `evaluation.retrieval.retrieval_delta` on --eval); inference itself never evaluates."""
    from densefit.inference.parity import sample_corpus
    from densefit.models import load_model

    variant = get_variant(cfg.format)
    for module in NEEDS[variant.name]:  # a missing extra fails before any work
        require(module, f"densefit export --format {variant.name}")
    if not cfg.out:
        cfg = dataclasses.replace(cfg, out=str(default_out(cfg.model, variant.name)))
    model = load_model(cfg.model, max_seq_length=cfg.max_seq_length)
    texts = list(sample_texts) if sample_texts is not None else sample_corpus(cfg.eval, cfg.sample + cfg.calibration)
    calib, sample = texts[cfg.sample:] or texts, texts[:cfg.sample]
    say(f"export: {cfg.model} as {variant.name} ({variant.help}) into {cfg.out}")
    out = write_variant(model, variant, Path(cfg.out), calib)
    return _finish_manifest(out, cfg, model, sample, check)


def _finish_manifest(out: Path, cfg: ExportConfig, model, sample: list[str], check=None) -> dict:
    import json

    from densefit.inference.parity import parity_report

    manifest = json.loads((out / MANIFEST).read_text())
    manifest["source_model"] = str(cfg.model)
    manifest["parity"] = parity_report(model, out, sample, check)
    manifest["size_mb"] = round(folder_size_mb(out), 2)
    write_json_atomic(out / MANIFEST, manifest)
    return manifest


def min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.min(np.sum(a * b, axis=1))) if len(a) else 1.0
