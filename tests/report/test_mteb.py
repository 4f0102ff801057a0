"""MTEB: a local BEIR folder as a custom retrieval task evaluated through mteb; hub tasks offline."""

from __future__ import annotations

import json

import pytest

from densefit.report.mteb_task import DatasetUnreachableError, hub_task, run_mteb, task_name_for


def test_local_beir_folder_runs_through_mteb(tmp_path, tiny_model, report_data):
    import densefit

    _, ir, _ = report_data
    results = run_mteb(tiny_model, [str(ir)], tmp_path / "mteb")
    name = task_name_for(ir)
    assert name == "DensefitIrRetrieval" and set(results) == {name}
    saved = json.loads(open(results[name]["path"]).read())  # MTEB's own result format
    assert saved["task_name"] == name and "mteb_version" in saved
    test_scores = saved["scores"]["test"][0]
    assert test_scores["main_score"] == pytest.approx(results[name]["main_score"])
    ours = densefit.evaluate(tiny_model, ir)["ndcg@10"]
    assert test_scores["ndcg_at_10"] == pytest.approx(ours, abs=1e-3)
    assert (tmp_path / "mteb" / "results" / "densefit__st").is_dir()


def test_hub_task_fails_fast_and_clearly_offline(monkeypatch):
    import datasets.config
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # densefit itself must notice the hub is unreachable
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr("densefit.models.hub_reachable", lambda *a, **k: False)
    with pytest.raises(DatasetUnreachableError, match="dataset not reachable") as info:
        hub_task("Banking77Classification")
    assert "mteb/banking77" in str(info.value) and "Offline" in str(info.value)
    assert constants.HF_HUB_OFFLINE is False  # restored afterwards


def test_unknown_task_lists_choices():
    from densefit.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match="a BEIR folder path"):
        hub_task("NoSuchTaskAnywhere")
