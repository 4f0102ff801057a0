"""A full disk is a one-line error with the fix, never a traceback, for train, index and encode.

Run on a small real tmpfs, which needs root (mount); elsewhere the test skips and says why."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

DENSEFIT = str(Path(sys.executable).with_name("densefit"))


@pytest.fixture
def full_disk():
    """A 1 MB tmpfs: enough to start writing, too small for a checkpoint, a store or an encode."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root and mount(8) for a small tmpfs; not root here, so the full-disk paths are untested")
    folder = Path(tempfile.mkdtemp(prefix="densefit-full-"))
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True, text=True)
    if done.returncode != 0:
        folder.rmdir()
        pytest.skip(f"root, but this container may not mount a tmpfs ({done.stderr.strip()})")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)
        folder.rmdir()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("inputs")
    pairs, corpus = root / "pairs.jsonl", root / "corpus.jsonl"
    pairs.write_text("".join(json.dumps({"anchor": f"query {i} about files", "positive": f"document {i} on disks"})
                             + "\n" for i in range(200)))
    corpus.write_text("".join(json.dumps({"id": str(i), "text": f"document {i} about files and disks " * 4}) + "\n"
                              for i in range(3000)))
    return pairs, corpus


@pytest.mark.slow
@pytest.mark.parametrize("command", ["train", "index", "encode"])
def test_a_full_disk_is_one_line_with_the_fix(full_disk, inputs, tiny_model, command):
    pairs, corpus = inputs
    args = {"train": ["--train", pairs, "--out", full_disk / "run", "--max-steps", "4", "--save-steps", "2",
                      "--batch-size", "8", "--no-report"],
            "index": ["--corpus", corpus, "--store", full_disk / "store", "--no-progress"],
            "encode": ["--input", corpus, "--out", full_disk / "out.parquet"]}[command]
    done = subprocess.run([DENSEFIT, command, "--model", tiny_model, *map(str, args)], capture_output=True,
                          text=True, timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    said = " ".join(done.stderr.split())
    assert done.returncode == 2, said[-2000:]
    assert "error: disk full while" in said and "free space" in said and "Traceback" not in said
