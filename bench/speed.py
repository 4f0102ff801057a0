"""Training and encode speed of densefit against stock sentence-transformers, in one process, on the same data.

    .venv/bin/python bench/speed.py            # full run (50 training steps per path), rewrites the docs section
    .venv/bin/python bench/speed.py --quick    # smoke run (3 steps, 64 texts); docs untouched
    .venv/bin/python bench/speed.py --cached   # the section again from bench-out/speed/results.json

Measures, on the man-page set (densefit.data.builders.manpages), at the model's own max_seq_length:
- matmul rates (fp32, bf16): each training row's roofline is the rate of its own precision;
- training: stock SentenceTransformerTrainer in fp32 and with `bf16=True` (the one-flag peer), and densefit
  (`--precision auto`): pairs/s, tokens/s, share of the roofline, peak RSS, and MRR@10 after the same steps;
  one densefit row per `--dropout` choice (the default first; the verdict judges it) and a lever row with
  length-grouped batches;
- one densefit training step by phase (tokenise/collate, forward, backward, optimiser, other) from torch.profiler;
- encode: stock fp32 and stock under bf16 autocast (the peers), densefit torch, the bf16-weights lever, every
  export (ONNX, OpenVINO, int8) and the static tier (model2vec): docs/s, p50 of one query, min cosine vs stock,
  size, and the static tier's MRR@10 next to the transformer's.
The verdict and the "why" paragraph are computed from the run's figures. Writes the SPEED section of
docs/benchmarks.md (not in --quick mode).
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

from densefit.config import DROPOUT_CHOICES, TrainConfig  # noqa: E402

DEFAULT_DROPOUT = TrainConfig.__dataclass_fields__["dropout"].default
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- SPEED:BEGIN -->", "<!-- SPEED:END -->"
QUERY = "how do I change the permissions of a file in a directory"  # 10 words (+ the '?' free form)
SEQ = 256                 # the bundled MiniLM's own max_seq_length: every path runs at the data's real lengths
BATCH = 32
STEPS, QUICK_STEPS = 50, 3
PROFILE_STEPS = 3
DROPOUT_ROW = "densefit train (auto, --dropout {})"    # one row per --dropout choice; the default's is densefit's
GROUPED = "densefit train (auto, --dropout {}, --group-by-length)"   # a lever: not the default until it wins
QUALITY_BAR = 0.01      # "equal quality": MRR@10 no more than this below stock fp32 training
EXPORTS = ("onnx", "onnx-int8", "openvino", "openvino-int8", "static")


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

def _stock_args(out: Path, steps: int, bf16: bool):
    from sentence_transformers import SentenceTransformerTrainingArguments as Args
    from sentence_transformers.base.sampler import BatchSamplers

    extra = {"bf16": True, "use_cpu": True} if bf16 else {}  # the one flag a stock user sets on CPU
    return Args(output_dir=str(out), max_steps=steps, per_device_train_batch_size=BATCH, learning_rate=5e-5,
                warmup_steps=0.1, batch_sampler=BatchSamplers.NO_DUPLICATES, save_strategy="no", report_to="none",
                logging_steps=max(1, steps), disable_tqdm=True, seed=0, **extra)


def stock_train(pairs: dict, steps: int, out: Path, bf16: bool):
    """The script a user writes: SentenceTransformerTrainer, MNR, the model's own max_seq_length."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from densefit.models import bundled_model_dir

    model = SentenceTransformer(bundled_model_dir())
    trainer = SentenceTransformerTrainer(model=model, args=_stock_args(out, steps, bf16),
                                         train_dataset=Dataset.from_dict(pairs),
                                         loss=MultipleNegativesRankingLoss(model))
    start = time.perf_counter()
    trainer.train()
    return time.perf_counter() - start, ("bf16" if bf16 else "fp32"), model


def densefit_train(pairs: dict, steps: int, out: Path, precision: str = "auto", group_by_length: bool = False,
                   dropout: str | None = None):
    from datasets import Dataset

    from densefit.config import TrainConfig
    from densefit.methods.losses import build_loss, get_spec
    from densefit.models import load_model
    from densefit.train.run import train

    cfg = TrainConfig(model="default", train="bench", out=str(out), max_steps=steps, batch_size=BATCH,
                      precision=precision, logging_steps=max(1, steps), report=False, group_by_length=group_by_length,
                      **({"dropout": dropout} if dropout else {}))
    model = load_model("default")
    spec, _ = get_spec("mnr", "retrieval")
    outcome = train(cfg, model, build_loss(spec, model, []), Dataset.from_dict(pairs), in_batch_negatives=True)
    return outcome.seconds, outcome.precision, model


def mrr10(model, test) -> float:
    """MRR@10 of a trained model on the man-page test split, encoded the same way (fp32) for every row."""
    from densefit.evaluation.retrieval import evaluate_retrieval
    from densefit.inference.encoder import Encoder

    return evaluate_retrieval(Encoder(model, precision="fp32"), test, ks=(10,), show_progress=False).metrics["mrr@10"]


TRAIN_PATHS = (("stock ST trainer fp32", lambda p, s, o: stock_train(p, s, o, bf16=False)),
               ("stock ST trainer bf16", lambda p, s, o: stock_train(p, s, o, bf16=True)),
               *((DROPOUT_ROW.format(c), lambda p, s, o, c=c: densefit_train(p, s, o, dropout=c))
                 for c in sorted(DROPOUT_CHOICES, key=lambda c: c != DEFAULT_DROPOUT)),  # the default first
               (GROUPED.format(DEFAULT_DROPOUT), lambda p, s, o: densefit_train(p, s, o, group_by_length=True)))


def densefit_row(t: list[dict]) -> dict:
    """The row of densefit's default --dropout (rows name the choice they ran with); in results from a run made
    before the default changed, the fastest densefit row, which the verdict then names."""
    rows = [x for x in t if x["path"].startswith("densefit train") and not x["path"].endswith("length)")]
    return next((x for x in rows if x["path"] == DROPOUT_ROW.format(DEFAULT_DROPOUT)),
                max(rows, key=lambda x: x["pairs_s"]))


def bench_training(pairs: dict, steps: int, tokens_per_pair: float, fpt: float, roofs: dict, test) -> list[dict]:
    rows = []
    n_pairs = steps * BATCH
    for name, fn in TRAIN_PATHS:
        reset_peak_rss()
        with tempfile.TemporaryDirectory() as tmp:
            seconds, precision, model = fn(pairs, steps, Path(tmp) / "run")
        tps = n_pairs * tokens_per_pair / seconds
        rows.append({"path": name, "precision": precision, "pairs_s": n_pairs / seconds, "tokens_s": tps,
                     "roofline": tps * 3 * fpt / (roofs[precision] * 1e9), "rss_gb": peak_rss_gb(),
                     "seconds": seconds, "mrr10": mrr10(model, test) if test is not None else None})
        print(f"  {name}: {rows[-1]['pairs_s']:.1f} pairs/s, MRR@10 {rows[-1]['mrr10']}", flush=True)
        del model
    return rows


PHASES = ("tokenise/collate", "forward", "backward", "optimiser")


def profile_step(pairs: dict, precision: str, steps: int) -> dict:
    """Seconds per phase of densefit's training step (MNR, batch 32, the run's precision, densefit's default
    --dropout), from torch.profiler; 'other' is the step's wall time the four phases do not cover."""
    import torch
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from torch.profiler import ProfilerActivity, profile, record_function

    from densefit.inference.encoder import autocast_context
    from densefit.models import load_model
    from densefit.train.dropout import apply_dropout

    model = load_model("default")
    apply_dropout(model, DEFAULT_DROPOUT)
    model.train()
    loss_fn = MultipleNegativesRankingLoss(model)
    opt = torch.optim.AdamW(model.parameters(), lr=5e-5)

    def step(i: int) -> None:
        lo, hi = i * BATCH, (i + 1) * BATCH
        with record_function("tokenise/collate"):
            features = [model.preprocess(pairs["anchor"][lo:hi]), model.preprocess(pairs["positive"][lo:hi])]
        with record_function("forward"), autocast_context(precision, "cpu"):
            loss = loss_fn(features, None)
        with record_function("backward"):
            loss.backward()
        with record_function("optimiser"):
            opt.step()
            opt.zero_grad(set_to_none=True)

    step(0)  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        for i in range(1, steps + 1):
            step(i)
        wall = (time.perf_counter() - start) / steps
    totals = {e.key: e.cpu_time_total / 1e6 / steps for e in prof.key_averages() if e.key in PHASES}
    phases = {k: totals.get(k, 0.0) for k in PHASES}
    phases["other"] = max(wall - sum(phases.values()), 0.0)
    return {"precision": precision, "dropout": DEFAULT_DROPOUT, "steps": steps, "step_s": wall, "phases": phases}


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
    cos = float(np.min(np.sum(emb * ref, axis=1))) if ref is not None and ref.shape == emb.shape else None
    row = {"path": name, "docs_s": len(texts) / seconds, "p50_ms": p50_latency_ms(encode, reps),
           "rss_gb": peak_rss_gb(), "min_cos": 1.0 if ref is None else cos}
    print(f"  {name}: {row['docs_s']:.1f} docs/s, p50 {row['p50_ms']:.1f} ms, min cos {row['min_cos']}", flush=True)
    return row


def stock_paths(model_dir: str):
    """The peers a user gets with stock sentence-transformers: encode in fp32, and under bf16 autocast."""
    import torch
    from sentence_transformers import SentenceTransformer

    stock = SentenceTransformer(model_dir)
    plain = lambda t: stock.encode(t, batch_size=64, normalize_embeddings=True)  # noqa: E731

    def autocast(t):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return stock.encode(t, batch_size=64, normalize_embeddings=True)
    return [("stock ST encode fp32", plain), ("stock ST encode bf16 autocast", autocast)]


def bf16_weights_path(model_dir: str):
    """The lever 'bf16 weights, not only autocast': the model cast to bf16, outputs back to fp32."""
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_dir).to(torch.bfloat16)

    def encode(t):
        emb = model.encode(t, batch_size=64, normalize_embeddings=True, convert_to_tensor=True)
        return torch.nn.functional.normalize(emb.float(), dim=-1).numpy()
    return "lever: torch bf16 weights (not shipped)", encode


def encoders(model_dir: str, export_root: Path, quick: bool, calib: list[str]):
    """(name, encode function, manifest or None) for each densefit path; exports are made here with parity."""
    from densefit.inference.encoder import Encoder
    from densefit.inference.export import ExportConfig, export_model
    from densefit.inference.runtimes import open_exported
    from densefit.models import load_model

    model = load_model(model_dir)
    for name, precision in (("densefit torch (auto)", "auto"), ("densefit torch bf16 autocast", "bf16")):
        enc = Encoder(model, precision=precision)
        yield name, (lambda t, e=enc: e.encode(t, batch_size=64)), None
    yield (*bf16_weights_path(model_dir), None)
    for fmt in EXPORTS:
        cfg = ExportConfig(model=model_dir, format=fmt, out=str(export_root / fmt), sample=32 if quick else 128,
                           calibration=16 if quick else 64)
        manifest = export_model(cfg, sample_texts=calib[:cfg.sample + cfg.calibration])
        enc = open_exported(export_root / fmt)
        yield f"densefit {fmt}", (lambda t, e=enc: e.encode(t, batch_size=64)), manifest


def bench_encode(model_dir: str, texts: list[str], quick: bool, calib: list[str], test) -> tuple[list[dict], dict]:
    """Every encode path on the same texts; the static tier's MRR@10 next to the transformer's."""
    from densefit.evaluation.retrieval import evaluate_retrieval
    from densefit.inference.encoder import Encoder
    from densefit.inference.runtimes import open_exported
    from densefit.models import load_model

    from densefit.models import resolve_model

    reps = 10 if quick else 50
    model_dir = resolve_model(model_dir)  # a folder, as stock sentence-transformers is given it
    (base_name, base), (auto_name, autocast) = stock_paths(model_dir)
    ref = np.asarray(base(texts), dtype=np.float32)
    rows = [measure_encode(base_name, base, texts, None, reps), measure_encode(auto_name, autocast, texts, ref, reps)]
    with tempfile.TemporaryDirectory() as tmp:
        for name, encode, manifest in encoders(model_dir, Path(tmp), quick, calib):
            row = measure_encode(name, encode, texts, ref, reps)
            if manifest:
                row["size_mb"] = manifest["size_mb"]
            rows.append(row)
        static = {"size_mb": rows[-1].get("size_mb"), "model_size_mb": folder_mb(model_dir)}
        if test is not None:
            metric = lambda e: evaluate_retrieval(e, test, ks=(10,), show_progress=False).metrics["mrr@10"]  # noqa
            static["transformer_mrr10"] = metric(Encoder(load_model(model_dir), precision="auto"))
            static["static_mrr10"] = metric(open_exported(Path(tmp) / "static"))
    return rows, static


def folder_mb(folder: str) -> float:
    from densefit.models import resolve_model

    root = Path(resolve_model(folder))
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and "exports" not in p.parts) / 1e6


def padding_waste(texts: list[str]) -> dict:
    from transformers import AutoTokenizer

    from densefit.inference.batching import padding_fraction, token_lengths
    from densefit.models import bundled_model_dir

    lengths = token_lengths(AutoTokenizer.from_pretrained(bundled_model_dir()), texts, SEQ)
    return {"unsorted": padding_fraction(lengths, 64, sort=False), "sorted": padding_fraction(lengths, 64)}


# ----------------------------------------------------------------------------- report

def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def section(r: dict, command: str) -> str:
    t, e, m = r["train"], r["encode"], r["matmul"]
    stock_fp32, stock_bf16 = t[0], t[1]
    train_rows = "\n".join(
        f"| {x['path']}{' (default)' if x['path'] == DROPOUT_ROW.format(DEFAULT_DROPOUT) else ''} | "
        f"{x['precision']} | {x['pairs_s']:.1f} | {x['tokens_s']:.0f} | {100 * x['roofline']:.0f}% | "
        f"{x['rss_gb']:.2f} | {_ratio(x['pairs_s'], stock_fp32['pairs_s'])} | "
        f"{_ratio(x['pairs_s'], stock_bf16['pairs_s'])} | "
        f"{'-' if x['mrr10'] is None else format(x['mrr10'], '.4f')} |" for x in t)
    enc_rows = "\n".join(
        f"| {x['path']} | {x['docs_s']:.1f} | {_ratio(x['docs_s'], e[0]['docs_s'])} | "
        f"{_ratio(x['docs_s'], e[1]['docs_s'])} | {x['p50_ms']:.1f} | {x['rss_gb']:.2f} | "
        f"{'other space' if x['min_cos'] is None else format(x['min_cos'], '.5f')} | {x.get('size_mb', '-')} |"
        for x in e)
    prof = r["profile"]
    prof_row = " | ".join(f"{100 * v / prof['step_s']:.0f}%" for v in prof["phases"].values())
    return f"""{BEGIN}
## Speed: training and encode vs stock sentence-transformers (bench/speed.py)

- command: `{command}`
- date: {r['date']}; machine: {r['machine']}
- load average at start / end: {r['load_start']} / {r['load_end']}; {r['machine_use']} (ratios come from
  the same run)
- matmul 2048²: fp32 {m['fp32']:.0f} GFLOP/s, bf16 {m['bf16']:.0f} GFLOP/s. Each training row's roofline is the
  matmul rate of its own precision; MiniLM-L6 costs {r['fpt'] / 1e6:.1f} MFLOP/token forward and 3x that in
  training, so the training roofline is {m['fp32'] * 1e9 / (3 * r['fpt']):.0f} tokens/s in fp32 and
  {m['bf16'] * 1e9 / (3 * r['fpt']):.0f} in bf16.
- data: man-page set, {r['n_train_pairs']} MNR pairs at their real lengths ({r['tokens_per_pair']:.0f} tokens
  per pair, max_seq_length {SEQ}, the model's own; batch {BATCH}, {r['steps']} steps), {r['n_texts']} corpus
  texts for encode (exports calibrated and checked on 192 other corpus texts); MRR@10 on the man-page test split
  ({r['test_queries']} queries). Padding in batch-64 grids of an interleaved query/document stream:
  {100 * r['padding']['unsorted']:.0f}% in input order, {100 * r['padding']['sorted']:.1f}% after token-length
  sorting (what densefit's batcher does)

| training path | precision | pairs/s | tokens/s | of roofline | peak RSS GB | vs stock fp32 | vs stock bf16 | MRR@10 after |
|---|---|---|---|---|---|---|---|---|
{train_rows}

One densefit training step ({prof['precision']}, --dropout {prof.get('dropout', '?')}, batch {BATCH}, mean of
{prof['steps']} steps under torch.profiler,
{prof['step_s']:.2f} s per step):

| {' | '.join(prof['phases'])} |
|{'---|' * len(prof['phases'])}
| {prof_row} |

| encode path | docs/s | vs stock fp32 | vs stock autocast | p50 1-query ms | peak RSS GB | min cos vs stock fp32 | size MB |
|---|---|---|---|---|---|---|---|
{enc_rows}

{r['verdict']}

{r['why']}
{END}"""


def _best_qualifying(e: list[dict]) -> dict:
    return max((x for x in e[2:] if (x["min_cos"] or 0.0) >= 0.999 and not x["path"].startswith("lever")),
               key=lambda x: x["docs_s"], default=e[0])


def _kept(mrr: float, reference: float) -> bool:
    """Equal quality, as the issue's bar reads: MRR@10 no more than QUALITY_BAR below the reference."""
    return mrr >= reference - QUALITY_BAR


def _bar(mrr: float, reference: float) -> str:
    if mrr > reference + QUALITY_BAR:
        return f"more than {QUALITY_BAR} above"
    return f"within {QUALITY_BAR} of" if _kept(mrr, reference) else f"more than {QUALITY_BAR} below"


def _mark(ok: bool) -> str:
    return "met" if ok else "NOT met"


def verdict(r: dict) -> str:
    """The issue's targets, judged from this run's figures; the fast-bf16 ones only on a CPU that has it."""
    t, e, st = r["train"], r["encode"], r["static"]
    ours, fp32, bf16 = densefit_row(t), t[0], t[1]
    best = _best_qualifying(e)
    transformer = next(x for x in e if x["path"] == "densefit torch (auto)")
    static = next((x for x in e if x["path"] == "densefit static"), None)
    p50 = min(x["p50_ms"] for x in e[2:] if (x["min_cos"] or 0.0) >= 0.999 and not x["path"].startswith("lever"))
    quality = ours["mrr10"] is not None and _kept(ours["mrr10"], fp32["mrr10"])
    lines = []
    if r["fast_bf16"]:
        ok = (ours["pairs_s"] >= 3 * fp32["pairs_s"] and ours["pairs_s"] >= 2 * bf16["pairs_s"]
              and ours["roofline"] >= 0.35 and quality)
        lines.append(f"- training ≥ 3x stock fp32 and ≥ 2x stock bf16 at ≥ 35% of the bf16 roofline, "
                     f"equal quality (MRR@10 no more than {QUALITY_BAR} below fp32): "
                     f"**{_mark(ok)}** ({ours['path']}: {_ratio(ours['pairs_s'], fp32['pairs_s'])}, "
                     f"{_ratio(ours['pairs_s'], bf16['pairs_s'])}, {100 * ours['roofline']:.0f}%, "
                     f"MRR@10 {ours['mrr10']:.4f} vs fp32 {fp32['mrr10']:.4f})")
        ok = best["docs_s"] >= 5 * e[0]["docs_s"] and best["docs_s"] >= 1.5 * e[1]["docs_s"]
        lines.append(f"- encode ≥ 5x stock fp32 and ≥ 1.5x stock autocast at min cosine ≥ 0.999: **{_mark(ok)}** "
                     f"(best qualifying: {best['path']}, {_ratio(best['docs_s'], e[0]['docs_s'])} and "
                     f"{_ratio(best['docs_s'], e[1]['docs_s'])})")
    else:
        ok = ours["pairs_s"] >= 1.3 * fp32["pairs_s"] and quality
        lines.append(f"- training ≥ 1.3x stock fp32 (this CPU has no fast bf16; the bf16 targets cannot be judged "
                     f"here): **{_mark(ok)}** ({_ratio(ours['pairs_s'], fp32['pairs_s'])})")
    if ours["path"] != DROPOUT_ROW.format(DEFAULT_DROPOUT):
        lines.append(f"- densefit's default, --dropout {DEFAULT_DROPOUT}, has no row in these results, so the training "
                     f"line judges {ours['path']}, a lever: with the model's own dropout densefit trains the path of "
                     f"the stock bf16 row (the stock trainer, bf16)")
    lines.append(f"- single-query p50 ≤ 2 ms: **{_mark(p50 <= 2)}** (best {p50:.1f} ms)")
    if static:
        loss = (f", MRR@10 {st['static_mrr10']:.4f} vs the transformer's {st['transformer_mrr10']:.4f} "
                f"({st['static_mrr10'] - st['transformer_mrr10']:+.4f})") if st.get("static_mrr10") is not None else ""
        lines.append(f"- static tier ≥ 50x the transformer's docs/s: "
                     f"**{_mark(static['docs_s'] >= 50 * transformer['docs_s'])}** "
                     f"({_ratio(static['docs_s'], transformer['docs_s'])}{loss}; {static.get('size_mb')} MB against "
                     f"{st['model_size_mb']:.0f} MB)")
    return "\n".join(lines)


def explain(r: dict) -> str:
    """Why, on this CPU: every sentence is computed from this run's figures."""
    m, t, e, prof = r["matmul"], r["train"], r["encode"], r["profile"]
    ours, fp32, bf16 = densefit_row(t), t[0], t[1]
    ratio = m["bf16"] / m["fp32"]
    phases = sorted(prof["phases"].items(), key=lambda kv: -kv[1])
    share = {k: v / prof["step_s"] for k, v in prof["phases"].items()}
    cheap = share["tokenise/collate"] + share["optimiser"]
    best = _best_qualifying(e)
    lever = next(x for x in e if x["path"].startswith("lever"))
    out = [f"Why, on this CPU: a bf16 matmul runs at {ratio:.2f}x fp32 here, so `auto` "
           f"{'trains and encodes in bf16' if ours['precision'] == 'bf16' else 'keeps fp32'}.",
           f"{ours['path']} trains at {_ratio(ours['pairs_s'], fp32['pairs_s'])} stock fp32 and "
           f"{_ratio(ours['pairs_s'], bf16['pairs_s'])} stock bf16, at {100 * ours['roofline']:.0f}% of its "
           f"precision's roofline.",
           f"In its step, {phases[0][0]} takes {100 * share[phases[0][0]]:.0f}% and {phases[1][0]} "
           f"{100 * share[phases[1][0]]:.0f}%; tokenise/collate and the optimiser together take {100 * cheap:.0f}%, "
           f"so removing both could speed a step up by at most {1 / max(1 - cheap, 1e-6):.2f}x" +
           (": the lever that matters is the matmul work of forward and backward." if cheap < 0.2 else
            ": they are worth cutting.")]
    out.extend(_dropout_sentences(t, ours, fp32))
    grouped = next((x for x in t if x["path"].endswith("--group-by-length)")), None)
    same = grouped and next((x for x in t if grouped["path"].startswith(x["path"][:-1] + ",")), None)
    if same and None not in (grouped["mrr10"], same["mrr10"]):
        delta = grouped["mrr10"] - fp32["mrr10"]
        out.append(f"Length-grouped batches run at {_ratio(grouped['pairs_s'], same['pairs_s'])} the same run's "
                   f"default sampler ({same['path']}; {_ratio(grouped['pairs_s'], fp32['pairs_s'])} stock fp32) at "
                   f"MRR@10 {grouped['mrr10']:.4f}, {delta:+.4f} against fp32 training ("
                   + _bar(grouped["mrr10"], fp32["mrr10"]) + " it).")
    if None not in (ours["mrr10"], fp32["mrr10"], bf16["mrr10"]):
        out.append(f"After {r['steps']} steps, MRR@10 is {fp32['mrr10']:.4f} (stock fp32), {bf16['mrr10']:.4f} "
                   f"(stock bf16) and {ours['mrr10']:.4f} ({ours['path']}): it is "
                   f"{_bar(ours['mrr10'], fp32['mrr10'])} fp32 training.")
    out.append(f"The fastest encode path at min cosine ≥ 0.999 is {best['path']} "
               f"({_ratio(best['docs_s'], e[0]['docs_s'])} stock fp32, {_ratio(best['docs_s'], e[1]['docs_s'])} "
               f"stock autocast); bf16 weights run at {_ratio(lever['docs_s'], e[0]['docs_s'])} stock fp32 at min "
               f"cosine {lever['min_cos']:.5f}, so they "
               f"{'clear' if (lever['min_cos'] or 0) >= 0.999 else 'miss'} the 0.999 bar.")
    out.append(r["gpu"])
    return " ".join(out)


def _dropout_sentences(t: list[dict], ours: dict, fp32: dict) -> list[str]:
    """One sentence per other --dropout row, against the densefit row the verdict judges (same run)."""
    out = []
    for choice in DROPOUT_CHOICES:
        row = next((x for x in t if x["path"] == DROPOUT_ROW.format(choice)), None)
        if row is None or row is ours or None in (row["mrr10"], ours["mrr10"], fp32["mrr10"]):
            continue
        out.append(f"With --dropout {choice}, training runs at {_ratio(row['pairs_s'], ours['pairs_s'])} the pairs/s "
                   f"of {ours['path']} ({_ratio(row['pairs_s'], fp32['pairs_s'])} stock fp32) at MRR@10 "
                   f"{row['mrr10']:.4f} ({row['mrr10'] - ours['mrr10']:+.4f}).")
    return out


def run(quick: bool, data_dir: Path, model_dir: str) -> dict:
    import torch

    from densefit.inference.precision import cpu_has_fast_bf16, resolve_precision
    from densefit.models import load_model

    watch = common.SharedWatch()
    r = {"date": dt.date.today().isoformat(), "machine": machine(), "load_start": load_avg(),
         "fast_bf16": cpu_has_fast_bf16()}
    fp32, bf16 = matmul_gflops("float32"), matmul_gflops("bfloat16", reps=2)
    r["matmul"] = {"fp32": fp32, "bf16": bf16}
    print(f"matmul: fp32 {fp32:.0f} GFLOP/s, bf16 {bf16:.0f} GFLOP/s", flush=True)
    test, train = manpage_set(data_dir)
    r["steps"] = QUICK_STEPS if quick else STEPS
    pairs = train_pairs(train, (r["steps"] + PROFILE_STEPS + 1) * BATCH)
    r["n_train_pairs"], r["test_queries"] = r["steps"] * BATCH, len(test.judged_queries())
    model = load_model("default")
    r["fpt"] = flops_per_token(model)
    r["tokens_per_pair"] = count_tokens(model.tokenizer, pairs["anchor"] + pairs["positive"]) / len(pairs["anchor"])
    del model
    print("training:", flush=True)
    train_set = {k: v[: r["steps"] * BATCH] for k, v in pairs.items()}
    r["train"] = bench_training(train_set, r["steps"], r["tokens_per_pair"], r["fpt"], r["matmul"], test)
    r["profile"] = profile_step(pairs, resolve_precision("auto", "cpu"), 1 if quick else PROFILE_STEPS)
    corpus = list(test.corpus.values())
    texts = corpus[: 64 if quick else 256]
    mixed = [t for pair in zip(corpus[:512], list(test.queries.values())[:512]) for t in pair]
    r["n_texts"], r["padding"] = len(texts), padding_waste(mixed)
    print("encode:", flush=True)
    r["encode"], r["static"] = bench_encode(model_dir, texts, quick, corpus[-300:], test)
    r["gpu"] = (f"GPU: {torch.cuda.get_device_name(0)} was present in this run." if torch.cuda.is_available() else
                "This run had no GPU, so it gives no GPU figures.")
    r["load_end"], r["machine_use"], r["quick"] = load_avg(), watch.note(), quick
    return r


CACHE = ROOT / "bench-out" / "speed" / "results.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: few steps and texts; docs not rewritten")
    parser.add_argument("--data", default=str(Path.home() / ".cache" / "densefit" / "bench-manpages"),
                        help="man-page IR set folder (built there when missing)")
    parser.add_argument("--model", default="default", help="model the encode paths and the static tier use "
                        "(default: the bundled MiniLM; a tuned run's model folder shows the static tier of a tuned "
                        "model)")
    parser.add_argument("--cached", action="store_true", help=f"rewrite the section from {CACHE} (the last full "
                        "run's figures) without measuring")
    parser.add_argument("--write-doc", action="store_true", help="rewrite the docs section even with --quick")
    args = parser.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.cached:
        r = json.loads(CACHE.read_text())
    else:
        r = run(args.quick, Path(args.data), args.model)
        if not args.quick:  # the figures are kept before any formatting, so a report bug never loses a run
            CACHE.parent.mkdir(parents=True, exist_ok=True)
            CACHE.write_text(json.dumps(r, indent=2, default=str))
    r["verdict"], r["why"] = verdict(r), explain(r)
    command = ".venv/bin/python bench/speed.py" if not r.get("quick") else \
        ".venv/bin/python bench/speed.py --quick --write-doc  (smoke mode: 3 training steps, 64 texts)"
    text = section(r, command)
    print(text)
    if not r.get("quick") or args.write_doc:
        common.write_section(text, BEGIN, END)
        print(f"updated {DOC}", file=sys.stderr)


if __name__ == "__main__":
    main()
