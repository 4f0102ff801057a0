"""The batch encode job: streaming parts, resume after SIGKILL without duplicates, several workers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from densefit.errors import ConfigError, DataError
from densefit.inference.batch import EncodeJobConfig, done_parts, parts_dir, run_encode_job
from densefit.inference.encoder import Encoder
from densefit.models import load_model
from tests.conftest import WORDS


def texts_file(path: Path, n: int) -> Path:
    rng = np.random.default_rng(0)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            words = rng.choice(WORDS, size=int(rng.integers(1, 30)))
            fh.write(json.dumps({"id": f"doc{i}", "text": " ".join(words)}) + "\n")
    return path


def read_out(path: Path):
    table = pq.read_table(path)
    return table.column("row").to_pylist(), table.column("id").to_pylist(), np.stack(
        table.column("embedding").to_numpy(zero_copy_only=False))


def expected(tiny_model: str, path: Path) -> np.ndarray:
    texts = [json.loads(line)["text"] for line in open(path, encoding="utf-8")]
    return Encoder(load_model(tiny_model), precision="fp32").encode(texts)


def test_job_writes_every_row_once_in_input_order(tiny_model, tmp_path):
    data = texts_file(tmp_path / "in.jsonl", 50)
    cfg = EncodeJobConfig(model=tiny_model, input=str(data), out=str(tmp_path / "e.parquet"), chunk_size=16,
                          backend="torch", precision="fp32")
    result = run_encode_job(cfg)
    rows, ids, emb = read_out(tmp_path / "e.parquet")
    assert result.rows == 50 and result.parts_written == 4 and rows == list(range(50))
    assert ids == [f"doc{i}" for i in range(50)]
    assert np.allclose(emb, expected(tiny_model, data), atol=1e-5)
    assert not parts_dir(cfg).exists()
    with pytest.raises(ConfigError, match="already exists"):
        run_encode_job(cfg)


def test_resume_after_sigkill_has_no_duplicates_and_no_gaps(tiny_model, tmp_path):
    data, out = texts_file(tmp_path / "in.jsonl", 1200), tmp_path / "e.parquet"
    cmd = [sys.executable, "-c", "from densefit.cli.app import main; main()", "encode", "--model", tiny_model, "--input", str(data),
           "--out", str(out), "--chunk-size", "8", "--batch-size", "8", "--backend", "torch", "--precision", "fp32"]
    cfg = EncodeJobConfig(model=tiny_model, input=str(data), out=str(out), chunk_size=8, batch_size=8,
                          backend="torch", precision="fp32")  # auto is bf16 on CPUs with AVX512-BF16
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 120
    while len(done_parts(cfg)) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = done_parts(cfg)
    assert 3 <= len(before) < 150 and not out.exists(), "the job must be killed mid-way"
    result = run_encode_job(cfg)
    assert result.parts_done_before == len(before) and result.parts_written == 150 - len(before)
    rows, ids, emb = read_out(out)
    assert rows == list(range(1200)) and len(set(ids)) == 1200
    assert np.allclose(emb, expected(tiny_model, data), atol=1e-5)


def test_two_worker_processes_give_the_same_output(tiny_model, tmp_path):
    data = texts_file(tmp_path / "in.jsonl", 40)
    one = EncodeJobConfig(model=tiny_model, input=str(data), out=str(tmp_path / "one.parquet"), chunk_size=8,
                          backend="torch")
    two = EncodeJobConfig(model=tiny_model, input=str(data), out=str(tmp_path / "two.parquet"), chunk_size=8,
                          backend="torch", workers=2)
    run_encode_job(one), run_encode_job(two)
    r1, i1, e1 = read_out(tmp_path / "one.parquet")
    r2, i2, e2 = read_out(tmp_path / "two.parquet")
    assert r1 == r2 == list(range(40)) and i1 == i2
    assert np.allclose(e1, e2, atol=1e-5)


def test_changed_job_refuses_old_parts(tiny_model, tmp_path):
    data = texts_file(tmp_path / "in.jsonl", 20)
    cfg = EncodeJobConfig(model=tiny_model, input=str(data), out=str(tmp_path / "e.parquet"), chunk_size=8)
    parts_dir(cfg).mkdir()
    (parts_dir(cfg) / "job.json").write_text(json.dumps({"input": "other"}))
    (parts_dir(cfg) / "part-00000.parquet").write_bytes(b"a finished part of the other job")
    with pytest.raises(ConfigError, match="different job"):
        run_encode_job(cfg)


def test_a_model_that_fails_to_load_leaves_no_parts_folder_and_the_fixed_run_works(tiny_model, tmp_path):
    from densefit.errors import ModelLoadError

    data = texts_file(tmp_path / "in.jsonl", 20)
    broken = EncodeJobConfig(model=str(tmp_path / "no-such-model"), input=str(data), out=str(tmp_path / "e.parquet"))
    with pytest.raises(ModelLoadError):
        run_encode_job(broken)
    assert not parts_dir(broken).exists() and not (tmp_path / "e.parquet").exists()
    fixed = EncodeJobConfig(model=tiny_model, input=str(data), out=str(tmp_path / "e.parquet"))
    assert run_encode_job(fixed).rows == 20


def test_missing_text_field_names_file_line_and_field(tiny_model, tmp_path):
    data = tmp_path / "in.jsonl"
    data.write_text('{"text": "ok"}\n{"body": "no text"}\n')
    with pytest.raises(DataError, match=r"in.jsonl:2: field 'text'"):
        run_encode_job(EncodeJobConfig(model=tiny_model, input=str(data), out=str(tmp_path / "e.parquet")))


def test_plain_text_input_one_text_per_line(tiny_model, tmp_path):
    data = tmp_path / "in.txt"
    data.write_text("first text\nsecond text\nthird\n")
    result = run_encode_job(EncodeJobConfig(model=tiny_model, input=str(data), out=str(tmp_path / "e.parquet")))
    rows, ids, emb = read_out(tmp_path / "e.parquet")
    assert result.rows == 3 and ids == ["0", "1", "2"] and emb.shape == (3, 32)
