"""Learning curve, the training half: train on 10/25/50/100% of the data and score each point.

Every point uses the same seed, the same epochs (so the same budget per example) and
nested subsets (the 10% rows are inside the 25% rows, and so on). `densefit.report.curve`
fits and draws the points.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

from densefit.console import say
from densefit.errors import ConfigError
from densefit.report.curve import FRACTIONS, METRIC, MIN_GAIN, summarise, write_outputs


def subset_rows(n_rows: int, fraction: float, seed: int) -> list[int]:
    """Nested subsets: the same seeded permutation, cut at ceil(fraction * n) (at least 2 rows)."""
    order = list(range(n_rows))
    random.Random(seed).shuffle(order)
    return sorted(order[: max(2, math.ceil(fraction * n_rows))])


def write_subset(columns: dict[str, list], rows: list[int], path: Path) -> Path:
    """The chosen rows as JSONL with canonical column names (detected again as the same format)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for i in rows:
            fh.write(json.dumps({name: values[i] for name, values in columns.items()}) + "\n")
    return path


def learning_curve(train: str | Path, data: str | Path, out: str | Path, *, model: str = "default",
                   fractions=FRACTIONS, seed: int = 0, metric: str = METRIC, min_gain: float = MIN_GAIN,
                   epochs: float = 1.0, batch_size: int = 32, **options) -> dict:
    """Train at each fraction, evaluate on `data`, fit, plot; writes OUT/curve.html and OUT/curve.json."""
    from densefit.config import TrainConfig
    from densefit.data.formats import load_training_data
    from densefit.methods.registry import run_method

    fractions = sorted(set(fractions))
    if not fractions or fractions[0] <= 0 or fractions[-1] > 1:
        raise ConfigError(f"fractions must be in (0, 1], got {fractions}")
    out = Path(out)
    loaded = load_training_data(train, options.pop("format", None), seed=seed)
    points, base_value = [], None
    for fraction in fractions:
        rows = subset_rows(len(loaded), fraction, seed)
        tag = f"frac-{round(fraction * 100):03d}"
        subset = write_subset(loaded.columns, rows, out / tag / "train.jsonl")
        say(f"[bold]learning curve[/bold] {fraction:.0%}: {len(rows)} examples")
        cfg = TrainConfig(model=model, train=str(subset), eval=str(data), out=str(out / tag / "run"), epochs=epochs,
                          batch_size=min(batch_size, len(rows)), seed=seed, report=False,
                          **{"method": "supervised", **options})
        result = run_method(cfg)
        if metric not in result.metrics_after:
            raise ConfigError(f"metric '{metric}' is not computed on {data}; choose one of "
                              f"{', '.join(sorted(result.metrics_after))}")
        base_value = result.metrics_before.get(metric, base_value)
        points.append({"fraction": fraction, "examples": len(rows), "value": result.metrics_after[metric]})
    curve = summarise(points, metric, base_value, min_gain)
    curve["html"] = str(write_outputs(out, curve))
    say(curve["projection"]["verdict"])
    return curve
