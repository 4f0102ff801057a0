"""The demo pipeline end to end (short training, short texts) and the MiniLM integration."""

from __future__ import annotations

import json

import pytest

from densefit.demo import DemoConfig, run_demo


@pytest.mark.slow
def test_demo_runs_end_to_end_and_writes_its_report(tmp_path, monkeypatch):
    monkeypatch.setenv("DENSEFIT_CACHE", str(tmp_path / "cache"))
    report = run_demo(DemoConfig(out=tmp_path / "demo", epochs=0.1, max_seq_length=64))
    saved = json.loads((tmp_path / "demo" / "report.json").read_text())
    assert saved["metrics"]["bm25"]["mrr@10"] == pytest.approx(report["metrics"]["bm25"]["mrr@10"])
    assert saved["data"]["splits"]["test"] >= 500
    for name in ("bm25", "zero_shot", "fine_tuned"):
        assert 0 < saved["metrics"][name]["mrr@10"] <= 1
    assert saved["train_steps"] >= 1
    assert len(saved["examples"]) == 3 and all(len(e["after"]) == 5 for e in saved["examples"])
    assert set(saved["targets"]) == {"mrr@10 gain >= 0.15", "fine-tuned beats bm25"}
    assert (tmp_path / "demo" / "model" / "model.safetensors").is_file()
