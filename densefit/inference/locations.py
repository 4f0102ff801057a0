"""Where the exports of a model live: inside a folder the user owns, else in the per-user cache.

A model inside the installed packages (such as `default`) or a read-only folder gets
`$XDG_CACHE_HOME/densefit/exports/<name>-<weights hash>/` (else `~/.cache/densefit/...`);
nothing is ever written under site-packages.
"""

from __future__ import annotations

import functools
import hashlib
import os
import site
import sysconfig
from pathlib import Path

from densefit.errors import ConfigError

EXPORTS_DIR = "exports"
CACHE_ENV = "XDG_CACHE_HOME"


def cache_root() -> Path:
    """densefit's per-user cache: $XDG_CACHE_HOME/densefit, else ~/.cache/densefit."""
    base = os.environ.get(CACHE_ENV) or str(Path.home() / ".cache")
    return Path(base) / "densefit"


def _installed_roots() -> list[Path]:
    paths = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")} | set(site.getsitepackages())
    return [Path(p).resolve() for p in paths | {site.getusersitepackages()}]


def owned(model_dir: str | Path) -> bool:
    """True for a folder the user owns (exports go inside it); False inside installed packages or read-only."""
    folder = Path(model_dir).resolve()
    inside = any(folder.is_relative_to(root) for root in _installed_roots())
    return not inside and os.access(folder, os.W_OK)


@functools.cache
def _weights_hash(folder: Path, stamp: tuple) -> str:
    digest = hashlib.sha256()
    for weights in sorted(folder.rglob("*.safetensors")):
        with open(weights, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def model_key(model_dir: str | Path) -> str:
    """`<folder name>-<hash of the weights>`: the same weights share one cache folder, other weights never do."""
    folder = Path(model_dir).resolve()
    stamp = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*.safetensors")))
    name = folder.parent.name if folder.name == "model" else folder.name  # a run's or a package's model/ folder
    return f"{name}-{_weights_hash(folder, stamp)}"


def exports_dir(model_dir: str | Path) -> Path:
    """Where exports of this model live: inside a folder the user owns, else in the user cache."""
    return Path(model_dir) / EXPORTS_DIR if owned(model_dir) else cache_root() / EXPORTS_DIR / model_key(model_dir)


def writable_exports_dir(model_dir: str | Path) -> Path:
    """exports_dir(model_dir), created; a cache that cannot be written says which folder and how to move it."""
    folder = exports_dir(model_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"cannot write exports to '{folder}' ({exc.strerror or exc}). Fix: set {CACHE_ENV} to a "
                          "writable folder, or pass --out") from None
    return folder
