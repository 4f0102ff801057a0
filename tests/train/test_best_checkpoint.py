"""--eval-steps evaluates during training, on the dev split when there is one, and keeps the best."""

from __future__ import annotations

import json

import densefit
from densefit.data.beir import load_beir, write_beir


def _with_dev(ir_dir, out_dir):
    """Copy an IR set and give it a dev split made of its train queries."""
    test, train = load_beir(ir_dir, "test"), load_beir(ir_dir, "train")
    corpus = {d: {"text": t} for d, t in test.corpus.items()}
    return write_beir(out_dir, corpus, test.queries, {"train": train.qrels, "dev": train.qrels, "test": test.qrels})


def test_eval_steps_selects_the_best_checkpoint_on_dev(tiny_model, pairs_file, ir_set, tmp_path):
    data = _with_dev(ir_set, tmp_path / "ir_dev")
    run = densefit.fit(model=tiny_model, train_data=pairs_file, eval_data=data, out=tmp_path / "run",
                       epochs=2, batch_size=8, learning_rate=1e-3, eval_steps=4, save_total_limit=1)
    summary = json.loads(run.train_json.read_text())
    evals = [e for e in summary["train"]["log_history"] if "eval_ir_ndcg@10" in e]
    assert [e["step"] for e in evals] == [4, 8, 12, 16]
    best = max(evals, key=lambda e: e["eval_ir_ndcg@10"])
    assert summary["train"]["best_checkpoint"].endswith(f"checkpoint-{best['step']}")
    assert (tmp_path / "run" / "checkpoints" / f"checkpoint-{best['step']}").is_dir()  # kept despite the limit
    assert summary["eval"]["split"] == "test" and summary["metrics_after"]
