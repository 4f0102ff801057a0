"""Weight-space merge of the base and fine-tuned models (WiSE-FT / LM-Cocktail style).

It evaluates and saves models, so it is a method; the report only draws its result (ReportJob.merger).

theta(w) = (1 - w) * theta_base + w * theta_finetuned, for every floating-point
parameter. `--merge auto` evaluates a few weights on the in-domain set and the
general-domain set and picks the weight with the best in-domain score among those
whose general-domain drop (vs the base) stays within the threshold.
"""

from __future__ import annotations

import copy
from pathlib import Path

from densefit.console import say
from densefit.data.beir import IRSet
from densefit.errors import ConfigError
from densefit.evaluation.metrics import per_query_metrics
from densefit.evaluation.retrieval import dense_run
from densefit.inference.select import as_encoder
from densefit.report.build import PER_QUERY_METRIC
from densefit.report.pipeline import AUTO, ReportJob, mean_of, parse_merge  # noqa: F401 (parse_merge: re-exported)

WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
MERGED = "model-merged"


def interpolate(base, tuned, weight: float):
    """A copy of `tuned` whose float parameters are (1 - weight) * base + weight * tuned."""
    import torch

    base_state, tuned_state = base.state_dict(), tuned.state_dict()
    mismatched = [k for k, v in tuned_state.items() if k not in base_state or base_state[k].shape != v.shape]
    if mismatched:
        raise ConfigError(f"cannot merge: the models differ in {len(mismatched)} parameters (e.g. '{mismatched[0]}'); "
                          "merging needs the fine-tuned model and its own base model")
    merged = copy.deepcopy(tuned)
    with torch.no_grad():
        state = {k: torch.lerp(base_state[k].to(v.dtype), v, weight) if v.is_floating_point() else v
                 for k, v in tuned_state.items()}
    merged.load_state_dict(state)
    return merged


def score(model, irset: IRSet, metric: str, precision: str = "auto") -> float:
    run = dense_run(as_encoder(model, precision=precision), irset, k=100)
    values = per_query_metrics(run, irset.qrels, (1, 10, 100))[metric]
    return sum(values.values()) / max(len(values), 1)


def choose_weight(points: list[dict], max_drop: float) -> dict:
    """Best in-domain point among those whose general score is within `max_drop` of the base's."""
    base_general = next(p["general"] for p in points if p["weight"] == 0.0)
    allowed = [p for p in points if p["general"] >= base_general - max_drop] or [points[0]]
    return max(allowed, key=lambda p: (p["in_domain"], p["weight"]))


def merge_search(base, tuned, in_domain: IRSet, general: IRSet, *, metric: str, max_drop: float,
                 weights=WEIGHTS, known: dict[float, tuple[float, float]] | None = None,
                 precision: str = "auto") -> dict:
    """Evaluate interpolations at `weights`; `known` holds scores already measured (weight -> (in, general))."""
    known = dict(known or {})
    points = []
    for w in sorted(set(weights) | {0.0, 1.0}):
        if w not in known:
            say(f"merge: evaluating weight {w:g}")
            model = base if w == 0.0 else tuned if w == 1.0 else interpolate(base, tuned, w)
            known[w] = (score(model, in_domain, metric, precision), score(model, general, metric, precision))
        points.append({"weight": w, "in_domain": known[w][0], "general": known[w][1]})
    best = choose_weight(points, max_drop)
    return {"metric": metric, "max_drop": max_drop, "points": points, "chosen": best["weight"],
            "message": _message(points, best, metric, max_drop)}


def _message(points: list[dict], best: dict, metric: str, max_drop: float) -> str:
    base, tuned = points[0], points[-1]
    gain, kept = tuned["in_domain"] - base["in_domain"], best["in_domain"] - base["in_domain"]
    return (f"Chosen weight {best['weight']:g}: in-domain {metric} {best['in_domain']:.4f} ({kept:+.4f} vs base; the "
            f"fully fine-tuned model gives {gain:+.4f}), general-domain {best['general']:.4f} "
            f"({best['general'] - base['general']:+.4f} vs base, limit −{max_drop}).")


def save_merged(base, tuned, weight: float, out: Path) -> Path:
    """Write the merged model as a sentence-transformers folder (safetensors), atomically."""
    from densefit.train.run import save_model_atomic

    out.parent.mkdir(parents=True, exist_ok=True)
    return save_model_atomic(interpolate(base, tuned, weight), out)


def merge_step(job: ReportJob, forgetting: dict, general: IRSet) -> dict:
    """The report's merge section: search the weights (known ends reused), save the chosen merge."""
    if not isinstance(job.target, IRSet):
        raise ConfigError("--merge needs an in-domain BEIR-style eval set (--eval DIR)")
    m = PER_QUERY_METRIC
    before, after = forgetting["metrics"]["base"][m], forgetting["metrics"]["tuned"][m]
    weights = None if job.merge == AUTO else (job.merge,)
    kwargs = {"weights": weights} if weights else {}
    result = merge_search(job.model("base"), job.model("tuned"), job.target, general, metric=m,
                          max_drop=job.max_drop, known={0.0: (mean_of(job, "base", m), before),
                                                        1.0: (mean_of(job, "tuned", m), after)},
                          precision=job.precision, **kwargs)
    if weights:
        result["chosen"] = job.merge
    if result["chosen"] not in (1.0,):
        path = save_merged(job.model("base"), job.model("tuned"), result["chosen"], job.out / MERGED)
        result["path"] = str(path)
        say(f"merge: weight {result['chosen']:g} saved to {path}")
    return result
