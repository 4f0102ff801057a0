"""Two encode levers of the speed issue, measured on their own: torch.compile, and ONNX Runtime's transformer fusions.

    .venv/bin/python bench/encode_levers.py             # prints the section and rewrites it in docs/benchmarks.md

1. torch.compile(dynamic=True) of the encoder inside densefit's torch Encoder, in fp32 and (where the CPU has
   fast bf16) in bf16 autocast: docs/s on 256 man-page documents after a warm-up pass that compiles, the
   warm-up's seconds, min cosine against the plain path.
2. Single-query p50 of the ONNX export (`densefit export --format onnx`) as shipped and after
   onnxruntime.transformers' BERT fusions, at 1 and 2 threads; next to it the fp32 compute floor of that query
   (its tokens x 2 x the non-embedding weights / the measured fp32 matmul rate: a lower bound).
Every sentence after the table is computed from this run's figures.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from speed import QUERY, manpage_set, matmul_gflops  # noqa: E402

DATA = Path.home() / ".cache" / "densefit" / "bench-manpages"
DOCS, REPS = 256, 300


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compile_rows(texts: list[str]) -> list[dict]:
    import torch

    from densefit.inference.encoder import Encoder
    from densefit.inference.precision import cpu_has_fast_bf16
    from densefit.models import load_model

    rows = []
    for precision in ["fp32"] + (["bf16"] if cpu_has_fast_bf16() else []):
        enc = Encoder(load_model("default"), precision=precision)
        warm, timed_texts = texts[:DOCS], texts[DOCS:2 * DOCS]
        enc.encode(warm[:32])
        plain_s = timed(lambda: enc.encode(timed_texts))
        ref = enc.encode(timed_texts)
        enc.model[0].auto_model = torch.compile(enc.model[0].auto_model, dynamic=True)
        warm_s = timed(lambda: enc.encode(warm))
        compiled_s = min(timed(lambda: enc.encode(timed_texts)) for _ in range(2))
        got = enc.encode(timed_texts)
        rows.append({"precision": precision, "plain": DOCS / plain_s, "compiled": DOCS / compiled_s,
                     "warm_s": warm_s, "min_cos": float((ref * got).sum(1).min())})
        print(f"  compile {precision}: {rows[-1]}", flush=True)
    return rows


def latency_rows(export: Path) -> tuple[list[dict], int]:
    import onnxruntime as ort
    from onnxruntime.transformers import optimizer
    from transformers import AutoTokenizer

    enc = AutoTokenizer.from_pretrained(str(export / "tokenizer"))([QUERY], return_tensors="np")
    feeds = {k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask")}
    fused = export / "fused.onnx"
    optimizer.optimize_model(str(export / "model.onnx"), model_type="bert", num_heads=0, hidden_size=0,
                             opt_level=1).save_model_to_file(str(fused))
    rows, ref = [], None
    for graph, path in (("as exported", export / "model.onnx"), ("BERT fusions", fused)):
        for threads in (1, 2):
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            out = session.run(None, feeds)[0]
            ref = out if ref is None else ref
            for _ in range(20):
                session.run(None, feeds)
            times = [timed(lambda: session.run(None, feeds)) * 1000 for _ in range(REPS)]
            rows.append({"graph": graph, "threads": threads, "p50_ms": statistics.median(times),
                         "cos": float((out * ref).sum() / np.linalg.norm(out) / np.linalg.norm(ref))})
            print(f"  latency: {rows[-1]}", flush=True)
    return rows, int(feeds["input_ids"].shape[1])


def section(c: list[dict], lat: list[dict], tokens: int, floor_ms: float, fp32_gflops: float, note: str) -> str:
    lines = ["<!-- ENCODE-LEVERS:BEGIN -->", "## Encode levers: torch.compile and ONNX Runtime fusions "
             "(bench/encode_levers.py)", "",
             f"- command: `.venv/bin/python bench/encode_levers.py`; date: {common.today()}; machine: "
             f"{common.machine()}; {note}",
             f"- data: {DOCS} man-page documents per pass (a first {DOCS} warm up and compile), MiniLM-L6 at "
             "max_seq_length 256; one query of the SPEED section for latency", "",
             "| torch path | plain docs/s | compiled docs/s | ratio | compile warm-up s | min cos |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {r['precision']} | {r['plain']:.1f} | {r['compiled']:.1f} | {r['compiled'] / r['plain']:.2f}x | "
              f"{r['warm_s']:.0f} | {r['min_cos']:.5f} |" for r in c]
    lines += ["", "| ONNX graph | threads | p50 1-query ms | cos vs as exported |", "|---|---|---|---|"]
    lines += [f"| {r['graph']} | {r['threads']} | {r['p50_ms']:.2f} | {r['cos']:.5f} |" for r in lat]
    best = min(lat, key=lambda r: r["p50_ms"])
    shipped = min((r for r in lat if r["graph"] == "as exported"), key=lambda r: r["p50_ms"])
    fused = min((r for r in lat if r["graph"] == "BERT fusions"), key=lambda r: r["p50_ms"])
    lines += [""] + [f"- torch.compile in {r['precision']}: {r['compiled'] / r['plain']:.2f}x the plain path's "
                     f"docs/s after a {r['warm_s']:.0f} s warm-up"
                     + (", a gain" if r["compiled"] / r["plain"] >= 1.05 else ", no gain (under 1.05x)") for r in c]
    fastest = max(c, key=lambda r: max(r["plain"], r["compiled"]))
    lines.append(f"- fastest torch encode here: {fastest['precision']} "
                 f"{'compiled' if fastest['compiled'] > fastest['plain'] else 'plain'} "
                 f"({max(fastest['plain'], fastest['compiled']):.1f} docs/s)")
    lines.append(f"- ONNX: the BERT fusions give {fused['p50_ms']:.2f} ms against {shipped['p50_ms']:.2f} ms as "
                 f"exported ({shipped['p50_ms'] / fused['p50_ms']:.2f}x); best {best['p50_ms']:.2f} ms "
                 f"({best['graph']}, {best['threads']} threads)")
    lines.append(f"- the query has {tokens} tokens; at the measured fp32 matmul rate ({fp32_gflops:.0f} GFLOP/s on "
                 f"all cores) the matmuls of its weights alone need {floor_ms:.2f} ms, so an fp32 p50 of 2 ms is "
                 + ("below what this CPU can compute" if floor_ms > 2 else "within this CPU's reach"))
    lines.append("<!-- ENCODE-LEVERS:END -->")
    return "\n".join(lines)


def main() -> None:
    from densefit.inference.export import ExportConfig, export_model

    watch = common.SharedWatch()
    test, _ = manpage_set(DATA)
    texts = list(test.corpus.values())[:2 * DOCS]
    c = compile_rows(texts)
    from densefit.models import load_model

    bert = load_model("default")[0].auto_model  # the weights' matmul work alone: a lower bound per token
    fpt = 2 * sum(p.numel() for n, p in bert.named_parameters() if "embeddings" not in n)
    gflops = matmul_gflops("float32")
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "onnx"
        export_model(ExportConfig(model="default", format="onnx", out=str(export), sample=64),
                     sample_texts=texts[:96])
        lat, tokens = latency_rows(export)
    text = section(c, lat, tokens, tokens * fpt / (gflops * 1e9) * 1000, gflops, watch.note())
    print(text)
    common.write_section(text, "<!-- ENCODE-LEVERS:BEGIN -->", "<!-- ENCODE-LEVERS:END -->")
    (Path(__file__).resolve().parent.parent / "bench-out").mkdir(exist_ok=True)
    (Path(__file__).resolve().parent.parent / "bench-out" / "encode_levers.json").write_text(
        json.dumps({"compile": c, "latency": lat, "tokens": tokens}, indent=1))


if __name__ == "__main__":
    main()
