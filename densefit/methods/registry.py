"""Training methods by name: `densefit train --method NAME` and `densefit.fit(method=NAME)`.

How to add a method: write `densefit/methods/NAME.py` with
`run(cfg: TrainConfig, callbacks: list | None = None) -> FitResult` (see the recipe at the top of
densefit/methods/common.py, which does the shared before/after evaluation and train.json), then
add one entry below: "NAME": "densefit.methods.NAME:run". Modules are imported only when used,
so a method's heavy dependencies never slow down the others. `auto` picks one of the others
from the data given (densefit/methods/auto.py; the rules table is in docs/methods.md).
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Callable

from densefit.registry import Registry

METHODS = Registry("method", {
    "auto": "densefit.methods.auto:run",
    "supervised": "densefit.methods.supervised:run",
    "augsbert": "densefit.methods.augsbert:run",
    "genq": "densefit.methods.genq:run",
    "gpl": "densefit.methods.gpl:run",
    "tsdae": "densefit.methods.tsdae:run",
    "mlm": "densefit.methods.mlm:run",
    "distill": "densefit.methods.distill:run",
})


def method_names() -> list[str]:
    return METHODS.names()


def get_method(name: str) -> Callable:
    """The `run` function of method `name`; an unknown name lists the valid ones."""
    return METHODS.get(name)


def run_method(cfg, callbacks: list | None = None, *, announce: bool = True):
    """Run `cfg.method` (after `auto` resolves it) and return its FitResult; `announce` says which with --explain."""
    if getattr(cfg, "mlm_first", False) and cfg.method != "mlm":  # MLM stage first, then this method
        from densefit.methods.mlm import run_after_mlm

        return run_after_mlm(cfg, lambda adapted: run_method(adapted, callbacks, announce=announce))
    fn = get_method(cfg.method)
    if cfg.method != "auto":  # only auto's recipe plans the settings left open; the others get stock values
        cfg = cfg.settled()
    if announce and cfg.method != "auto" and getattr(cfg, "explain", False):
        from densefit.console import say

        say(f"method: {cfg.method} (as requested; --method auto would inspect the data and choose)")
    if callbacks and "callbacks" in inspect.signature(fn).parameters:
        return fn(cfg, callbacks=callbacks)
    return fn(cfg)


def with_method(cfg, name: str):
    """A copy of `cfg` whose method is `name`."""
    return dataclasses.replace(cfg, method=name)
