"""Run the demo and record its figures in docs/benchmarks.md.

    .venv/bin/python bench/demo.py [--out demo-out]

Writes the section between the DEMO markers: the command, machine, date, the
before/after table (BM25, zero-shot, fine-tuned) and the timings.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import common  # noqa: E402  (bench/common.py: machine line, sections, server helpers)
from common import machine
from densefit.demo import DemoConfig, run_demo

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
BEGIN, END = "<!-- DEMO:BEGIN -->", "<!-- DEMO:END -->"
KEYS = ("mrr@10", "ndcg@10", "recall@10", "recall@100", "hit@1")


def section(report: dict, command: str) -> str:
    m = report["metrics"]
    rows = "\n".join(f"| {k} | {m['bm25'][k]:.4f} | {m['zero_shot'][k]:.4f} | {m['fine_tuned'][k]:.4f} | "
                     f"{m['fine_tuned'][k] - m['zero_shot'][k]:+.4f} |" for k in KEYS)
    t = report["train"]["timings"]
    targets = "\n".join(f"- {name}: **{'met' if ok else 'NOT met'}**" for name, ok in report["targets"].items())
    return f"""{BEGIN}
## Demo: man pages, MiniLM-L6, MNR

- command: `{command}`
- date: {dt.date.today().isoformat()}
- machine: {machine()}
- data: {report['data']['pages']} pages, splits {report['data']['splits']} (test queries against the full corpus)
- training: {report['train_steps']} steps, precision {report['train']['precision']}, config {report['config']}

| metric | BM25 | zero-shot | fine-tuned | Δ vs zero-shot |
|---|---|---|---|---|
{rows}

{targets}

Timings: data build {report['data']['build_s']:.1f} s, training {t['train_s']:.0f} s, evaluation before
{t['eval_before_s']:.0f} s and after {t['eval_after_s']:.0f} s; **whole demo {report['timings']['total_s']:.0f} s**
(the man-page download was {'cached' if report['data']['build_s'] < 3 else 'included'}).
{END}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="demo-out")
    args = parser.parse_args()
    report = run_demo(DemoConfig(out=Path(args.out)))
    common.write_section(section(report, f"make demo  (or: python bench/demo.py --out {args.out})"), BEGIN, END)
    print(f"updated {DOC}")


if __name__ == "__main__":
    main()
