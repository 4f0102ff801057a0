"""Training and encode speed of densefit against stock sentence-transformers, in one process, on the same data.

    flock /tmp/densefit-bench.lock .venv/bin/python bench/speed.py            # full run, rewrites docs section
    .venv/bin/python bench/speed.py --quick                                   # smoke run (few steps, few texts)

Measures, on the man-page set (densefit.data.builders.manpages):
- a matmul rate (fp32 and bf16) and from it the roofline of this machine;
- stock SentenceTransformerTrainer (MNR, fp32) vs densefit training (`--precision auto`): pairs/s,
  tokens/s, fraction of the roofline, peak RSS;
- stock `encode` fp32 vs densefit encode in each variant (torch auto, torch bf16, ONNX, ONNX int8,
  OpenVINO int8): docs/s, p50 latency of one 10-word query, peak RSS, min cosine vs stock, MRR@10 delta.
Writes the section between the SPEED markers of docs/benchmarks.md (not in --quick mode).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
import common  # noqa: E402  (bench/common.py: machine line, sections, server helpers)
from common import load_avg, machine  # noqa: E402
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- SPEED:BEGIN -->", "<!-- SPEED:END -->"
QUERY = "how do I change the permissions of a file in a directory"  # 10 words (+ the '?' free form)
SEQ = 128
EVAL_DELTA = False  # --eval-delta: MRR@10 of each export vs torch on the whole man-page test split (slow)


# ----------------------------------------------------------------------------- machine

def reset_peak_rss() -> None:
    """Linux: writing 5 to clear_refs resets VmHWM, so each phase reports its own peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_gb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1e6
    return float("nan")


def matmul_gflops(dtype_name: str, n: int = 2048, reps: int = 5) -> float:
    import torch

    dtype = getattr(torch, dtype_name)
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n ** 3 * reps / (time.perf_counter() - start) / 1e9


# ----------------------------------------------------------------------------- data

def manpage_set(folder: Path):
    from densefit.data.beir import load_beir
    from densefit.data.builders.manpages import build_manpages

    if not (folder / "corpus.jsonl").is_file():
        build_manpages(folder)
    return load_beir(folder, "test"), load_beir(folder, "train")


def train_pairs(train_set, n: int) -> dict[str, list[str]]:
    anchors, positives = [], []
    for qid, rels in train_set.qrels.items():
        for did in rels:
            anchors.append(train_set.queries[qid])
            positives.append(train_set.corpus[did])
    return {"anchor": anchors[:n], "positive": positives[:n]}


def count_tokens(tokenizer, texts: list[str]) -> int:
    return sum(len(x) for x in tokenizer(texts, truncation=True, max_length=SEQ)["input_ids"])


def flops_per_token(model) -> float:
    """Forward FLOPs per token: 2 x non-embedding parameters, plus attention scores at length SEQ/2."""
    bert = model[0].auto_model
    params = sum(p.numel() for n, p in bert.named_parameters() if "embeddings" not in n)
    cfg = bert.config
    return 2 * params + 4 * cfg.num_hidden_layers * (SEQ // 2) * cfg.hidden_size


# ----------------------------------------------------------------------------- training

def stock_train(pairs: dict, steps: int, out: Path) -> float:
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers import SentenceTransformerTrainingArguments as Args
    from sentence_transformers.base.sampler import BatchSamplers
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from densefit.models import bundled_model_dir

    model = SentenceTransformer(bundled_model_dir())
    model.max_seq_length = SEQ
    args = Args(output_dir=str(out), max_steps=steps, per_device_train_batch_size=32, learning_rate=5e-5,
                batch_sampler=BatchSamplers.NO_DUPLICATES, save_strategy="no", report_to="none",
                logging_steps=max(1, steps), disable_tqdm=True, seed=0)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=Dataset.from_dict(pairs),
                                         loss=MultipleNegativesRankingLoss(model))
    start = time.perf_counter()
    trainer.train()
    return time.perf_counter() - start


def densefit_train(pairs: dict, steps: int, out: Path, precision: str = "auto") -> tuple[float, str]:
    from datasets import Dataset

    from densefit.config import TrainConfig
    from densefit.methods.losses import build_loss, get_spec
    from densefit.models import load_model
    from densefit.train.run import train

    cfg = TrainConfig(model="default", train="bench", out=str(out), max_steps=steps, batch_size=32,
                      precision=precision, max_seq_length=SEQ, logging_steps=max(1, steps), report=False)
    model = load_model("default", max_seq_length=SEQ)
    spec, _ = get_spec("mnr", "retrieval")
    outcome = train(cfg, model, build_loss(spec, model, []), Dataset.from_dict(pairs), in_batch_negatives=True)
    return outcome.seconds, outcome.precision


def bench_training(pairs: dict, steps: int, tokens_per_pair: float, fpt: float, gflops: float) -> list[dict]:
    rows = []
    n_pairs = steps * 32
    for name, fn in (("stock ST trainer fp32", lambda o: (stock_train(pairs, steps, o), "fp32")),
                     ("densefit train (auto)", lambda o: densefit_train(pairs, steps, o))):
        reset_peak_rss()
        with tempfile.TemporaryDirectory() as tmp:
            seconds, precision = fn(Path(tmp) / "run")
        tps = n_pairs * tokens_per_pair / seconds
        rows.append({"path": name, "precision": precision, "pairs_s": n_pairs / seconds, "tokens_s": tps,
                     "roofline": tps * 3 * fpt / (gflops * 1e9), "rss_gb": peak_rss_gb(), "seconds": seconds})
        print(f"  {name}: {rows[-1]['pairs_s']:.1f} pairs/s", flush=True)
    return rows


# ----------------------------------------------------------------------------- encode

def p50_latency_ms(encode, reps: int) -> float:
    encode([QUERY])
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        encode([QUERY])
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure_encode(name: str, encode, texts: list[str], ref: np.ndarray | None, reps: int) -> dict:
    reset_peak_rss()
    encode(texts[:16])
    start = time.perf_counter()
    emb = np.asarray(encode(texts), dtype=np.float32)
    seconds = time.perf_counter() - start
    row = {"path": name, "docs_s": len(texts) / seconds, "p50_ms": p50_latency_ms(encode, reps),
           "rss_gb": peak_rss_gb(), "min_cos": float(np.min(np.sum(emb * ref, axis=1))) if ref is not None else 1.0}
    print(f"  {name}: {row['docs_s']:.1f} docs/s, p50 {row['p50_ms']:.1f} ms, min cos {row['min_cos']:.5f}",
          flush=True)
    return row, emb


def encoders(export_root: Path, eval_dir: Path, quick: bool, calib: list[str]):
    """(name, encoder) for each densefit variant; exports are made here with the parity check."""
    from densefit.inference.encoder import Encoder
    from densefit.inference.export import ExportConfig, export_model
    from densefit.inference.runtimes import open_exported
    from densefit.models import load_model

    model = load_model("default", max_seq_length=SEQ)
    yield "densefit torch (auto)", Encoder(model, precision="auto")
    yield "densefit torch bf16", Encoder(model, precision="bf16")
    for fmt in ("onnx", "onnx-int8", "openvino", "openvino-int8"):
        cfg = ExportConfig(model="default", format=fmt, out=str(export_root / fmt), max_seq_length=SEQ,
                           eval=str(eval_dir) if EVAL_DELTA else None, sample=32 if quick else 128,
                           calibration=16 if quick else 64)
        manifest = export_model(cfg, sample_texts=calib[:cfg.sample + cfg.calibration])
        yield f"densefit {fmt}", (open_exported(export_root / fmt), manifest)


def bench_encode(texts: list[str], eval_dir: Path, quick: bool, calib: list[str]) -> list[dict]:
    from sentence_transformers import SentenceTransformer

    from densefit.models import bundled_model_dir

    reps = 10 if quick else 50
    stock = SentenceTransformer(bundled_model_dir())
    stock.max_seq_length = SEQ
    stock_encode = lambda t: stock.encode(t, batch_size=64, normalize_embeddings=True)  # noqa: E731
    base, ref = measure_encode("stock ST encode fp32", stock_encode, texts, None, reps)
    rows = [base]
    with tempfile.TemporaryDirectory() as tmp:
        for name, enc in encoders(Path(tmp), eval_dir, quick, calib):
            manifest = None
            if isinstance(enc, tuple):
                enc, manifest = enc
            row, _ = measure_encode(name, lambda t, e=enc: e.encode(t, batch_size=64), texts, ref, reps)
            if manifest:
                row["size_mb"] = manifest["size_mb"]
                row["mrr_delta"] = (manifest["parity"].get("retrieval") or {}).get("delta")
            rows.append(row)
    return rows


def padding_waste(texts: list[str]) -> dict:
    from transformers import AutoTokenizer

    from densefit.inference.batching import padding_fraction, token_lengths
    from densefit.models import bundled_model_dir

    lengths = token_lengths(AutoTokenizer.from_pretrained(bundled_model_dir()), texts, SEQ)
    return {"unsorted": padding_fraction(lengths, 64, sort=False), "sorted": padding_fraction(lengths, 64)}


# ----------------------------------------------------------------------------- report

def section(r: dict, command: str) -> str:
    t = r["train"]
    train_rows = "\n".join(
        f"| {x['path']} | {x['precision']} | {x['pairs_s']:.1f} | {x['tokens_s']:.0f} | "
        f"{100 * x['roofline']:.0f}% | {x['rss_gb']:.2f} | {x['pairs_s'] / t[0]['pairs_s']:.2f}x |" for x in t)
    e = r["encode"]
    enc_rows = "\n".join(
        f"| {x['path']} | {x['docs_s']:.1f} | {x['docs_s'] / e[0]['docs_s']:.2f}x | {x['p50_ms']:.1f} | "
        f"{x['rss_gb']:.2f} | {x['min_cos']:.5f} | {x.get('size_mb', '-')} | "
        f"{'-' if x.get('mrr_delta') is None else format(x['mrr_delta'], '+.4f')} |" for x in e)
    m = r["matmul"]
    return f"""{BEGIN}
## Speed: training and encode vs stock sentence-transformers (bench/speed.py)

- command: `{command}`
- date: {r['date']}; machine: {r['machine']}
- load average at start / end: {r['load_start']} / {r['load_end']}; {r['machine_use']} (ratios come from
  the same run)
- matmul 2048²: fp32 {m['fp32']:.0f} GFLOP/s, bf16 {m['bf16']:.0f} GFLOP/s. Roofline used below: the
  faster of the two ({m['roof']:.0f} GFLOP/s); MiniLM-L6 costs {r['fpt'] / 1e6:.1f} MFLOP/token forward and
  3x that in training, so the training roofline is {m['roof'] * 1e9 / (3 * r['fpt']):.0f} tokens/s.
- data: man-page set, {r['n_train_pairs']} MNR pairs (batch 32, {r['steps']} steps), {r['n_texts']} corpus
  texts for encode (exports calibrated and checked on 192 other corpus texts); max_seq_length {SEQ}.
  Padding in batch-64 grids of an interleaved query/document stream: {100 * r['padding']['unsorted']:.0f}%
  in input order, {100 * r['padding']['sorted']:.1f}% after token-length sorting (what densefit's batcher does)

| training path | precision | pairs/s | tokens/s | of roofline | peak RSS GB | vs stock |
|---|---|---|---|---|---|---|
{train_rows}

| encode path | docs/s | vs stock | p50 1-query ms | peak RSS GB | min cos vs stock | size MB | Δ MRR@10 |
|---|---|---|---|---|---|---|---|
{enc_rows}

{r['verdict']}

Why, on this CPU: it has AVX512-VNNI but no AMX and no AVX512-BF16, so bf16 runs ~3x slower than fp32
(the matmul line above) and `auto` keeps fp32 for training and encode: densefit's training then runs the
same fp32 arithmetic as the stock trainer, and any difference in the training row is run-to-run noise,
not a speed-up (so the man-page MRR@10 check "fast mode within 0.01 of fp32" is trivially met: the
numerics are identical). Stock `encode` already sorts by length and runs close to the fp32 roofline at
128 tokens, so the fp32 paths (torch, ONNX Runtime) cannot be several times faster; only int8 could, and
int8 of MiniLM costs quality (min cosine about 0.99 for ONNX dynamic int8 and for NNCF static int8), so
no int8 path qualifies at cosine >= 0.999 and `backend="auto"` does not pick it. Tried on man-page
documents and not kept (min cosine / speed vs torch): NNCF static int8 with the FFN-output MatMuls left
in fp32, with and without the MIXED preset or SmoothQuant (0.9906 / 0.9906 / 0.9882); ONNX Runtime's
transformer optimizer (fused LayerNorm/GELU, 0.72x in fp32) plus dynamic int8 (0.9874, 1.04x). The
exported paths (ONNX, OpenVINO) cut the single-query latency (no per-operator eager overhead on tiny
inputs), which is what serving uses (see the serving section). The issue's
targets assume an AMX machine (bf16 matmul 5x fp32); there `auto` picks bf16 and these figures differ.
GPU paths (bf16/fp16 autocast, SDPA) are correct by construction but were not run: no GPU was lent.
{END}"""


def verdict(r: dict) -> str:
    t, e = r["train"], r["encode"]
    best = max((x for x in e[1:] if x["min_cos"] >= 0.999), key=lambda x: x["docs_s"], default=e[0])
    lines = [
        f"- training >= 4x stock pairs/s: **{'met' if t[1]['pairs_s'] >= 4 * t[0]['pairs_s'] else 'NOT met'}** "
        f"({t[1]['pairs_s'] / t[0]['pairs_s']:.2f}x)",
        f"- encode >= 5x stock docs/s at cosine >= 0.999: **{'met' if best['docs_s'] >= 5 * e[0]['docs_s'] else 'NOT met'}**"
        f" (best qualifying path: {best['path']}, {best['docs_s'] / e[0]['docs_s']:.2f}x)",
        f"- single-query p50 <= 5 ms: **{'met' if min(x['p50_ms'] for x in e if x['min_cos'] >= 0.999) <= 5 else 'NOT met'}**"
        f" (best {min(x['p50_ms'] for x in e if x['min_cos'] >= 0.999):.1f} ms)",
        f"- training peak RSS <= 4 GB: **{'met' if max(x['rss_gb'] for x in t) <= 4 else 'NOT met'}**",
    ]
    return "\n".join(lines)


def run(quick: bool, data_dir: Path) -> dict:
    from densefit.models import load_model

    watch = common.SharedWatch()
    r = {"date": dt.date.today().isoformat(), "machine": machine(), "load_start": load_avg()}
    fp32, bf16 = matmul_gflops("float32"), matmul_gflops("bfloat16", reps=2)
    r["matmul"] = {"fp32": fp32, "bf16": bf16, "roof": max(fp32, bf16)}
    print(f"matmul: fp32 {fp32:.0f} GFLOP/s, bf16 {bf16:.0f} GFLOP/s", flush=True)
    test, train = manpage_set(data_dir)
    r["steps"] = 3 if quick else 8
    pairs = train_pairs(train, r["steps"] * 32)
    r["n_train_pairs"] = len(pairs["anchor"])
    model = load_model("default", max_seq_length=SEQ)
    r["fpt"] = flops_per_token(model)
    tokens = count_tokens(model.tokenizer, pairs["anchor"] + pairs["positive"]) / len(pairs["anchor"])
    del model
    print("training:", flush=True)
    r["train"] = bench_training(pairs, r["steps"], tokens, r["fpt"], r["matmul"]["roof"])
    corpus = list(test.corpus.values())
    texts = corpus[: 64 if quick else 256]
    mixed = [t for pair in zip(corpus[:512], list(test.queries.values())[:512]) for t in pair]
    r["n_texts"], r["padding"] = len(texts), padding_waste(mixed)
    print("encode:", flush=True)
    r["encode"] = bench_encode(texts, data_dir, quick, corpus[-300:])
    r["load_end"], r["machine_use"] = load_avg(), watch.note()
    r["verdict"] = verdict(r)
    return r


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: few steps and texts; docs not rewritten")
    parser.add_argument("--data", default=str(Path.home() / ".cache" / "densefit" / "bench-manpages"),
                        help="man-page IR set folder (built there when missing)")
    parser.add_argument("--json", default=None, help="also write the raw results to this file")
    parser.add_argument("--eval-delta", action="store_true", help="MRR@10 delta of every export (slow)")
    parser.add_argument("--write-doc", action="store_true", help="rewrite the docs section even with --quick")
    args = parser.parse_args()
    global EVAL_DELTA
    EVAL_DELTA = args.eval_delta
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    r = run(args.quick, Path(args.data))
    command = ".venv/bin/python bench/speed.py" if not args.quick else \
        "nice -n 19 .venv/bin/python bench/speed.py --quick --write-doc  (smoke mode: 3 training steps, 64 texts)"
    text = section(r, command)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2, default=str))
    if not args.quick or args.write_doc:
        common.write_section(text, BEGIN, END)
        print(f"updated {DOC}", file=sys.stderr)


if __name__ == "__main__":
    main()
