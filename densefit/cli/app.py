"""`densefit` command line: one typer app; each command group is a module that calls the API."""

from __future__ import annotations

import os
import sys

import typer
from rich.markup import escape

from densefit.cli import build as build_cmd
from densefit.cli import data as data_cmd
from densefit.cli import demo as demo_cmd
from densefit.cli import encode as encode_cmd
from densefit.cli import evaluate as eval_cmd
from densefit.cli import export as export_cmd
from densefit.cli import index as index_cmd
from densefit.cli import report as report_cmd
from densefit.cli import serve as serve_cmd
from densefit.cli import mine as mine_cmd
from densefit.cli import train as train_cmd

app = typer.Typer(help="Fine-tune embedding models for search, end to end.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
app.command("train")(train_cmd.train)
app.command("mine")(mine_cmd.mine)
app.command("eval")(eval_cmd.evaluate)
app.command("demo")(demo_cmd.demo)
app.command("encode")(encode_cmd.encode)
app.command("export")(export_cmd.export)
app.command("index")(index_cmd.index)
app.command("search")(index_cmd.search)
app.command("build")(build_cmd.build)
app.command("serve")(serve_cmd.serve)
app.command("report")(report_cmd.report)
app.command("compare")(report_cmd.compare)
app.command("curve")(report_cmd.curve)
app.add_typer(data_cmd.app, name="data")


@app.callback()
def main_options(no_progress: bool = typer.Option(False, "--no-progress",
                                                  help="Hide every progress bar (also DENSEFIT_NO_PROGRESS=1).")):
    """Fine-tune embedding models for search, end to end."""
    if no_progress:
        from densefit.console import set_progress

        set_progress(False)


@app.command("version")
def version() -> None:
    """Print the densefit version."""
    from densefit import __version__

    typer.echo(__version__)


def main() -> None:
    """Console entry point: user errors print one line (no stack trace) and exit 2."""
    from densefit.errors import DensefitError

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from densefit.console import quiet_library_bars

    quiet_library_bars()  # one progress library draws: densefit's rich bars
    try:
        app()
    except DensefitError as exc:
        from densefit.console import console

        console.print(f"[bold red]error:[/bold red] {escape(str(exc))}", markup=True, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # a full disk is the user's to fix, not a bug: say so in one line
        from densefit.errors import disk_full

        full = disk_full(exc)
        if full is None:
            raise
        from densefit.console import console

        console.print(f"[bold red]error:[/bold red] {escape(str(full))}", markup=True, highlight=False, soft_wrap=True)
        sys.exit(full.exit_code)
