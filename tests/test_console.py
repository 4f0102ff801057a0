"""Long stages show densefit's rich progress bar, --no-progress hides it, and no library draws a tqdm bar."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_ir_set, write_jsonl

DENSEFIT = str(Path(sys.executable).with_name("densefit"))


def run(*args) -> str:
    done = subprocess.run([DENSEFIT, *map(str, args)], capture_output=True, text=True, timeout=600,
                          env={k: v for k, v in os.environ.items() if k != "DENSEFIT_NO_PROGRESS"})
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stderr


@pytest.fixture(scope="module")
def big_ir(tmp_path_factory):
    return make_ir_set(tmp_path_factory.mktemp("big") / "ir", n_docs=2500, n_queries=20)


def test_eval_of_a_large_corpus_shows_one_rich_bar_and_no_tqdm(big_ir, tiny_model):
    said = run("eval", "--model", tiny_model, "--data", big_ir, "--json")
    assert "encode" in said and "2500/2500 texts" in said
    assert "it/s" not in said and "Loading weights" not in said  # tqdm's marks: no library bar was drawn


@pytest.mark.parametrize("where", ["command", "global"])
def test_no_progress_hides_it(big_ir, tiny_model, where):
    args = ["eval", "--model", tiny_model, "--data", big_ir, "--json"]
    said = run(*(args + ["--no-progress"] if where == "command" else ["--no-progress", *args]))
    assert "2500/2500" not in said


def test_training_shows_its_steps_and_loss(tmp_path, tiny_model):
    pairs = write_jsonl(tmp_path / "pairs.jsonl", [{"anchor": f"query {i}", "positive": f"doc {i} text"}
                                                   for i in range(40)])
    said = run("train", "--model", tiny_model, "--train", pairs, "--out", tmp_path / "run", "--max-steps", "3",
               "--batch-size", "8", "--no-report")
    assert "train" in said and "3/3 steps" in said and "loss " in said
    assert "{'loss'" not in said  # the trainer's raw log dicts are not printed
