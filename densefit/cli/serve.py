"""`densefit serve`: the HTTP API and search page. Every option is a ServeConfig field and also reads
DENSEFIT_SERVE_<NAME>; a flag wins over the variable."""

from __future__ import annotations

from densefit.cli.options import config_command
from densefit.serve.config import ServeConfig, env_var


def run(**values) -> None:
    """Serve embeddings (OpenAI-compatible), /search, health, metrics and the search page."""
    import os

    # The HTTP event loop shares the cores with the model's threads: OpenMP threads that spin while
    # waiting then starve it (measured: 700 ms instead of 50 ms per query on a busy 2-core machine).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from densefit.models import resolve_model
    from densefit.serve import serve as start

    cfg = ServeConfig.from_env(**values)
    for spec in (cfg.model, cfg.compare_model):
        if spec:
            resolve_model(spec)  # a missing folder fails now, not after the server started
    cfg.api_key()  # a named but unset key variable fails now
    start(cfg)


serve = config_command(ServeConfig, run, env=env_var)
