"""TSDAE, MLM and multilingual distillation, each against the untrained model in the same run.

    flock /tmp/densefit-bench.lock .venv/bin/python bench/lowres.py [--quick] [--only tsdae,mlm,distill]

- TSDAE and MLM see only the man-page corpus (no queries); they are scored on the man-page test
  split (500 queries) against zero-shot MiniLM, evaluated in this run.
- Distillation: teacher MiniLM on English (KJV), student MiniLM on English and Spanish (RV1909);
  scored by EN->ES retrieval over the held-out Spanish verses and by translation-match accuracy,
  against the untrained student.

Rewrites the LOWRES section of docs/benchmarks.md. `bench/methods.py` can call `run_tsdae`,
`run_mlm`, `run_mlm_tsdae` and `run_distill`; each returns one result row (a dict).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import time
from pathlib import Path


from common import machine  # noqa: E402

from transformers import TrainerCallback  # noqa: E402

import common  # noqa: E402  (bench/common.py: machine line, sections, server helpers)
from densefit.config import TrainConfig  # noqa: E402

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
BEGIN, END = "<!-- LOWRES:BEGIN -->", "<!-- LOWRES:END -->"
IR_KEYS = ("mrr@10", "ndcg@10", "recall@100")
TM = "translation_match@1"
EVAL_TOKENS = 256  # every man-page model is scored at MiniLM's own limit, whatever length it trained on
# Each training is time-boxed (the machine is shared, so steps/s vary): it stops after the first of
# MAX_STEPS steps or --budget seconds; the learning rate decays linearly over MAX_STEPS.
MAX_STEPS, QUICK_STEPS, WARMUP = 400, 3, 0.02
# The time box lets the student see ~1,000 pairs on this shared CPU; more pairs only cost teacher encoding.
DISTILL_TRAIN, DISTILL_TEST = 1000, 500


class TimeBudget(TrainerCallback):
    """Stops training once `seconds` have passed since the first step ended."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.start = seconds, None

    def on_step_end(self, args, state, control, **kwargs):
        self.start = self.start or time.perf_counter()
        if time.perf_counter() - self.start > self.seconds:
            control.should_training_stop = True
        return control


def _cfg(args, name: str, method: str, **kw) -> TrainConfig:
    out = Path(args.out) / name
    shutil.rmtree(out, ignore_errors=True)
    steps = QUICK_STEPS if args.quick else MAX_STEPS
    return TrainConfig(model="default", method=method, out=str(out), max_steps=steps, warmup_ratio=WARMUP, seed=0,
                       logging_steps=5, report=False, **kw)


def _run(args, cfg: TrainConfig, budget: float | None = None):
    from densefit.methods.registry import run_method

    return run_method(cfg, callbacks=[TimeBudget(budget or args.budget)])


def _row(name: str, result, before: dict, keys=IR_KEYS) -> dict:
    train = result.summary["train"]
    return {"name": name, "before": {k: before[k] for k in keys}, "after": {k: result.metrics_after[k] for k in keys},
            "steps": train["steps"], "rows": train["rows"], "train_s": result.summary["timings"]["train_s"],
            "final_loss": train["final_loss"]}


def _evaluate(result, data: str) -> None:
    """Score a finished run's model once (the runs themselves skip --eval to save an evaluation)."""
    from densefit.api import evaluate

    result.metrics_after = evaluate(str(result.model_path), data, max_seq_length=EVAL_TOKENS)


def zero_shot(data: str) -> dict:
    from densefit.api import evaluate

    return evaluate("default", data, max_seq_length=EVAL_TOKENS)


def cls_control(args, data: str, zs: dict) -> dict:
    """Untrained MiniLM with TSDAE's CLS pooling: separates the pooling switch from the training."""
    from densefit.api import evaluate
    from densefit.inference.encoder import Encoder
    from densefit.methods.tsdae import with_pooling
    from densefit.models import load_model

    metrics = evaluate(Encoder(with_pooling(load_model("default", max_seq_length=EVAL_TOKENS), "cls")), data)
    return {"name": "control: MiniLM with CLS pooling, no training", "before": {k: zs[k] for k in IR_KEYS},
            "after": {k: metrics[k] for k in IR_KEYS}, "steps": 0, "rows": 0, "train_s": 0.0, "final_loss": None}


def run_tsdae(args, data: str, zs: dict, pooling: str = "cls") -> dict:
    name = "tsdae" if pooling == "cls" else f"tsdae_{pooling}"
    cfg = _cfg(args, name, "tsdae", corpus=f"{data}/corpus.jsonl", batch_size=8, learning_rate=3e-5,
               max_seq_length=48, tsdae_pooling=pooling)
    result = _run(args, cfg)
    _evaluate(result, data)
    return _row(f"TSDAE ({pooling} pooling)", result, zs)


def run_mlm(args, data: str, zs: dict) -> dict:
    cfg = _cfg(args, "mlm", "mlm", corpus=f"{data}/corpus.jsonl", batch_size=16, learning_rate=5e-5,
               max_seq_length=128)
    result = _run(args, cfg)
    _evaluate(result, data)
    return _row("MLM, then MiniLM's mean pooling", result, zs)


def run_mlm_tsdae(args, data: str, zs: dict) -> dict:
    cfg = _cfg(args, "mlm_tsdae", "tsdae", corpus=f"{data}/corpus.jsonl", batch_size=8, learning_rate=3e-5,
               max_seq_length=48, mlm_first=True, mlm_max_steps=QUICK_STEPS if args.quick else args.mlm_stage_steps)
    result = _run(args, cfg)
    _evaluate(result, data)
    return _row("MLM then TSDAE (cls)", result, zs)


def run_distill(args, bible: Path) -> dict:
    cfg = _cfg(args, "distill", "distill", train=str(bible / "train.tsv"), eval=str(bible / "test"),
               batch_size=16, learning_rate=2e-4, max_seq_length=80)
    result = _run(args, cfg, args.distill_budget)
    return _row("distillation EN->ES (student MiniLM)", result, result.metrics_before,
                keys=(TM, f"{TM}_src2tgt", f"{TM}_tgt2src", "mrr@10", "ndcg@10"))


def manpages(args) -> str:
    from densefit.data.builders.manpages import build_manpages

    out = Path(args.out) / "data" / "manpages"
    if not (out / "corpus.jsonl").is_file():
        build_manpages(out)
    if args.quick:
        from methods import subset  # bench/methods.py: a few queries and their documents

        return str(subset(out, Path(args.out) / "data" / "manpages-quick", n_queries=30))
    return str(out)


def bible(args) -> Path:
    from densefit.data.builders.bible import build_bible_parallel

    out = Path(args.out) / "data" / ("bible-quick" if args.quick else "bible")
    if not (out / "train.tsv").is_file():
        n = (64, 100) if args.quick else (DISTILL_TRAIN, DISTILL_TEST)
        build_bible_parallel(out, source="KJV", target="SpaRV", train=n[0], test=n[1], seed=0)
    return out


# ------------------------------------------------------------------------------------------- report

def _table(rows: list[dict], keys) -> str:
    head = "| run | steps | train s | " + " | ".join(f"{k} before → after (Δ)" for k in keys) + " |"
    lines = [head, "|" + "---|" * (3 + len(keys))]
    for r in rows:
        cells = " | ".join(f"{r['before'][k]:.4f} → {r['after'][k]:.4f} ({r['after'][k] - r['before'][k]:+.4f})"
                           for k in keys)
        lines.append(f"| {r['name']} | {r['steps']} | {r['train_s']:.0f} | {cells} |")
    return "\n".join(lines)


def verdicts(ir_rows: list[dict], distill: dict | None) -> list[str]:
    out = [f"- {r['name']}: {'beats' if r['after']['mrr@10'] > r['before']['mrr@10'] else 'does NOT beat'} "
           f"zero-shot MiniLM on MRR@10 ({r['after']['mrr@10'] - r['before']['mrr@10']:+.4f}, "
           f"ratio {r['after']['mrr@10'] / r['before']['mrr@10']:.2f}x)" for r in ir_rows]
    if distill:
        b, a = distill["before"][f"{TM}_src2tgt"], distill["after"][f"{TM}_src2tgt"]
        out.append(f"- target \"distillation raises EN→ES top-1 translation-match accuracy over the untrained "
                   f"student\": **{'met' if a > b else 'NOT met'}** ({b:.4f} → {a:.4f}, ratio {a / b:.2f}x)")
    return out


def section(args, ir_rows: list[dict], distill: dict | None, zs: dict | None, seconds: float, shared: str) -> str:
    parts = [BEGIN, "## Low-resource methods: TSDAE, MLM, multilingual distillation", "",
             f"- command: `{args.command}`", f"- date: {dt.date.today().isoformat()}", f"- machine: {machine()}",
             f"- {shared}", f"- each training is time-boxed: {args.budget:.0f} s or {MAX_STEPS} steps, whichever comes "
             "first (linear decay over the step cap), fp32; the step counts below are what the box allowed",
             f"- whole run: {seconds:.0f} s" + (" (--quick smoke run: figures mean nothing)"
                                                             if args.quick else "")]
    if ir_rows:
        parts += ["", "Man pages, test split (500 queries, 1,100 pages); corpus-only training on the page texts; "
                  f"zero-shot MiniLM MRR@10 {zs['mrr@10']:.4f}, nDCG@10 {zs['ndcg@10']:.4f}. "
                  "TSDAE: batch 8, 48 tokens, deletion 0.6, tied decoder; MLM: batch 16, 128 tokens, 15% masked.",
                  "", _table(ir_rows, IR_KEYS)]
    if distill:
        parts += ["", f"Bible KJV→RV1909: {DISTILL_TRAIN:,} training pairs, {DISTILL_TEST:,} held-out verses "
                  "(EN queries → ES corpus). "
                  f"Teacher and untrained student: the bundled MiniLM. Batch 16, lr 2e-4, 80 tokens, "
                  f"{args.distill_budget:.0f} s box.", "",
                  _table([distill], list(distill["before"]))]
    parts += ["", *verdicts(ir_rows, distill), END]
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few steps each: checks the code path, not quality")
    parser.add_argument("--out", default="/tmp/densefit-bench-lowres")
    parser.add_argument("--budget", type=float, default=150.0, help="seconds of training per method")
    parser.add_argument("--distill-budget", type=float, default=300.0, help="seconds of distillation training")
    parser.add_argument("--mlm-stage-steps", type=int, default=40, help="MLM steps before TSDAE in mlm_tsdae")
    parser.add_argument("--only", default="distill,cls_control,tsdae,mlm",
                        help="comma-separated: distill, cls_control, tsdae, tsdae_mean, mlm, mlm_tsdae")
    parser.add_argument("--shared", default="the machine was shared with other jobs during the run",
                        help="note on machine load for the doc")
    args = parser.parse_args()
    args.command = ".venv/bin/python " + " ".join(sys.argv)
    only = set(args.only.split(","))
    start = time.perf_counter()
    ir_rows, distill, zs = [], None, None
    if "distill" in only:  # first: it carries this bench's explicit target
        distill = run_distill(args, bible(args))
        print(distill, flush=True)
    if only & {"cls_control", "tsdae", "tsdae_mean", "mlm", "mlm_tsdae"}:
        data = manpages(args)
        zs = zero_shot(data)
        print(f"zero-shot MiniLM: {zs['mrr@10']:.4f} MRR@10", flush=True)
        runners = {"cls_control": lambda: cls_control(args, data, zs), "tsdae": lambda: run_tsdae(args, data, zs),
                   "tsdae_mean": lambda: run_tsdae(args, data, zs, "mean"), "mlm": lambda: run_mlm(args, data, zs),
                   "mlm_tsdae": lambda: run_mlm_tsdae(args, data, zs)}
        for name in [n for n in runners if n in only]:
            ir_rows.append(runners[name]())
            print(ir_rows[-1], flush=True)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "results.json").write_text(json.dumps({"zero_shot": zs, "ir": ir_rows, "distill": distill},
                                                            indent=2))
    text = section(args, ir_rows, distill, zs, time.perf_counter() - start, args.shared)
    print(text)
    if not args.quick:
        common.write_section(text, BEGIN, END)
        print(f"updated {DOC}")


if __name__ == "__main__":
    main()
