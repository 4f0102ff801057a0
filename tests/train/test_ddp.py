"""DDP correctness on CPU (gloo): 2 processes x batch 4 follow the same loss curve as 1 process x batch 8."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import WORDS, write_jsonl

WORKER = Path(__file__).with_name("ddp_worker.py")
TORCHRUN = Path(sys.executable).with_name("torchrun")
STEPS = 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dropout_free_model(folder: Path) -> str:
    """The conftest tiny BERT, but without dropout, so both runs compute the same function."""
    from sentence_transformers import SentenceTransformer

    from tests.conftest import build_tiny_model

    st_dir = build_tiny_model(folder)
    model = SentenceTransformer(str(st_dir))
    bert = model[0].auto_model
    bert.config.hidden_dropout_prob = bert.config.attention_probs_dropout_prob = 0.0
    model.save(str(folder / "nodrop"))
    return str(folder / "nodrop")


def sts_rows(n: int = 48) -> list[dict]:
    rng = random.Random(3)
    return [{"sentence1": " ".join(rng.choices(WORDS, k=5)), "sentence2": " ".join(rng.choices(WORDS, k=7)),
             "score": rng.random()} for _ in range(n)]


def run(nproc: int, model: str, data: Path, out: Path, per_device: int) -> list[float]:
    cmd = [str(TORCHRUN), "--nproc_per_node", str(nproc), "--master_addr", "127.0.0.1",
           "--master_port", str(free_port()), str(WORKER), model, str(data), str(out), str(per_device), str(STEPS)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(Path.cwd())}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "losses.json").read_text())
    assert result["world_size"] == nproc
    return result["losses"]


@pytest.mark.skipif(not TORCHRUN.exists(), reason="torchrun is not installed next to this Python")
def test_two_gloo_processes_match_one_process_with_the_same_global_batch(tmp_path):
    model = dropout_free_model(tmp_path / "m")
    data = write_jsonl(tmp_path / "sts.jsonl", sts_rows())
    single = run(1, model, data, tmp_path / "one", per_device=8)
    double = run(2, model, data, tmp_path / "two", per_device=4)
    assert len(single) == len(double) == STEPS
    assert single[0] != single[-1]  # training moved the loss, so equal curves are not trivially equal
    assert double == pytest.approx(single, rel=1e-3, abs=1e-5)
