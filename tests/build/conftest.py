"""A small documents folder of every kind, and `densefit build` / `densefit serve` as real processes."""

from __future__ import annotations

import gzip
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import sentence
from tests.data.test_documents import MAN_PAGE, make_pdf

ROOT = Path(__file__).resolve().parents[2]
TOPICS = ("disk", "memory", "socket", "signal", "thread", "clock", "packet", "kernel")


def paragraphs(rng: random.Random, topic: str, n: int) -> str:
    return "\n\n".join(f"The {topic} {sentence(rng, 8)}. It {sentence(rng, 10)}." for _ in range(n))


def make_docs(folder: Path, seed: int = 0) -> Path:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i, topic in enumerate(TOPICS):
        (folder / f"{topic}.md").write_text(f"# {topic} guide\n\n{paragraphs(rng, topic, 4)}\n\n## {topic} limits\n\n"
                                            f"{paragraphs(rng, topic, 3)}\n")
        (folder / "html").mkdir(exist_ok=True)
        (folder / "html" / f"{topic}.html").write_text(
            f"<html><head><title>{topic} reference</title></head><body><h1>{topic} reference</h1>"
            + "".join(f"<p>{p}</p>" for p in paragraphs(rng, topic, 5).split("\n\n")) + "</body></html>")
    (folder / "chmod.1.gz").write_bytes(gzip.compress(MAN_PAGE.encode()))
    make_pdf(folder / "manual.pdf", "The disk manual explains quotas and grace periods")
    (folder / "logo.png").write_bytes(b"\x89PNG\x00\x00")
    (folder / "blob.txt").write_bytes(b"\x00\x00binary")
    return folder


def cli(args: list[str], **kw) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "DENSEFIT_NO_PROGRESS": "1"}
    code = "from densefit.cli.app import main; main()"
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, cwd=ROOT, **kw)


def build(docs: Path, out: Path, model: str, *extra: str) -> subprocess.CompletedProcess:
    proc = cli(["build", str(docs), "--out", str(out), "--model", model, "--max-train-pairs", "120",
                "--dev-queries", "20", "--test-queries", "20", *extra],
               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output, _ = proc.communicate(timeout=600)
    return subprocess.CompletedProcess(proc.args, proc.returncode, output)


@pytest.fixture(scope="module")
def built(tmp_path_factory, tiny_model):
    """One finished build of the sample folder (shared by the tests that only read it)."""
    root = tmp_path_factory.mktemp("build")
    docs, out = make_docs(root / "docs"), root / "out"
    done = build(docs, out, tiny_model)
    assert done.returncode == 0, done.stdout
    return docs, out, done.stdout
