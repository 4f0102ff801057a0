"""The before/after report: paired statistics, per-query view, plots, forgetting check, the merge
section, the learning-curve page, model card and MTEB. It draws and computes; the runs behind a curve
or a merge are methods. Entry points are re-exported lazily (heavy libraries load only when called)."""

from __future__ import annotations


def write_run_report(cfg, result, **kwargs):
    """Training hook: OUT/report.html and OUT/model/README.md; never raises."""
    from densefit.report.pipeline import write_run_report as _write

    return _write(cfg, result, **kwargs)


def report_run(run_dir, **kwargs):
    from densefit.report.pipeline import report_run as _run

    return _run(run_dir, **kwargs)


def compare_models(base, tuned, data, out, **kwargs):
    from densefit.report.pipeline import compare_models as _compare

    return _compare(base, tuned, data, out, **kwargs)

