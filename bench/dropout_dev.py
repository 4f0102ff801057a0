"""Which `--dropout` default: each choice's dev-split quality and training time, per domain.

    .venv/bin/python bench/dropout_dev.py                         # bible-es and chatterbot, 60 steps
    .venv/bin/python bench/dropout_dev.py --only pyapi --steps 30

The stock sentence-transformers trainer (MNR, batch 32, lr 5e-5, warm-up 0.1, no-duplicates batches,
bf16 where the CPU makes it fast) trains the bundled MiniLM for the same steps under each choice of
densefit.train.dropout; MRR@10 is taken on the domain's *dev* split (its queries against their documents
plus sampled other dev documents, DEV_DOCS in all), never on test. The rule it informs: the default is
the fastest choice whose dev MRR@10 is within TOLERANCE of the model's own dropout on every domain run.
Rows append to bench-out/dropout/results.jsonl; the closing lines are computed from this run's rows.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality  # noqa: E402  (bench/quality.py: the domains and their builders)
from speed import BATCH, _stock_args  # noqa: E402  (the stock script's training arguments)

from densefit.config import DROPOUT_CHOICES  # noqa: E402

OUT = quality.ROOT / "bench-out" / "dropout" / "results.jsonl"
DEV_DOCS = 1500
TOLERANCE = 0.01


def dev_subset(ds, n_docs: int = DEV_DOCS, seed: int = 0):
    """The dev queries against their own documents plus seeded other dev documents, n_docs in all."""
    from densefit.data.beir import IRSet

    relevant = {d for rels in ds.qrels.values() for d in rels}
    others = [d for d in ds.corpus if d not in relevant]  # corpus-file order, then a seeded shuffle
    random.Random(seed).shuffle(others)
    keep = relevant | set(others[: max(0, n_docs - len(relevant))])
    return IRSet(corpus={d: ds.corpus[d] for d in keep}, queries=ds.queries, qrels=ds.qrels, split="dev")


def pairs(train_set, n: int, seed: int = 0) -> dict[str, list[str]]:
    rows = [(train_set.queries[q], train_set.corpus[d]) for q, rels in train_set.qrels.items() for d in rels]
    random.Random(seed).shuffle(rows)
    return {"anchor": [a for a, _ in rows[:n]], "positive": [p for _, p in rows[:n]]}


def train_seconds(model, columns: dict, steps: int) -> float:
    """The stock script's run (bench/speed.py's stock arguments), on `model` as given, dropout and all."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from densefit.inference.precision import resolve_precision

    with tempfile.TemporaryDirectory() as tmp:
        args = _stock_args(Path(tmp), steps, bf16=resolve_precision("auto", "cpu") == "bf16")
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=Dataset.from_dict(columns),
                                             loss=MultipleNegativesRankingLoss(model))
        start = time.perf_counter()
        trainer.train()
        return time.perf_counter() - start


def run_one(domain: str, choice: str, steps: int) -> dict:
    from densefit.data.beir import load_beir
    from densefit.evaluation.retrieval import evaluate_retrieval
    from densefit.inference.encoder import Encoder
    from densefit.models import load_model
    from densefit.train.dropout import apply_dropout

    folder = quality.domain_dir(domain)
    dev = dev_subset(load_beir(folder, "dev"))
    model = load_model("default")
    seconds = 0.0
    if choice != "zero-shot":
        apply_dropout(model, choice)
        seconds = train_seconds(model, pairs(load_beir(folder, "train"), steps * BATCH), steps)
    mrr = evaluate_retrieval(Encoder(model, precision="fp32"), dev, ks=(10,), show_progress=False).metrics["mrr@10"]
    return {"domain": domain, "choice": choice, "steps": steps, "train_s": round(seconds, 1),
            "dev_mrr10": round(mrr, 4), "dev_queries": len(dev.queries), "dev_docs": len(dev.corpus)}


def conclusion(rows: list[dict]) -> list[str]:
    by = {(r["domain"], r["choice"]): r for r in rows}
    domains = sorted({r["domain"] for r in rows})
    fit = [c for c in DROPOUT_CHOICES
           if all((d, c) in by and by[(d, c)]["dev_mrr10"] >= by[(d, "model")]["dev_mrr10"] - TOLERANCE
                  for d in domains)]
    lines = []
    for d in domains:
        own = by[(d, "model")]
        lines.append(f"{d}: " + "; ".join(
            f"{c} {by[(d, c)]['dev_mrr10']:.4f} ({by[(d, c)]['dev_mrr10'] - own['dev_mrr10']:+.4f}, "
            f"{own['train_s'] / max(by[(d, c)]['train_s'], 1e-6):.2f}x the model's own speed)"
            for c in DROPOUT_CHOICES))
    speed = {c: sum(by[(d, c)]["train_s"] for d in domains) for c in fit}
    best = min(speed, key=speed.get) if speed else "model"
    lines.append(f"Within {TOLERANCE} of the model's own dropout on every domain: {', '.join(fit) or 'none'}; "
                 f"the fastest of them is {best}.")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="bible-es,chatterbot", help="comma-separated domains of bench/quality.py")
    parser.add_argument("--steps", type=int, default=60, help="training steps per choice (batch 32)")
    args = parser.parse_args()
    rows = []
    OUT.parent.mkdir(parents=True, exist_ok=True)
    for domain in args.only.split(","):
        for choice in ("zero-shot", *DROPOUT_CHOICES):
            rows.append(run_one(domain, choice, args.steps))
            print(json.dumps(rows[-1]), flush=True)
            with OUT.open("a") as f:
                f.write(json.dumps(rows[-1]) + "\n")
    print("\n".join(conclusion([r for r in rows if r["choice"] != "zero-shot"])))


if __name__ == "__main__":
    main()
