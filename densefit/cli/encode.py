"""`densefit encode`: a streaming, resumable batch encode into Parquet. Its options are EncodeJobConfig's fields."""

from __future__ import annotations

import typer

from densefit.cli.options import config_command, extra_option
from densefit.inference.job import EncodeJobConfig


def run(no_progress: bool = False, **values) -> None:
    """Encode every text of INPUT into OUT (Parquet: row, id, embedding); re-run to resume after a kill."""
    from densefit.errors import ConfigError

    if no_progress:
        from densefit.console import set_progress

        set_progress(False)
    given = {k: v for k, v in values.items() if v is not None}
    missing = [f"--{name}" for name in ("input", "out") if not given.get(name)]
    if missing:
        raise ConfigError(f"densefit encode needs {' and '.join(missing)}. Fix: densefit encode --input texts.jsonl "
                          "--out embeddings.parquet")
    from densefit.inference.batch import run_encode_job

    result = run_encode_job(EncodeJobConfig(**given))
    typer.echo(f"{result.rows} rows in {result.out} ({result.parts_written} part(s) encoded now, "
               f"{result.parts_done_before} reused; {result.seconds:.1f} s)")


encode = config_command(EncodeJobConfig, run, extra=[extra_option("no_progress", bool, "--no-progress", default=False,
                                                                  help="Hide the progress bars.")])
