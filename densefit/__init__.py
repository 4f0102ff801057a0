"""densefit: fine-tune embedding models for search, end to end.

Public API (imported lazily so `densefit --help` stays fast):
    densefit.fit(...), densefit.evaluate(...), densefit.load(...), densefit.TrainConfig,
    densefit.Index.open(uri) (vector stores: add / upsert / delete / search / count / close)
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["fit", "evaluate", "load", "TrainConfig", "DensefitError", "Index", "__version__"]

_LAZY = {
    "fit": "densefit.api",
    "evaluate": "densefit.api",
    "load": "densefit.api",
    "TrainConfig": "densefit.config",
    "DensefitError": "densefit.errors",
    "Index": "densefit.index",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'densefit' has no attribute '{name}'")
