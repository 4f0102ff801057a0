"""Forgetting check: the same metrics on a general-domain set that the run did not train on.

The default set is Bible verse paraphrase retrieval, King James Version queries
against World English Bible verses (built from Debian's sword packages and cached).
A drop of the headline metric beyond `threshold` is flagged as a warning.
"""

from __future__ import annotations

from pathlib import Path

from densefit.console import say
from densefit.data.beir import IRSet, is_beir_dir, load_beir
from densefit.errors import ConfigError
from densefit.evaluation.metrics import per_query_metrics
from densefit.evaluation.retrieval import dense_run
from densefit.report.stats import compare_paired

DEFAULT_SET = "bible"
METRIC = "ndcg@10"
THRESHOLD = 0.02  # absolute drop of METRIC that is flagged
BIBLE_QUERIES, BIBLE_CORPUS = 1000, 5000


def cache_dir() -> Path:
    from densefit.data.builders.debian import cache_root

    return Path(cache_root())


def bible_set_path() -> Path:
    """The KJV→WEB paraphrase retrieval set, built once and cached under ~/.cache/densefit."""
    from densefit.data.builders.bible import build_bible_retrieval

    out = cache_dir() / "forgetting" / f"bible-kjv-web-q{BIBLE_QUERIES}-c{BIBLE_CORPUS}"
    if not is_beir_dir(out):
        say(f"forgetting check: building the Bible KJV→WEB set in {out} (once)")
        out = Path(build_bible_retrieval(out, query="KJV", corpus="WEB", queries=BIBLE_QUERIES,
                                         corpus_size=BIBLE_CORPUS, seed=0))
    return out


def general_set(spec: str) -> tuple[str, IRSet]:
    """'bible' or a BEIR folder -> (a display name, the IR set)."""
    if spec == DEFAULT_SET:
        return "Bible KJV→WEB paraphrase retrieval", load_beir(bible_set_path())
    if not is_beir_dir(spec):
        raise ConfigError(f"forgetting set '{spec}' is neither 'bible' nor a BEIR-style folder "
                          "(corpus.jsonl, queries.jsonl, qrels/). Fix: pass --forgetting bible or a BEIR folder")
    return str(spec), load_beir(spec)


def evaluate_general(encoder, irset: IRSet) -> dict[str, dict[str, float]]:
    """Per-query metrics (metric -> {query id: value}) of one encoder on the general set."""
    return per_query_metrics(dense_run(encoder, irset, k=100), irset.qrels, (1, 10, 100))


def forgetting_check(base_encoder, tuned_encoder, spec: str = DEFAULT_SET, *, threshold: float = THRESHOLD,
                     metric: str = METRIC) -> tuple[dict, dict]:
    """Compare base and fine-tuned on the general set; returns (report block, per-query values by model)."""
    name, irset = general_set(spec)
    base, tuned = evaluate_general(base_encoder, irset), evaluate_general(tuned_encoder, irset)
    return forgetting_block(name, irset, base, tuned, threshold=threshold, metric=metric), {"base": base,
                                                                                           "tuned": tuned}


def forgetting_block(name: str, irset: IRSet, base: dict, tuned: dict, *, threshold: float, metric: str) -> dict:
    c = compare_paired(metric, base[metric], tuned[metric])
    warning = c.delta < -threshold
    if warning:
        message = (f"Warning: {metric} on the general-domain set dropped by {-c.delta:.4f} (more than {threshold}): "
                   "the model forgot some general ability. Consider --merge auto, fewer epochs or a lower "
                   "learning rate.")
    else:
        message = f"No forgetting beyond the threshold: {metric} changed by {c.delta:+.4f} (limit −{threshold})."
    return {"name": name, "queries": len(irset.judged_queries()), "documents": len(irset.corpus),
            "threshold": threshold, "warning": warning, "message": message, "comparison": c.to_dict(),
            "metrics": {"base": _means(base), "tuned": _means(tuned)}}


def _means(per_query: dict[str, dict[str, float]]) -> dict[str, float]:
    return {m: sum(v.values()) / max(len(v), 1) for m, v in per_query.items()}
