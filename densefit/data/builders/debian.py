"""Fetch Debian packages into a cache folder without installing them.

`apt-get download` fetches the .deb files (retrying with private, freshly updated
package lists when the system's are stale) and `dpkg-deb -x` unpacks them. The
unpacked tree is renamed into place only when complete, so an interrupted fetch
is never mistaken for a finished one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from densefit.errors import DensefitError

COMPLETE_MARKER = ".densefit-complete"
STDERR_TAIL = 1500


def cache_root() -> Path:
    """densefit's cache folder: `$DENSEFIT_CACHE`, else `$XDG_CACHE_HOME/densefit`, else `~/.cache/densefit`."""
    if os.environ.get("DENSEFIT_CACHE"):
        return Path(os.environ["DENSEFIT_CACHE"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "densefit"
    return Path.home() / ".cache" / "densefit"


def _require_tools(hint: str) -> None:
    missing = [tool for tool in ("apt-get", "dpkg-deb") if shutil.which(tool) is None]
    if missing:
        raise DensefitError(f"this data set is built from Debian packages and needs {' and '.join(missing)} "
                            f"(Debian/Ubuntu), which is not on PATH; {hint}")


def _run(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)


def _tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= STDERR_TAIL else "..." + text[-STDERR_TAIL:]


def _download_debs(packages: Sequence[str], dest: Path, lists_dir: Path, hint: str) -> None:
    """`apt-get download` the packages into `dest`; on failure retry with freshly updated private lists."""
    first = _run(["apt-get", "download", *packages], cwd=dest)
    if first.returncode == 0:
        return
    (lists_dir / "partial").mkdir(parents=True, exist_ok=True)
    option = ["-o", f"Dir::State::Lists={lists_dir}"]
    update = _run(["apt-get", *option, "update"])
    retry = _run(["apt-get", *option, "download", *packages], cwd=dest) if update.returncode == 0 else update
    if retry.returncode != 0:
        raise DensefitError(f"could not download {' '.join(packages)} with apt-get.\n"
                            f"first try: {_tail(first.stderr)}\nafter `apt-get update` into {lists_dir}: "
                            f"{_tail(retry.stderr)}\nCheck the network or apt sources, or {hint}")


def _extract_debs(debs: Path, dest: Path) -> None:
    for deb in sorted(debs.glob("*.deb")):
        done = _run(["dpkg-deb", "-x", str(deb), str(dest)])
        if done.returncode != 0:
            raise DensefitError(f"dpkg-deb could not unpack {deb}: {_tail(done.stderr)}")


def fetch_debian_tree(packages: Sequence[str], cache_dir: Path, *, hint: str) -> Path:
    """Download and unpack `packages` once into `cache_dir/tree` (reused when its marker exists).

    `hint` ends every error message: what the user can do instead.
    """
    tree = cache_dir / "tree"
    if (tree / COMPLETE_MARKER).is_file():
        return tree
    _require_tools(hint)
    cache_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".fetch.", dir=cache_dir))
    try:
        (work / "debs").mkdir()
        _download_debs(packages, work / "debs", cache_dir / "apt-lists", hint)
        _extract_debs(work / "debs", work / "tree")
        (work / "tree" / COMPLETE_MARKER).write_text("; ".join(p.name for p in (work / "debs").glob("*.deb")))
        shutil.rmtree(tree, ignore_errors=True)
        os.replace(work / "tree", tree)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return tree
