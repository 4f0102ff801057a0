"""`densefit report`, `densefit compare` and `densefit eval --mteb` through the CLI."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from densefit.cli.app import app

runner = CliRunner()


def test_report_rebuilds_from_the_run_folder(trained_run, tmp_path):
    import shutil

    run = tmp_path / "run"  # a copy: the shared run keeps its own report
    shutil.copytree(trained_run.run_dir, run, ignore=shutil.ignore_patterns("checkpoints"))
    (run / "report.html").unlink()
    result = runner.invoke(app, ["report", str(run), "--forgetting", "none", "--no-bm25"])
    assert result.exit_code == 0, result.output
    data = json.loads((run / "report-data.json").read_text())
    assert list(data["headline"]["columns"]) == ["base", "fine-tuned"]
    ndcg = next(c for c in data["headline"]["comparisons"]["base"] if c["metric"] == "ndcg@10")
    assert abs(ndcg["b"] - trained_run.metrics_after["ndcg@10"]) < 1e-6  # re-evaluated, same numbers
    assert data["audit"]["files"][0]["summary"]["rows_kept"] == 96 and data["forgetting"] is None
    assert (run / "report.html").is_file() and (run / "model" / "README.md").is_file()


def test_compare_two_models(tmp_path, trained_run, tiny_model, report_data):
    _, ir, _ = report_data
    out = tmp_path / "cmp"
    result = runner.invoke(app, ["compare", "--model", tiny_model, "--model", str(trained_run.model_path),
                                 "--data", str(ir), "--out", str(out), "--bm25"])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "report-data.json").read_text())
    assert set(data["headline"]["comparisons"]) == {"base", "bm25"} and data["summary"] is None
    assert "<svg" in (out / "report.html").read_text()


def test_compare_needs_two_models_and_report_needs_a_run(tmp_path, tiny_model, report_data):
    _, ir, _ = report_data
    result = runner.invoke(app, ["compare", "--model", tiny_model, "--data", str(ir)])
    assert result.exit_code != 0 and "exactly two --model" in str(result.exception)
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert "not a densefit run folder" in str(result.exception)


def test_eval_mteb_flag_writes_mteb_results(tmp_path, tiny_model, report_data):
    _, ir, _ = report_data
    result = runner.invoke(app, ["eval", "--model", tiny_model, "--mteb", str(ir), "--mteb-out", str(tmp_path),
                                 "--json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout[result.stdout.index("{"):])
    assert 0 <= scores[tiny_model]["DensefitIrRetrieval"] <= 1
    assert list(tmp_path.glob("results/*/*/DensefitIrRetrieval.json"))
