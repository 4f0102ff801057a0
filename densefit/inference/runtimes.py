"""Encoders for exported variants (ONNX Runtime, OpenVINO; model2vec in inference/static.py) with the torch
Encoder's API.

Each reads a folder written by `densefit.inference.export`: the graph (pooling and
L2 normalisation inside), the tokenizer and `densefit-export.json`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from densefit.console import progress
from densefit.errors import ModelLoadError, require
from densefit.inference.batching import length_batches, padded_batch, token_lengths
from densefit.registry import Registry

MANIFEST = "densefit-export.json"
DEFAULT_BATCH_SIZE = 32


def read_manifest(folder: str | os.PathLike) -> dict:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise ModelLoadError(f"'{folder}' is not a densefit export: {MANIFEST} is missing. "
                             "Fix: create it with `densefit export --model M --format onnx --out DIR`")
    return json.loads(path.read_text())


def default_threads() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


class ExportedEncoder:
    """Tokenise, batch by token length, run the exported graph, restore input order."""

    backend = "exported"
    same_space = True    # its vectors compare with the torch model's (parity is a cosine)

    def __init__(self, folder: str | os.PathLike, *, batch_size: int = DEFAULT_BATCH_SIZE,
                 threads: int | None = None) -> None:
        from transformers import AutoTokenizer

        self.folder = Path(folder)
        self.manifest = read_manifest(folder)
        self.model = str(self.folder)
        self.precision = self.manifest.get("precision", "fp32")
        self.batch_size = batch_size
        self.max_length = int(self.manifest["max_seq_length"])
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.folder / "tokenizer"))
        self._load(threads or default_threads())

    @property
    def dimension(self) -> int:
        return int(self.manifest["dimension"])

    @property
    def prompts(self) -> dict[str, str]:
        return dict(self.manifest.get("prompts") or {})

    def _load(self, threads: int) -> None:
        raise NotImplementedError

    def _run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def encode(self, texts: list[str], *, show_progress: bool = False, batch_size: int | None = None,
               kind: str | None = None) -> np.ndarray:
        """L2-normalised float32 embeddings, one row per text, in input order; `kind` adds the model's prompt."""
        prompt = self.prompts.get(kind, "") if kind else ""
        texts = [prompt + t for t in texts] if prompt else list(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        size = batch_size or self.batch_size
        if len(texts) <= size:  # one batch (a server's usual case): no need to sort, skip a tokenizer pass
            batches = [np.arange(len(texts))]
        else:
            batches = list(length_batches(token_lengths(self.tokenizer, texts, self.max_length), size))
        if not show_progress:  # the hot path (serving): no bar to build
            for idx in batches:
                out[idx] = self._run(padded_batch(self.tokenizer, [texts[i] for i in idx], self.max_length))
            return out
        with progress("encode", len(texts), "texts") as advance:
            for idx in batches:
                out[idx] = self._run(padded_batch(self.tokenizer, [texts[i] for i in idx], self.max_length))
                advance(len(idx))
        return out


class OnnxEncoder(ExportedEncoder):
    backend = "onnx"

    def _load(self, threads: int) -> None:
        ort = require("onnxruntime", f"the ONNX export at '{self.folder}'")

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(self.folder / self.manifest["file"]), options,
                                            providers=["CPUExecutionProvider"])

    def _run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        return self.session.run(None, feeds)[0]


class OpenVinoEncoder(ExportedEncoder):
    backend = "openvino"

    def _load(self, threads: int) -> None:
        ov = require("openvino", f"the OpenVINO export at '{self.folder}'")

        core = ov.Core()
        config = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"}
        self.compiled = core.compile_model(core.read_model(str(self.folder / self.manifest["file"])), "CPU", config)

    def _run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        return np.asarray(self.compiled(feeds)[0], dtype=np.float32)


RUNTIMES = Registry("export runtime", {"onnx": OnnxEncoder, "openvino": OpenVinoEncoder,
                                       "static": "densefit.inference.static:StaticEncoder"})


def open_exported(folder: str | os.PathLike, **kwargs) -> ExportedEncoder:
    """The encoder for an export folder, by the runtime its manifest names."""
    return RUNTIMES.get(read_manifest(folder).get("runtime", "onnx"))(folder, **kwargs)
