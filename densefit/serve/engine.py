"""What the server runs: the model(s), their stores, the optional reranker, and one batch at a time.

`Engine.run(jobs)` is the dynamic batcher's runner: it embeds every text of the
batch in the fewest padded tokens (texts of similar length share a forward
pass), then answers the search jobs with one `search_vectors` call per
(model, filter), then reranks all their candidates with one CrossEncoder call.
It runs in the batcher's single model thread.
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from densefit.console import say
from densefit.errors import DensefitError
from densefit.index.errors import FilterError
from densefit.inference.batching import cheapest_passes
from densefit.serve.config import ServeConfig
from densefit.serve.errors import ServeError


@dataclass
class SearchParams:
    query: str
    k: int
    filter: dict | None = None
    rerank: bool = True
    mode: str = "dense"      # dense | lexical | hybrid
    fusion: str = "rrf"
    weight: float = 0.5


def kind_of(job) -> str | None:
    """A search job embeds a query; an embeddings job the kind its request named (input_type), else none."""
    return "query" if isinstance(job.payload, SearchParams) else job.payload if isinstance(job.payload, str) else None


def lexical_only(job) -> bool:
    """A lexical search: answered from the store's BM25 index alone, so its query is not embedded."""
    return isinstance(job.payload, SearchParams) and job.payload.mode == "lexical"


@dataclass
class ModelSlot:
    """One served model: its API name, its Encoder, its store and a private tokenizer for counting."""

    name: str
    spec: str | None
    store_uri: str | None
    encoder: Any = None
    index: Any = None
    counter: Any = None
    max_tokens: int = 512
    fields: set[str] | None = None  # metadata fields in the store (None: the backend cannot tell)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Tokens per text (special tokens included), untruncated; a private tokenizer copy, one user at a time."""
        with self.lock:
            ids = self.counter(texts, add_special_tokens=True, truncation=False, return_attention_mask=False,
                               return_token_type_ids=False, verbose=False)["input_ids"]
        return [len(x) for x in ids]


def display_name(spec: str | None, fallback: str) -> str:
    if not spec or spec == "default":
        return fallback
    path = Path(spec)
    if path.is_dir():
        return path.name if path.name != "model" else path.parent.name
    return spec


class Engine:
    def __init__(self, cfg: ServeConfig) -> None:
        self.cfg = cfg
        primary = ModelSlot(cfg.model_name or display_name(cfg.model, "default"), cfg.model, cfg.store)
        self.slots: dict[str, ModelSlot] = {primary.name: primary}
        if cfg.compare_model:
            name = cfg.compare_name or display_name(cfg.compare_model, "compare")
            name = name if name != primary.name else f"{name}-compare"
            self.slots[name] = ModelSlot(name, cfg.compare_model, cfg.compare_store)
        self.primary = primary.name
        self.reranker = None
        self.reranker_name = cfg.reranker

    # ------------------------------------------------------------------ loading

    def load(self) -> None:
        """Load every model, store and the reranker (runs in a thread at start-up)."""
        if self.cfg.threads:
            import torch

            torch.set_num_threads(self.cfg.threads)
        for slot in self.slots.values():
            self._load_slot(slot)
        if self.cfg.reranker:
            self.reranker = load_reranker(self.cfg.reranker)

    def _load_slot(self, slot: ModelSlot) -> None:
        """Load the encoder, then open its store with it (the store checks it is the model that built it)."""
        from densefit.inference.select import load_encoder

        if slot.store_uri and not slot.spec:
            slot.spec = recorded_model(slot.store_uri)
        slot.spec = slot.spec or "default"
        say(f"serve: loading model '{slot.spec}' as '{slot.name}'" + (f" with store {slot.store_uri}"
                                                                     if slot.store_uri else ""))
        slot.encoder = load_encoder(slot.spec, precision=self.cfg.precision, backend=self.cfg.backend,
                                    threads=self.cfg.threads)
        if self.cfg.backend == "auto" and slot.encoder.backend == "torch":
            say(f"serve: '{slot.name}' runs on torch; `densefit export --model {slot.spec} --format openvino` "
                "makes an export that auto picks once its parity check passes (about 3x lower single-query "
                "latency on CPU, see docs/benchmarks.md)")
        slot.counter = copy.deepcopy(slot.encoder.tokenizer)
        slot.max_tokens = slot.encoder.max_length
        if slot.store_uri:
            from densefit.index import Index

            slot.index = Index.open(slot.store_uri, model=slot.encoder)
            slot.fields = slot.index.metadata_fields()

    def warm_up(self) -> None:
        """One real forward pass per model (and search, and rerank): readiness depends on it."""
        for slot in self.slots.values():
            vec = slot.encoder.encode(["densefit warm-up query"])
            if slot.index is not None:
                slot.index.search_vectors(vec, k=1)
        if self.reranker is not None:
            self.reranker.predict([("densefit warm-up query", "a passage")])

    def close(self) -> None:
        for slot in self.slots.values():
            if slot.index is not None:
                slot.index.close()

    # ------------------------------------------------------------------ request side

    def slot(self, model: str | None, *, for_search: bool = False) -> ModelSlot:
        """The slot a request names (None: the primary model). An unknown name is refused, naming the served
        ones: 404 model_not_found for embeddings, as OpenAI answers; 422 for search, like any unknown field."""
        if model is not None and not isinstance(model, str):
            raise ServeError("invalid", f"model must be a string, got {type(model).__name__}", param="model")
        if model is not None and model not in self.slots:
            raise ServeError("invalid" if for_search else "model_not_found",
                             f"model '{model}' is not served here; served: {', '.join(self.slots)}", param="model")
        slot = self.slots[model or self.primary]
        if for_search and slot.index is None:
            hint = "--store" if slot.name == self.primary else "--compare-store"
            raise ServeError("not_found", f"no store is attached to model '{slot.name}'; start the server with "
                             f"{hint} URI to enable search")
        return slot

    def prepare(self, slot: ModelSlot, texts: list[str], what: str = "input") -> tuple[list[str], list[int]]:
        """Apply the character/token limits: cut when truncation is on, else 422 naming value and limit."""
        cfg = self.cfg
        for i, text in enumerate(texts):
            if not text:
                raise ServeError("bad_request", f"{what}[{i}] is an empty string")
            if len(text) > cfg.max_input_chars and not cfg.truncate:
                raise ServeError("invalid", f"{what}[{i}] has {len(text)} characters; the limit is "
                                 f"{cfg.max_input_chars} (max_input_chars), and truncation is off")
        texts = [t[:cfg.max_input_chars] for t in texts]
        counts = slot.count_tokens(texts)
        limit = cfg.max_input_tokens or slot.max_tokens
        if not cfg.truncate:
            for i, n in enumerate(counts):
                if n > limit:
                    raise ServeError("invalid", f"{what}[{i}] has {n} tokens; the limit is {limit} "
                                     "(max_input_tokens), and truncation is off")
        return texts, [min(n, slot.max_tokens) for n in counts]

    # ------------------------------------------------------------------ the batch runner

    def run(self, jobs: list) -> list[Any]:
        slot = self.slots[jobs[0].group]
        embed = [job for job in jobs if not lexical_only(job)]  # BM25 search needs no query vector
        texts = [t for job in embed for t in job.texts]
        start = time.perf_counter()
        vectors = self._embed_kinds(slot, texts, [n for job in embed for n in job.lengths],
                                    [kind_of(job) for job in embed for _ in job.texts]) if texts else None
        timing = {"embed_ms": (time.perf_counter() - start) * 1000, "batch_texts": len(texts)}
        parts, at = {}, 0
        for job in embed:
            parts[id(job)] = vectors[at:at + len(job.texts)]
            at += len(job.texts)
        results: list[Any] = [{"vectors": parts.get(id(job)), "timings": dict(timing)} for job in jobs]
        searches = [i for i, job in enumerate(jobs) if isinstance(job.payload, SearchParams)]
        if searches:
            qvecs = [parts[id(jobs[i])][0] if id(jobs[i]) in parts else None for i in searches]
            self._search(slot, [jobs[i].payload for i in searches], qvecs, searches, results, timing)
        return results

    def _embed_kinds(self, slot: ModelSlot, texts: list[str], lengths: list[int], kinds: list) -> np.ndarray:
        """Queries, documents and plain texts get their own prompt, so each kind is embedded on its own."""
        if len(set(kinds)) == 1:
            return self._embed(slot, texts, lengths, kinds[0])
        out: np.ndarray | None = None
        for kind in dict.fromkeys(kinds):
            idx = [i for i, k in enumerate(kinds) if k == kind]
            part = self._embed(slot, [texts[i] for i in idx], [lengths[i] for i in idx], kind)
            out = np.empty((len(texts), part.shape[1]), dtype=np.float32) if out is None else out
            out[idx] = part
        return out

    def _embed(self, slot: ModelSlot, texts: list[str], lengths: list[int], kind: str | None = None) -> np.ndarray:
        """Embed in the cheapest forward passes (similar lengths together, each within the token budget).

        One pass padded to the batch's longest text makes a burst of short queries pay for one long one,
        and bursts are when time matters most. Measured on 2 cores (OpenVINO MiniLM, real queries), mean
        time per batch of 32: 57 ms in one pass, 41 ms split; of 48: 96 ms and 60 ms."""
        out: np.ndarray | None = None
        for idx in cheapest_passes(lengths, self.cfg.max_batch_tokens):
            vectors = slot.encoder.encode([texts[i] for i in idx], batch_size=len(idx), kind=kind)
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[idx] = vectors
        return out

    def _search(self, slot, params: list[SearchParams], qvecs, where: list[int], results, timing) -> None:
        start = time.perf_counter()
        hits = self._retrieve(slot, params, qvecs)
        search_ms = (time.perf_counter() - start) * 1000
        start = time.perf_counter()
        hits = self._rerank(params, hits)
        reranked = self.reranker is not None and any(p.rerank for p in params)
        rerank_ms = (time.perf_counter() - start) * 1000 if reranked else None
        for n, i in enumerate(where):
            t = {**timing, "search_ms": search_ms}
            if rerank_ms is not None:
                t["rerank_ms"] = rerank_ms
            results[i] = hits[n] if isinstance(hits[n], Exception) else {"hits": hits[n], "timings": t}

    def _depth(self, p: SearchParams) -> int:
        return max(p.k, self.cfg.rerank_top_n) if self.reranker is not None and p.rerank else p.k

    def _retrieve(self, slot, params: list[SearchParams], qvecs) -> list:
        """One search_vectors call for all plain dense queries; one call per other query (its error is its own)."""
        out: list[Any] = [None] * len(params)
        plain = [i for i, p in enumerate(params) if not p.filter and p.mode == "dense"]
        if plain:
            depth = max(self._depth(params[i]) for i in plain)
            found = slot.index.search_vectors(np.stack([qvecs[i] for i in plain]), k=depth)
            for i, hits in zip(plain, found):
                out[i] = list(hits)[:self._depth(params[i])]
        for i, p in enumerate(params):
            if p.filter or p.mode != "dense":
                try:
                    if p.filter:
                        self._check_fields(slot, p.filter)
                    out[i] = self._retrieve_one(slot, p, qvecs[i])
                except ServeError as exc:
                    out[i] = exc
                except DensefitError as exc:
                    param = "mode" if p.mode != "dense" and not isinstance(exc, FilterError) else "filter"
                    out[i] = ServeError("invalid", f"{param}: {exc}", param=param)
        return out

    def _retrieve_one(self, slot, p: SearchParams, qvec) -> list:
        if p.mode == "lexical":
            return list(slot.index.search_lexical([p.query], k=self._depth(p), filter=p.filter)[0])
        if p.mode == "hybrid":
            return list(slot.index.search_hybrid([p.query], qvec[None, :], k=self._depth(p), filter=p.filter,
                                                 fusion=p.fusion, weight=p.weight)[0])
        return list(slot.index.search_vectors(qvec[None, :], k=self._depth(p), filter=p.filter)[0])

    @staticmethod
    def _check_fields(slot: ModelSlot, filter: dict) -> None:
        """A filter on a field no stored row has is a typo, not an empty result: 422 naming it. The field list
        is read again once before refusing, since another process may have added rows since it was read."""
        if slot.fields is None or set(filter) <= slot.fields:
            return
        slot.fields = slot.index.metadata_fields()
        unknown = sorted(set(filter) - (slot.fields or set(filter)))
        if unknown:
            raise ServeError("invalid", f"filter field {', '.join(map(repr, unknown))} is in no stored row; fields: "
                             f"{', '.join(sorted(slot.fields)) or 'none'}", param="filter")

    def _rerank(self, params: list[SearchParams], hits: list) -> list:
        """Reorder each query's candidates by CrossEncoder score (one predict call for the batch); keep top k."""
        todo = [i for i, p in enumerate(params)
                if self.reranker is not None and p.rerank and not isinstance(hits[i], Exception) and hits[i]]
        pairs = [(params[i].query, h.text) for i in todo for h in hits[i]]
        scores = self.reranker.predict(pairs, batch_size=64) if pairs else []
        out = [h if isinstance(h, Exception) else [hit_dict(x) for x in h[:params[n].k]]
               for n, h in enumerate(hits)]
        at = 0
        for i in todo:
            cand = hits[i]
            s = scores[at:at + len(cand)]
            at += len(cand)
            order = np.argsort(-np.asarray(s), kind="stable")[:params[i].k]
            out[i] = [hit_dict(cand[j], score=float(s[j]), retrieval_score=float(cand[j].score)) for j in order]
        return out


def recorded_model(uri: str) -> str:
    """The model name a store recorded when it was filled."""
    from densefit.index import Index

    with Index.open(uri) as idx:
        if not idx.model_name:
            raise DensefitError(f"the store at '{uri}' records no model; pass --model")
        return idx.model_name


def hit_dict(hit, score: float | None = None, retrieval_score: float | None = None) -> dict:
    d = {"id": str(hit.id), "score": float(hit.score if score is None else score), "text": hit.text,
         "metadata": dict(hit.metadata or {})}
    if retrieval_score is not None:
        d["retrieval_score"] = retrieval_score
    return d


def load_reranker(spec: str):
    """A CrossEncoder; a folder without a classification head gets a new 1-label head (untrained, say so)."""
    from sentence_transformers import CrossEncoder
    from transformers import AutoConfig

    from densefit.models import resolve_model

    path = resolve_model(spec)
    try:
        archs = AutoConfig.from_pretrained(path).architectures or []
        has_head = any("ForSequenceClassification" in a for a in archs)
        if not has_head:
            say(f"[yellow]reranker '{spec}' has no classification head: a new 1-label head is added, "
                "untrained until you fine-tune it[/yellow]")
        return CrossEncoder(path, num_labels=None if has_head else 1, model_kwargs={"use_safetensors": True})
    except (OSError, ValueError) as exc:
        raise DensefitError(f"cannot load reranker '{spec}': {str(exc).splitlines()[0]}") from None
