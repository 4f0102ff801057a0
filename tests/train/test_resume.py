"""A run killed with SIGKILL mid-epoch and resumed matches an uninterrupted run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import densefit
from densefit.train.checkpoints import MARKER, complete_checkpoints

OPTIONS = dict(epochs=2, batch_size=8, learning_rate=1e-3, save_steps=3, logging_steps=1, seed=7)
KILL_AT_STEP = 7  # after checkpoint-6, in the middle of the first epoch (8 steps per epoch)

KILLER = textwrap.dedent("""
    import os, signal, sys
    from transformers import TrainerCallback
    import densefit

    class KillAt(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == {step}:
                os.kill(os.getpid(), signal.SIGKILL)

    densefit.fit(model=sys.argv[1], train_data=sys.argv[2], out=sys.argv[3], callbacks=[KillAt()], **{options})
""")


def losses(train_json: Path) -> dict[int, float]:
    history = json.loads(train_json.read_text())["train"]["log_history"]
    return {e["step"]: e["loss"] for e in history if "loss" in e}


def test_sigkill_then_resume_matches_uninterrupted(tiny_model, pairs_file, tmp_path):
    straight = densefit.fit(model=tiny_model, train_data=pairs_file, out=tmp_path / "straight", **OPTIONS)

    killed_dir = tmp_path / "killed"
    script = KILLER.format(step=KILL_AT_STEP, options=repr(OPTIONS))
    proc = subprocess.run([sys.executable, "-c", script, tiny_model, str(pairs_file), str(killed_dir)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert not (killed_dir / "train.json").exists() and not (killed_dir / "model").exists()
    assert [p.name for p in complete_checkpoints(killed_dir / "checkpoints")][-1] == "checkpoint-6"

    # a half-written checkpoint (no completion marker) must be ignored and cleaned up
    (killed_dir / "checkpoints" / "checkpoint-99").mkdir()
    resumed = densefit.fit(model=tiny_model, train_data=pairs_file, out=killed_dir, resume=True, **OPTIONS)

    summary = json.loads(resumed.train_json.read_text())
    assert summary["train"]["resumed_from"].endswith("checkpoint-6")
    assert not (killed_dir / "checkpoints" / "checkpoint-99").exists()
    a, b = losses(straight.train_json), losses(resumed.train_json)
    assert max(a) == max(b) == 16
    assert abs(a[16] - b[16]) < 1e-4
    assert all(abs(a[s] - b[s]) < 1e-4 for s in range(KILL_AT_STEP, 17))


def test_checkpoints_are_marked_complete(tiny_model, pairs_file, tmp_path):
    densefit.fit(model=tiny_model, train_data=pairs_file, out=tmp_path / "run", **OPTIONS)
    folders = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir() if p.name.startswith("check"))
    assert folders == ["checkpoint-15", "checkpoint-16"]  # save_total_limit=2 keeps the newest two
    for name in folders:
        assert (tmp_path / "run" / "checkpoints" / name / MARKER).is_file()
        assert (tmp_path / "run" / "checkpoints" / name / "model.safetensors").is_file()
    assert not (tmp_path / "run" / "checkpoints" / ".staging").exists()


def test_existing_run_is_not_overwritten_without_resume(tiny_model, pairs_file, tmp_path):
    import pytest

    from densefit.errors import ConfigError

    densefit.fit(model=tiny_model, train_data=pairs_file, out=tmp_path / "run", max_steps=2, batch_size=8)
    with pytest.raises(ConfigError, match="--resume"):
        densefit.fit(model=tiny_model, train_data=pairs_file, out=tmp_path / "run", max_steps=2, batch_size=8)


def test_resume_refuses_a_different_run_unless_forced(tiny_model, pairs_file, tmp_path):
    import pytest

    from densefit.errors import ConfigError
    from densefit.train.fingerprint import FINGERPRINT

    run = dict(model=tiny_model, train_data=pairs_file, out=tmp_path / "run", max_steps=4, save_steps=2,
               batch_size=8, learning_rate=1e-3)
    densefit.fit(**run)
    recorded = json.loads((tmp_path / "run" / FINGERPRINT).read_text())
    assert recorded["batch_size"] == 8 and recorded["learning_rate"] == 1e-3 and len(recorded["data"]) == 64
    other_data = tmp_path / "other.jsonl"
    other_data.write_text(Path(pairs_file).read_text() + json.dumps({"anchor": "one more", "positive": "row"}) + "\n")
    for change, named in ((dict(learning_rate=2e-3), "learning_rate: was 0.001, now 0.002"),
                          (dict(batch_size=4), "batch_size: was 8, now 4"),
                          (dict(train_data=other_data), "data: was"),
                          (dict(loss="cached-mnr"), "loss: was 'MultipleNegativesRankingLoss'"),
                          (dict(loss="mnr-symmetric"), "now 'MultipleNegativesRankingLoss(query_to_doc+doc_to_query")):
        with pytest.raises(ConfigError, match="--resume-force") as refused:
            densefit.fit(**{**run, **change}, resume=True)
        assert named in str(refused.value)
    densefit.fit(**{**run, "learning_rate": 2e-3}, resume=True, resume_force=True)
    forced = json.loads((tmp_path / "run" / FINGERPRINT).read_text())
    assert forced["learning_rate"] == 2e-3 and forced["forced_over"] == {"learning_rate": 1e-3}


def test_a_staged_model_left_by_a_killed_final_save_is_removed(tiny_model, pairs_file, tmp_path):
    out = tmp_path / "run"
    leftover = out / ".model.k1ll3d"
    leftover.mkdir(parents=True)
    (leftover / "model.safetensors").write_bytes(b"half a model")
    densefit.fit(model=tiny_model, train_data=pairs_file, out=out, max_steps=2, batch_size=8, resume=True)
    assert not leftover.exists() and (out / "model" / "model.safetensors").is_file()
    assert not list(out.glob(".model.*"))
