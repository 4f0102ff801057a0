"""The encoder contract (`TextEncoder`) and its torch implementation (`Encoder`).

Every layer that embeds text holds a TextEncoder and gets it from the one loader,
`densefit.inference.select.load_encoder` (or `as_encoder` for a model already in
memory). The torch Encoder owns precision and batching; the exported runtimes
(`inference/runtimes.py`) implement the same contract. So training-time eval,
eval, index, search, batch encode and serve embed the same text the same way.
"""

from __future__ import annotations

import contextlib
from typing import Any, Protocol, runtime_checkable

import numpy as np

from densefit.console import progress
from densefit.inference.precision import resolve_precision

DEFAULT_BATCH_SIZE = 64


def autocast_context(precision: str, device: str):
    """torch autocast for bf16/fp16; a no-op for fp32."""
    import torch

    if precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.split(":")[0], dtype=dtype)


@runtime_checkable
class TextEncoder(Protocol):
    """What every encoder gives: L2-normalised float32 rows in input order, and what it is."""

    backend: str        # "torch", "onnx", "openvino"
    precision: str      # "fp32", "bf16", "fp16", "int8"
    batch_size: int
    model: Any          # the SentenceTransformer (torch), or the export folder

    @property
    def dimension(self) -> int: ...

    @property
    def max_length(self) -> int: ...

    @property
    def tokenizer(self) -> Any: ...

    @property
    def prompts(self) -> dict[str, str]: ...  # kind ("query", "document") -> the text put before it

    def encode(self, texts: list[str], *, show_progress: bool = False, batch_size: int | None = None,
               kind: str | None = None) -> np.ndarray: ...


KINDS = ("query", "document")
# sentence-transformers' prompt names for each kind (encode_query / encode_document look them up the same way)
PROMPT_NAMES = {"query": ("query",), "document": ("document", "passage", "corpus")}


def prompts_of(configured: dict | None) -> dict[str, str]:
    """{"query": ..., "document": ...} from a model's prompts dict (only the kinds it has)."""
    configured = configured or {}
    found = {kind: next((configured[n] for n in names if configured.get(n)), None) for kind, names in
             PROMPT_NAMES.items()}
    return {kind: text for kind, text in found.items() if text}


class Encoder:
    """Wraps a SentenceTransformer with densefit's precision and batching defaults."""

    backend = "torch"

    def __init__(self, model, *, precision: str = "auto", batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.model = model
        self.device = str(model.device)
        self.precision = resolve_precision(precision, self.device)
        self.batch_size = batch_size

    @property
    def dimension(self) -> int:
        return self.model.get_embedding_dimension()

    @property
    def tokenizer(self):
        return self.model.tokenizer

    @property
    def max_length(self) -> int:
        return int(self.model.max_seq_length or 512)

    @property
    def prompts(self) -> dict[str, str]:
        return prompts_of(getattr(self.model, "prompts", None))

    def encode(self, texts: list[str], *, show_progress: bool = False, batch_size: int | None = None,
               kind: str | None = None) -> np.ndarray:
        """L2-normalised float32 embeddings, one row per text, in input order. `kind` "query" or "document"
        puts the model's prompt for that kind first (sentence-transformers' own prompt handling)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        import torch

        texts, size = list(texts), batch_size or self.batch_size
        prompt = self.prompts.get(kind) if kind else None  # None: the model's own default, as before
        if not show_progress:  # the hot path (serving, small batches): no bar to build
            with torch.inference_mode(), autocast_context(self.precision, self.device):
                emb = self.model.encode(texts, batch_size=size, normalize_embeddings=True, convert_to_numpy=True,
                                        show_progress_bar=False, prompt=prompt)
            return np.asarray(emb, dtype=np.float32)
        chunk, parts = max(size * 16, 512), []  # the bar advances once per chunk
        with torch.inference_mode(), autocast_context(self.precision, self.device), \
                progress("encode", len(texts), "texts") as advance:
            for start in range(0, len(texts), chunk):
                part = texts[start:start + chunk]
                parts.append(self.model.encode(part, batch_size=size, normalize_embeddings=True,
                                               convert_to_numpy=True, show_progress_bar=False, prompt=prompt))
                advance(len(part))
        return np.asarray(np.concatenate(parts) if len(parts) > 1 else parts[0], dtype=np.float32)
