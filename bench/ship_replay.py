"""Replay a shipping rule on finished `densefit build` runs (bench/build.py's bench-out/build/runs/NAME):
the same carved dev split and the same tuned model go through the recipe's own `ship`, and the shipped
model is scored on the build's real test queries against the base. It changes no build.

    python bench/ship_replay.py --ship confident [--only chatterbot,pyapi]

Prints one line per domain: the dev scores, the dev gains' 95% CIs, what ships, and the test MRR@10 delta.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

import common

RUNS = Path(__file__).resolve().parent.parent / "bench-out" / "build" / "runs"


def replay(run: Path, rule: str) -> dict:
    from densefit.config import TrainConfig
    from densefit.data.beir import load_beir
    from densefit.evaluation.metrics import per_query_metrics
    from densefit.evaluation.retrieval import dense_run
    from densefit.inference.select import as_encoder
    from densefit.methods.common import load_base_model
    from densefit.methods.mining import corpus_texts
    from densefit.methods.recipe import carve_dev, dev_per_query, ship
    from densefit.methods.supervised import load_data
    from densefit.report.stats import compare_paired

    built = json.loads((run / "train" / "train.json").read_text())
    cfg = TrainConfig(train=str(run / "data"), model=built["config"]["model"], precision="fp32")
    data = load_data(cfg)
    pool, _ = corpus_texts(cfg, data.columns["positive"])
    _, dev = carve_dev(data.columns, built["recipe"]["dev"]["queries"], pool, cfg.seed)
    base = load_base_model(cfg)
    tuned = load_base_model(dataclasses.replace(cfg, model=str(run / "train" / "model")))
    with tempfile.TemporaryDirectory() as out:
        shipped, record = ship(dataclasses.replace(cfg, ship=rule, out=out), cfg.model, tuned, dev,
                               dev_per_query(base, dev, "fp32"), None)
    test = load_beir(str(run / "data"), "test")
    mrr = {name: per_query_metrics(dense_run(as_encoder(m, precision="fp32"), test, k=10), test.qrels, ks=(10,))
           ["mrr@10"] for name, m in (("base", base), ("shipped", shipped))}
    test_delta = compare_paired("mrr@10", mrr["base"], mrr["shipped"])
    return {"domain": run.name, "rule": rule, "shipped": record["shipped"], "dev": record["dev_ndcg@10"],
            "dev_gain_ci": record.get("dev_gain_ci"), "test_base": test_delta.a, "test_shipped": test_delta.b,
            "test_delta_ci": [test_delta.ci_low, test_delta.ci_high], "test_queries": test_delta.n}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ship", default="confident", help="the rule to replay: best, confident or tuned")
    ap.add_argument("--only", default="", help="comma-separated runs (default: every finished build)")
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n] or sorted(p.name for p in RUNS.iterdir() if (p / "train").is_dir())
    print(f"{common.machine()}, {common.today()}", flush=True)
    for name in names:
        r = replay(RUNS / name, args.ship)
        low, high = r["test_delta_ci"]
        print(json.dumps(r), flush=True)
        print(f"{name}: ships {r['shipped']}; test MRR@10 {r['test_base']:.4f} -> {r['test_shipped']:.4f} "
              f"({r['test_shipped'] - r['test_base']:+.4f} [{low:+.4f}, {high:+.4f}], {r['test_queries']} queries)",
              flush=True)


if __name__ == "__main__":
    sys.exit(main())
