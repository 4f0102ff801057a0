"""`densefit build FOLDER --out OUT`: a folder of documents to a tuned, indexed search (then `densefit serve OUT`)."""

from __future__ import annotations

from densefit.build.config import BuildConfig
from densefit.cli.options import config_command, given_values
from densefit.errors import ConfigError

SHOWN_SKIPS = 10


def run(**values) -> None:
    """Read, chunk, generate queries, train with the recipe, index and report, each stage resumable."""
    from densefit.build.pipeline import run_build

    given = given_values(BuildConfig, values)
    if not given.get("folder") or not given.get("out"):
        raise ConfigError("give the documents folder and --out, e.g. densefit build ./docs --out my-search")
    state = run_build(BuildConfig(**given))
    print_summary(state, given["out"])


def print_summary(state: dict, out: str) -> None:
    from densefit.cli.tables import print_metric_table
    from densefit.console import say

    stages = state["stages"]
    chunks = stages["chunks"]
    for skip in chunks["skipped_files"][:SHOWN_SKIPS]:
        say(f"  skipped {skip['path']}: {skip['reason']}")
    if chunks["skipped"] > SHOWN_SKIPS:
        say(f"  ... and {chunks['skipped'] - SHOWN_SKIPS} more skipped files (all listed in {out}/build.json)")
    if "serve" not in state:  # stopped early (--until)
        say("stages: " + ", ".join(f"{n} {s['seconds']:.0f}s" for n, s in stages.items()))
        return
    queries, train, ev = stages["queries"], stages["train"], stages["evaluate"]
    print_metric_table({"base": ev["before"], "built": ev["after"]},
                       keys=["mrr@10", "ndcg@10", "recall@10", "recall@100"], baseline="base",
                       title=f"{ev['queries']} held-out test queries ({queries['test']})")
    if queries["test"] != "real":
        say("[yellow]note: the test queries were generated from their own chunks, which overrates both models; "
            "give real queries with --queries FILE for a trustworthy score[/yellow]")
    say(f"shipped: {train['shipped']}" + (f" ({train['why']})" if train.get("why") else ""))
    say("stages: " + ", ".join(f"{n} {s['seconds']:.0f}s" for n, s in stages.items()) +
        f"; total {state['seconds']:.0f}s")
    say(f"serve it: densefit serve {out}")


build = config_command(BuildConfig, run, positional=("folder",))
