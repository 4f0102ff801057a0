"""Learning curve, the drawing half: fit a saturating curve to the points, project 2x, write the page.

The runs that make the points train models, so they live in `densefit.methods.curve`. The fit is the
saturating power law  y(n) = a - b * n^(-c)  (b >= 0, c > 0); with fewer than three
usable points, or when it does not converge, a log-linear fit y = a + b*ln(n) is used.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass
from pathlib import Path

FRACTIONS = (0.1, 0.25, 0.5, 1.0)
MIN_GAIN = 0.01
METRIC = "ndcg@10"


@dataclass
class CurveFit:
    kind: str  # "power" or "log"
    params: list[float]

    def __call__(self, n: float) -> float:
        if self.kind == "power":
            a, b, c = self.params
            return a - b * n ** (-c)
        a, b = self.params
        return a + b * math.log(n)


def _power(n, a, b, c):
    import numpy as np

    return a - b * np.power(n, -c)


def fit_saturating(sizes: list[int], values: list[float]) -> CurveFit:
    """Least-squares fit of y = a - b n^-c; falls back to y = a + b ln n."""
    import numpy as np
    from scipy.optimize import curve_fit

    x, y = np.asarray(sizes, dtype=float), np.asarray(values, dtype=float)
    if len(x) >= 3:
        c0 = 0.5
        p0 = [y.max() + 0.05, max((y.max() + 0.05 - y.min()) * x.min() ** c0, 1e-6), c0]
        try:
            params, _ = curve_fit(_power, x, y, p0=p0, bounds=([-np.inf, 0.0, 1e-3], [np.inf, np.inf, 3.0]),
                                  maxfev=20_000)
            if np.all(np.isfinite(params)):
                return CurveFit("power", [float(p) for p in params])
        except (RuntimeError, ValueError):
            pass
    slope, intercept = np.polyfit(np.log(x), y, 1) if len(x) >= 2 else (0.0, float(y[0]))
    return CurveFit("log", [float(intercept), float(slope)])


def projection(fit: CurveFit, n: int, min_gain: float = MIN_GAIN) -> dict:
    """The fitted gain from n to 2n examples, and the verdict on more data."""
    now, later = fit(n), fit(2 * n)
    gain = later - now
    if gain >= min_gain:
        verdict = (f"More labelled data is likely to pay off: the fit projects {gain:+.4f} from {n} to {2 * n} "
                   "examples.")
    else:
        verdict = (f"Little gain is expected from more of the same data ({gain:+.4f} projected at {2 * n} examples); "
                   "look at data quality, hard negatives or the loss instead.")
    return {"n": n, "fitted_now": now, "projected_n": 2 * n, "projected": later, "gain": gain,
            "min_gain": min_gain, "pays_off": gain >= min_gain, "verdict": verdict}


def summarise(points: list[dict], metric: str, base_value: float | None, min_gain: float) -> dict:
    sizes, values = [p["examples"] for p in points], [p["value"] for p in points]
    fit = fit_saturating(sizes, values)
    return {"metric": metric, "points": points, "base_value": base_value,
            "fit": {"kind": fit.kind, "params": fit.params,
                    "formula": "a - b * n^-c" if fit.kind == "power" else "a + b * ln(n)"},
            "projection": projection(fit, max(sizes), min_gain)}


def render_curve_html(curve: dict) -> str:
    from densefit.report import plots
    from densefit.report.html import CSS

    fit = CurveFit(curve["fit"]["kind"], curve["fit"]["params"])
    proj = curve["projection"]
    svg = plots.learning_curve([p["examples"] for p in curve["points"]], [p["value"] for p in curve["points"]],
                               curve["metric"], fit, (proj["projected_n"], proj["projected"]), curve["base_value"])
    rows = "".join(f"<tr><td class='num'>{p['fraction']:.0%}</td><td class='num'>{p['examples']}</td>"
                   f"<td class='num'>{p['value']:.4f}</td></tr>" for p in curve["points"])
    box = "ok" if proj["pays_off"] else "warn"
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>densefit learning curve</title>"
            f"<style>{CSS}</style></head><body><h1>Learning curve</h1><div class='{box}'>{html.escape(proj['verdict'])}"
            f"</div><figure>{svg}</figure><table><tr><th>fraction</th><th>examples</th>"
            f"<th>{html.escape(curve['metric'])}</th></tr>{rows}</table><p class='muted'>Fit: "
            f"{curve['fit']['formula']} with parameters {', '.join(f'{p:.4g}' for p in curve['fit']['params'])}. "
            "Same seed and epochs at every point; nested subsets.</p></body></html>")


def write_outputs(out: Path, curve: dict) -> Path:
    """OUT/curve.json and OUT/curve.html, each written atomically."""
    from densefit.io import write_text_atomic

    write_text_atomic(out / "curve.json", json.dumps(curve, indent=1))
    path = out / "curve.html"
    write_text_atomic(path, render_curve_html(curve))
    return path
