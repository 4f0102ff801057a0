"""`densefit serve`: the HTTP API and search page. Every option is a ServeConfig field and also reads
DENSEFIT_SERVE_<NAME>; a flag wins over the variable."""

from __future__ import annotations

import inspect
from typing import Optional

import typer

from densefit.cli.options import config_command
from densefit.serve.config import ServeConfig, env_var

BUILD_HELP = ("A folder written by `densefit build`: serves its tuned model and index, with the base model "
              "to compare against (flags still win).")


def build_defaults(folder: str | None, values: dict) -> dict:
    """The values of a build folder under the flags the user gave."""
    if not folder:
        return values
    from densefit.build.manifest import is_build, serve_settings
    from densefit.errors import ConfigError

    if not is_build(folder):
        raise ConfigError(f"'{folder}' is not a build folder (no build.json). Fix: run `densefit build DOCS "
                          f"--out {folder}` first, or serve a model with --model and --store")
    return {**serve_settings(folder), **{k: v for k, v in values.items() if v is not None}}


def run(folder: str | None = None, **values) -> None:
    """Serve embeddings (OpenAI-compatible), /search, health, metrics and the search page."""
    import os

    # The HTTP event loop shares the cores with the model's threads: OpenMP threads that spin while
    # waiting then starve it (measured: 700 ms instead of 50 ms per query on a busy 2-core machine).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from densefit.models import resolve_model
    from densefit.serve import serve as start

    cfg = ServeConfig.from_env(**build_defaults(folder, values))
    for spec in (cfg.model, cfg.compare_model):
        if spec:
            resolve_model(spec)  # a missing folder fails now, not after the server started
    cfg.api_key()  # a named but unset key variable fails now
    start(cfg)


FOLDER = inspect.Parameter("folder", inspect.Parameter.KEYWORD_ONLY, annotation=Optional[str],
                           default=typer.Argument(None, help=BUILD_HELP, show_default=False))
serve = config_command(ServeConfig, run, env=env_var, extra=[FOLDER])
