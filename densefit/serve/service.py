"""The request logic behind the routes: validate, queue for the batcher, shape the answer.

Shared by the OpenAI route, /search and SageMaker's /invocations, so the three
apply the same limits and return the same numbers.
"""

from __future__ import annotations

import base64
import gc

import numpy as np

from densefit.console import say
from densefit.serve.batching import DynamicBatcher
from densefit.serve.config import ServeConfig
from densefit.serve.engine import Engine, SearchParams
from densefit.serve.errors import ServeError
from densefit.serve.metrics import ServeMetrics


class Readiness:
    """loading -> ready; ready <-> failed as forward passes fail and succeed again."""

    def __init__(self, metrics: ServeMetrics) -> None:
        self.metrics = metrics
        self.loaded = False
        self.status, self.reason = "loading", "loading the model"
        metrics.ready.set(0)

    def set(self, status: str, reason: str | None = None) -> None:
        self.status, self.reason = status, reason
        self.metrics.ready.set(1 if status == "ready" else 0)

    def after_batch(self, exc: Exception | None) -> None:
        if exc is None:
            if self.loaded and self.status != "ready":
                self.set("ready")
            return
        self.metrics.model_failures.inc()
        self.set("failed", f"the last forward pass failed: {type(exc).__name__}")
        say(f"[red]serve: forward pass failed: {type(exc).__name__}: {exc}[/red]")

    @property
    def ready(self) -> bool:
        return self.status == "ready"


def as_texts(value) -> list[str]:
    """A string or a list of strings; token-id lists are refused with the fix."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or any(not isinstance(x, str) for x in value):
        raise ServeError("invalid", "input must be a string or a list of strings; token-id inputs are not "
                         "supported (LangChain's OpenAIEmbeddings: pass check_embedding_ctx_length=False)",
                         param="input")
    for i, text in enumerate(value):
        check_unicode(text, f"input[{i}]")
    return value


def check_unicode(text: str, where: str) -> None:
    """JSON can carry lone surrogates ("\\ud800") that no tokenizer or UTF-8 writer accepts: a 422, not a 500."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ServeError("invalid", f"{where} holds a lone surrogate at character {exc.start}, which is not valid "
                         "Unicode; send UTF-8 text", param=where) from None


class Service:
    def __init__(self, cfg: ServeConfig, engine: Engine, metrics: ServeMetrics) -> None:
        self.cfg, self.engine, self.metrics = cfg, engine, metrics
        self.state = Readiness(metrics)
        self.batcher = DynamicBatcher(engine.run, max_batch_tokens=cfg.max_batch_tokens,
                                      max_wait_ms=cfg.max_wait_ms, max_queue=cfg.max_queue,
                                      retry_after_s=cfg.retry_after_s, on_batch=metrics.observe_batch,
                                      on_depth=metrics.queue_depth.set, on_outcome=self.state.after_batch)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        await self.batcher.start()

    async def load(self) -> None:
        """Load in the model thread, warm up, then flip to ready; a failure is reported by /readyz."""
        try:
            await self.batcher.call_in_worker(self.engine.load)
            await self.batcher.call_in_worker(self.engine.warm_up)
        except Exception as exc:  # noqa: BLE001 - any load failure keeps the server unready, with the reason
            self.state.set("failed", f"loading failed: {type(exc).__name__}: {exc}")
            say(f"[red]serve: {self.state.reason}[/red]")
            return
        freeze_heap()
        self.state.loaded = True
        self.state.set("ready")
        say(f"serve: ready; models {list(self.engine.slots)}")

    async def stop(self) -> None:
        await self.batcher.stop(last=self.engine.close)  # stores were opened in the model thread

    def require_loaded(self) -> None:
        if not self.state.loaded:
            raise ServeError("unavailable", f"not ready: {self.state.reason}", retry_after=self.cfg.retry_after_s)

    # ------------------------------------------------------------------ embeddings

    def check_inputs(self, texts: list[str]) -> None:
        if not texts:
            raise ServeError("bad_request", "input is an empty list; send at least one text", param="input")
        if len(texts) > self.cfg.max_inputs:
            raise ServeError("invalid", f"input has {len(texts)} texts; the limit is {self.cfg.max_inputs} "
                             "(max_inputs)", param="input")

    async def embed(self, raw_input, model: str | None, dimensions: int | None = None, kind: str | None = None):
        """(name, vectors, tokens used) for a string or list of strings."""
        self.require_loaded()
        texts = as_texts(raw_input)
        self.check_inputs(texts)
        self.batcher.admit(len(texts))  # an overloaded server answers 429 before tokenising anything
        slot = self.engine.slot(model)
        texts, counts = self.engine.prepare(slot, texts)
        result = await self.batcher.submit(slot.name, texts, counts, payload=kind)
        return slot.name, truncate_dims(result["vectors"], dimensions), sum(counts)

    async def openai_embeddings(self, req) -> dict:
        name, vectors, tokens = await self.embed(req.input, req.model, req.dimensions, req.input_type)
        encode = encode_base64 if req.encoding_format == "base64" else (lambda v: v.tolist())
        data = [{"object": "embedding", "index": i, "embedding": encode(v)} for i, v in enumerate(vectors)]
        return {"object": "list", "data": data, "model": name,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}

    # ------------------------------------------------------------------ search

    async def search(self, query, k: int = 10, filter=None, model: str | None = None, rerank: bool = True,
                     mode: str = "dense", fusion: str = "rrf", weight: float = 0.5) -> dict:
        self.require_loaded()
        if not isinstance(query, str):
            raise ServeError("invalid", "query must be a string", param="query")
        check_unicode(query, "query")
        if not 1 <= k <= self.cfg.max_k:
            raise ServeError("invalid", f"k is {k}; it must be between 1 and {self.cfg.max_k} (max_k)", param="k")
        if filter is not None and not isinstance(filter, dict):
            raise ServeError("invalid", "filter must be an object of metadata field -> value", param="filter")
        slot = self.engine.slot(model, for_search=True)
        self.batcher.admit(1)
        texts, counts = self.engine.prepare(slot, [query], what="query")
        params = SearchParams(texts[0], k, filter or None, rerank, mode, fusion, weight)
        result = await self.batcher.submit(slot.name, texts, counts, payload=params)
        reranked = bool(rerank and self.engine.reranker is not None)
        return {"model": slot.name, "query": query, "k": k, "mode": mode, "reranked": reranked, "hits": result["hits"],
                "timings": result["timings"]}

    def info(self) -> dict:
        slots = self.engine.slots.values()
        return {"models": [{"name": s.name, "search": bool(s.store_uri), "backend": backend_of(s.encoder)}
                           for s in slots],
                "primary": self.engine.primary, "reranker": self.engine.reranker_name,
                "auth": self.cfg.api_key_env is not None, "max_k": self.cfg.max_k,
                "ready": self.state.ready}


def freeze_heap() -> None:
    """Move everything loaded so far (torch, the runtimes, the models) out of the garbage collector's reach.

    Python's full collections walk every tracked object. After loading, that is millions of
    long-lived objects, and under load the collector ran every second or two and held the GIL
    for about 200 ms each time: the event loop stalled, and even cheap 429s waited that long.
    Frozen objects are never walked again; objects made by requests are still collected.
    """
    gc.collect()
    gc.freeze()


def backend_of(encoder) -> str | None:
    """'torch', or the export format ('openvino', 'onnx-int8', ...) the encoder runs."""
    manifest = getattr(encoder, "manifest", None)
    return manifest.get("format") if manifest else getattr(encoder, "backend", None)


def truncate_dims(vectors: np.ndarray, dimensions: int | None) -> np.ndarray:
    """Keep the first `dimensions` columns and renormalise (Matryoshka-style); 422 above the model's size."""
    if dimensions is None or dimensions == vectors.shape[1]:
        return vectors
    if dimensions > vectors.shape[1]:
        raise ServeError("invalid", f"dimensions is {dimensions}; this model has {vectors.shape[1]}",
                         param="dimensions")
    cut = vectors[:, :dimensions]
    return cut / np.maximum(np.linalg.norm(cut, axis=1, keepdims=True), 1e-12)


def encode_base64(vector: np.ndarray) -> str:
    """OpenAI's base64 format: the little-endian float32 bytes."""
    return base64.b64encode(np.ascontiguousarray(vector, dtype="<f4").tobytes()).decode("ascii")


