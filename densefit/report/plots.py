"""Matplotlib figures rendered to inline SVG strings (no files, no network, no JavaScript)."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

BEFORE, AFTER, BM25_COLOUR, ACCENT = "#8c8c8c", "#1f77b4", "#2ca02c", "#d62728"
RC = {"svg.fonttype": "none", "svg.hashsalt": "densefit", "font.size": 9, "axes.spines.top": False,
      "axes.spines.right": False}


def _figure(ncols: int = 1, width: float = 6.4, height: float = 3.0):
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    fig = Figure(figsize=(width, height))
    axes = fig.subplots(1, ncols, squeeze=False)
    return fig, list(axes[0])


def to_svg(fig) -> str:
    """The figure as an `<svg>` element (XML prologue and doctype stripped)."""
    buf = io.StringIO()
    fig.tight_layout()
    fig.savefig(buf, format="svg")
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _draw(ncols: int, draw: Callable, **size) -> str:
    import matplotlib

    with matplotlib.rc_context(RC):
        fig, axes = _figure(ncols, **size)
        draw(*axes)
        return to_svg(fig)


def delta_histogram(deltas: Sequence[float], metric: str) -> str:
    def draw(ax):
        ax.hist(list(deltas), bins=41, range=(-1, 1), color=AFTER, histtype="stepfilled")
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlabel(f"{metric} after − before, per query")
        ax.set_ylabel("queries")
    return _draw(1, draw)


def training_curves(steps: Sequence[float], losses: Sequence[float], eval_steps: Sequence[float],
                    eval_values: Sequence[float], eval_name: str | None, best_step: int | None) -> str:
    """The loss per logged step, and (only when there were evaluations) the eval metric per eval step."""
    def loss(ax_loss):
        ax_loss.plot(steps, losses, color=AFTER, marker="." if len(steps) < 30 else None)
        ax_loss.set_xlabel("step")
        ax_loss.set_ylabel("training loss")

    if not eval_steps:
        return _draw(1, loss)

    def draw(ax_loss, ax_eval):
        loss(ax_loss)
        if eval_steps:
            ax_eval.plot(eval_steps, eval_values, color=AFTER, marker="o", markersize=3)
            ax_eval.set_ylabel(eval_name or "eval metric")
            if best_step is not None and best_step in eval_steps:
                best = eval_values[list(eval_steps).index(best_step)]
                ax_eval.plot([best_step], [best], marker="*", markersize=12, color=ACCENT, linestyle="none",
                             label=f"best checkpoint (step {best_step})")
                ax_eval.legend(loc="lower right", frameon=False)
        ax_eval.set_xlabel("step")
    return _draw(2, draw, width=8.0)


def score_distributions(before, after) -> str:
    """Histograms of positive vs top-negative cosine, before (left) and after (right)."""
    def panel(ax, dist, title):
        values = dist.positives + dist.negatives
        lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
        bins = [lo + (hi - lo) * i / 40 for i in range(41)] if hi > lo else 10
        ax.hist(dist.positives, bins=bins, alpha=0.6, color=AFTER, label="positive", histtype="stepfilled")
        ax.hist(dist.negatives, bins=bins, alpha=0.6, color=ACCENT, label="top negative", histtype="stepfilled")
        ax.set_title(f"{title}: {dist.confused} of {dist.queries} queries confused")
        ax.set_xlabel("cosine similarity")
        ax.legend(frameon=False)
    return _draw(2, lambda a, b: (panel(a, before, "before"), panel(b, after, "after")), width=8.0)


def learning_curve(sizes: Sequence[int], values: Sequence[float], metric: str, fit: Callable | None,
                   projected: tuple[int, float] | None, base_value: float | None) -> str:
    def draw(ax):
        ax.plot(sizes, values, "o", color=AFTER, label="measured")
        if fit is not None:
            top = projected[0] if projected else max(sizes)
            xs = [min(sizes) + (top - min(sizes)) * i / 100 for i in range(101)]
            ax.plot(xs, [fit(x) for x in xs], "--", color=AFTER, linewidth=1, label="saturating fit")
        if projected:
            ax.plot([projected[0]], [projected[1]], "D", color=ACCENT, label=f"projected at {projected[0]}")
        if base_value is not None:
            ax.axhline(base_value, color=BEFORE, linewidth=0.8, label="base model")
        ax.set_xscale("log")
        ax.set_xlabel("training examples")
        ax.set_ylabel(metric)
        ax.legend(frameon=False, loc="lower right")
    return _draw(1, draw)


def merge_curve(weights: Sequence[float], in_domain: Sequence[float], general: Sequence[float], metric: str,
                chosen: float | None) -> str:
    def draw(ax):
        ax.plot(weights, in_domain, "o-", color=AFTER, label=f"in-domain {metric}")
        ax.plot(weights, general, "s-", color=BM25_COLOUR, label=f"general-domain {metric}")
        if chosen is not None:
            ax.axvline(chosen, color=ACCENT, linestyle="--", linewidth=1, label=f"chosen weight {chosen:g}")
        ax.set_xlabel("weight of the fine-tuned model (0 = base, 1 = fine-tuned)")
        ax.set_ylabel(metric)
        ax.legend(frameon=False)
    return _draw(1, draw)
