"""The real `densefit` console script, end to end on a small fixture."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DENSEFIT = str(Path(sys.executable).with_name("densefit"))


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run([DENSEFIT, *args], capture_output=True, text=True, timeout=600, env=full_env)


def test_train_then_eval_side_by_side(tiny_model, pairs_file, ir_set, tmp_path):
    out = tmp_path / "run"
    trained = run_cli("train", "--model", tiny_model, "--train", str(pairs_file), "--eval", str(ir_set),
                      "--out", str(out), "--max-steps", "4", "--batch-size", "8", "--lr", "1e-3")
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert "loss mnr (default for retrieval data)" in trained.stderr
    summary = json.loads((out / "train.json").read_text())
    assert summary["train"]["steps"] == 4 and summary["metrics_before"] and summary["metrics_after"]
    assert (out / "model" / "model.safetensors").is_file()

    evaluated = run_cli("eval", "--model", tiny_model, "--model", str(out), "--data", str(ir_set), "--bm25",
                        "--json")
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    table = json.loads(evaluated.stdout)
    assert list(table) == ["bm25", tiny_model, str(out)]
    assert table[str(out)]["mrr@10"] == pytest.approx(summary["metrics_after"]["mrr@10"], abs=1e-6)


def test_data_check_reports_format_and_leakage(tiny_model, ir_set, tmp_path):
    from ..conftest import write_jsonl

    from densefit.data.beir import load_beir

    test = load_beir(ir_set, "test")
    qid = next(iter(test.judged_queries()))
    leaked = write_jsonl(tmp_path / "leaky.jsonl", [{"query": test.queries[qid], "positive": "some doc"},
                                                    {"query": "a question of its own", "positive": "other"}])
    checked = run_cli("data", "check", str(leaked), "--eval", str(ir_set), "--model", tiny_model, "--json")
    assert checked.returncode == 0, checked.stderr[-3000:]
    report = json.loads(checked.stdout)
    assert report["files"][0]["summary"]["format"] == "pairs"
    assert report["files"][0]["summary"]["rows_kept"] == 2
    leak = next(item for item in report["leakage"] if item["right"] == str(ir_set))
    assert leak["shared_queries"] == 1 and leak["shared_positives"] == 0


def test_bad_line_is_one_clear_error_without_traceback(tiny_model, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"anchor": "a", "positive": "b"}\n{"anchor": "c", "positive": \n')
    result = run_cli("train", "--model", tiny_model, "--train", str(bad), "--out", str(tmp_path / "run"))
    assert result.returncode == 2
    assert f"{bad}:2" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run" / "model").exists()


def test_unreachable_hub_model_is_one_clear_error(ir_set):
    result = run_cli("eval", "--model", "someorg/some-model", "--data", str(ir_set))
    assert result.returncode == 2
    assert "someorg/some-model" in result.stderr and "unreachable" in result.stderr
    assert "--model default" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_loss_lists_valid_losses(tiny_model, pairs_file, tmp_path):
    result = run_cli("train", "--model", tiny_model, "--train", str(pairs_file), "--loss", "nope",
                     "--out", str(tmp_path / "r"))
    assert result.returncode == 2
    assert "valid losss" not in result.stderr
    assert "cached-mnr" in result.stderr and "online-contrastive" in result.stderr


def test_a_flag_at_its_default_value_still_beats_the_yaml_file(tiny_model, pairs_file, tmp_path):
    """Precedence is defaults < --config < flags, also for a flag given at the field's own default."""
    config = tmp_path / "run.yaml"
    config.write_text(f"model: {tiny_model}\ntrain: {pairs_file}\nepochs: 3\nseed: 5\nbatch_size: 8\n"
                      "report: false\nmethod: supervised\n")
    out = tmp_path / "run"
    trained = run_cli("train", "--config", str(config), "--epochs", "1", "--seed", "0", "--max-steps", "2",
                      "--out", str(out), "--no-progress")
    assert trained.returncode == 0, trained.stderr[-3000:]
    settings = json.loads((out / "train.json").read_text())["config"]
    assert settings["epochs"] == 1.0 and settings["seed"] == 0  # the flags, though 0 is seed's default
    assert settings["batch_size"] == 8 and settings["report"] is False  # the file, where no flag was given


def test_train_help_is_grouped_in_panels_with_defaults_from_the_config():
    shown = run_cli("train", "--help", env={"COLUMNS": "200"})
    assert shown.returncode == 0, shown.stderr
    for panel in ("Data", "Training", "Mining", "Methods", "Report"):
        assert f"─ {panel} " in shown.stdout, panel
    assert "--mine-depth" in shown.stdout and "[default: 50]" in shown.stdout
    assert "--lr" in shown.stdout and "--learning-rate" in shown.stdout


def test_eval_hybrid_reports_every_mode_and_chooses_on_the_dev_split(tiny_model, tmp_path):
    import random

    from densefit.data.beir import write_beir
    from densefit.evaluation.fusion import WEIGHTS

    from ..conftest import sentence

    rng = random.Random(3)
    corpus = {f"d{i}": {"text": sentence(rng, 12)} for i in range(60)}
    queries = {f"q{i}": " ".join(rng.sample(corpus[f"d{i}"]["text"].split(), 3)) for i in range(40)}
    qrels = {f"q{i}": {f"d{i}": 1} for i in range(40)}
    ir = write_beir(tmp_path / "ir", corpus, queries, {"dev": {q: qrels[q] for q in list(qrels)[:20]},
                                                        "test": {q: qrels[q] for q in list(qrels)[20:]}})
    shown = run_cli("eval", "--model", tiny_model, "--data", str(ir), "--hybrid", "auto", "--json", "--k", "10")
    assert shown.returncode == 0, shown.stderr[-3000:]
    out = json.loads(shown.stdout)
    assert len(out["metrics"]) == 4 and out["weight"] in WEIGHTS
    assert out["chosen"] in ("dense", "rrf", "convex") and out["dev_choice"]["chosen"] == out["chosen"]
    assert set(out["vs_dense_ndcg@10"]) == {"lexical", "rrf", "convex"}
    refused = run_cli("eval", "--model", tiny_model, "--data", str(ir), "--hybrid", "on", "--split", "dev")
    assert refused.returncode == 2 and "--split test" in refused.stderr and "Traceback" not in refused.stderr
