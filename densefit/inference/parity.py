"""Parity of an exported variant against the torch model it came from.

Min and mean cosine over a sample of texts, the speed of both on this machine,
and (with a BEIR folder) the retrieval metric delta. `MIN_COSINE` is the bar a
variant must clear before `backend="auto"` may pick it.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from densefit.console import say

MIN_COSINE = 0.999
FALLBACK_TEXTS = ("get file status", "open and possibly create a file", "map files or devices into memory",
                  "create a child process", "synchronize a file's in-core state with storage device",
                  "examine and change blocked signals", "get or set the socket options",
                  "wait for process to change state")


def sample_corpus(eval_dir: str | None, n: int) -> list[str]:
    """Up to `n` documents and queries of a BEIR folder, or fixed short texts without one."""
    if not eval_dir:
        return list(FALLBACK_TEXTS) * max(1, n // len(FALLBACK_TEXTS))
    texts: list[str] = []
    for name in ("corpus.jsonl", "queries.jsonl"):
        with open(Path(eval_dir) / name, encoding="utf-8") as fh:
            for line in fh:
                if len(texts) >= n:
                    return texts
                row = json.loads(line)
                texts.append(((row.get("title") or "") + " " + row["text"]).strip())
    return texts


def machine_signature() -> dict:
    from densefit.inference.precision import cpu_flags

    cpu = platform.processor()
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                   if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    isa = sorted(f for f in cpu_flags() if f.startswith(("avx", "amx")))
    return {"cpu": cpu, "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "isa": isa}


def timed_encode(encoder, texts: Sequence[str]) -> tuple[np.ndarray, float]:
    encoder.encode(list(texts[:8]))  # warm-up: first-call allocation and graph compilation
    start = time.perf_counter()
    emb = encoder.encode(list(texts))
    return emb, len(texts) / max(time.perf_counter() - start, 1e-9)


def parity_report(model, folder: Path, sample: Sequence[str], check=None) -> dict:
    """Cosine and speed of the export at `folder` against torch fp32; `check(reference, exported)` adds a
    quality delta (the caller's, e.g. `evaluation.retrieval.retrieval_delta` on an eval set)."""
    from densefit.inference.encoder import Encoder
    from densefit.inference.runtimes import open_exported

    reference, exported = Encoder(model, precision="fp32"), open_exported(folder)
    ref, torch_dps = timed_encode(reference, sample)
    emb, dps = timed_encode(exported, sample)
    report = {"sample": len(sample), "docs_per_s": round(dps, 2), "torch_docs_per_s": round(torch_dps, 2),
              "speedup": round(dps / torch_dps, 3), "threshold": MIN_COSINE, "machine": machine_signature()}
    if ref.shape == emb.shape and getattr(exported, "same_space", True):
        cos = np.sum(ref * emb, axis=1)
        report.update(min_cosine=float(cos.min()), mean_cosine=float(cos.mean()), passed=bool(cos.min() >= MIN_COSINE))
    else:  # a distilled model (static tier) has its own space, even at equal width: no cosine to compare
        report.update(min_cosine=None, mean_cosine=None, passed=False)
    if check is not None:
        report["retrieval"] = check(reference, exported)
    cosine = "none (another embedding space)" if report["min_cosine"] is None else f"{report['min_cosine']:.5f}"
    say(f"parity: min cosine {cosine} (bar {MIN_COSINE}), {dps:.1f} docs/s vs torch {torch_dps:.1f} "
        f"({report['speedup']:.2f}x)")
    return report
