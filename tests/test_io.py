"""Staged writes get the modes the umask gives any new file: a model or report renamed into place is as
readable as anything else the user writes (tempfile alone makes 0600 files and 0700 folders)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import densefit
from densefit.io import staged_dir, staged_file, umask


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def with_umask():
    old = os.umask(0o022)

    def use(value: int) -> None:
        os.umask(value)

    yield use
    os.umask(old)


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_staged_files_and_folders_follow_the_umask(tmp_path, with_umask, mask):
    with_umask(mask)
    assert umask() == mask
    fd, path = staged_file(tmp_path, ".x.")
    os.close(fd)
    assert mode(Path(path)) == 0o666 & ~mask
    assert mode(staged_dir(tmp_path, ".d.")) == 0o777 & ~mask


def test_a_trained_run_is_readable_by_others_under_umask_022(tmp_path, with_umask, tiny_model, pairs_file, ir_set):
    with_umask(0o022)
    result = densefit.fit(model=tiny_model, train_data=pairs_file, out=tmp_path / "run", max_steps=2, batch_size=8,
                          eval_data=ir_set)
    run = Path(result.model_path).parent
    assert mode(run / "model") == 0o755
    for name in ("model/model.safetensors", "model/README.md", "report.html", "train.json"):
        assert mode(run / name) == 0o644, name
