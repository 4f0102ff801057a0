"""MTEB integration: run `mteb` tasks on a densefit model, and local BEIR folders as MTEB retrieval tasks.

`run_mteb(model, ["Banking77Classification", "path/to/beir_dir"])` evaluates through
the mteb package and writes MTEB's own result files
(OUT/results/<model name>/<revision>/<Task>.json), so they compare with the
public leaderboard. A BEIR-style folder becomes a custom `AbsTaskRetrieval`
backed by local files. Hub tasks need their dataset: when the hub is unreachable
and the dataset is not in the local cache, a clear error comes at once.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

from densefit.console import say
from densefit.data.beir import is_beir_dir, load_beir
from densefit.errors import DensefitError, UnknownNameError, require

LOCAL_PREFIX = "Densefit"


class DatasetUnreachableError(DensefitError):
    """An MTEB task whose dataset cannot be downloaded here."""


def task_name_for(path: str | Path) -> str:
    """'data/man-pages' -> 'DensefitManPagesRetrieval' (MTEB names are CamelCase identifiers)."""
    words = re.split(r"[^0-9A-Za-z]+", Path(path).resolve().name)
    return LOCAL_PREFIX + "".join(w[:1].upper() + w[1:] for w in words if w) + "Retrieval"


def local_retrieval_task(path: str | Path, *, split: str | None = None, name: str | None = None):
    """An MTEB retrieval task over a local BEIR folder (one split, English, text to text)."""
    from datasets import Dataset
    from mteb.abstasks.retrieval import AbsTaskRetrieval
    from mteb.abstasks.task_metadata import TaskMetadata

    irset = load_beir(path, split)
    task_name = name or task_name_for(path)
    metadata = TaskMetadata(
        type="Retrieval", name=task_name, main_score="ndcg_at_10", category="t2t", modalities=["text"],
        description=f"Local BEIR-style retrieval set {Path(path).resolve()} (split {irset.split}), run by densefit.",
        reference=None, dataset={"path": f"local/{task_name}", "revision": "local"},
        eval_splits=[irset.split], eval_langs=["eng-Latn"], date=None, dialect=[], domains=[], task_subtypes=[],
        license=None, annotations_creators=None, sample_creation=None, bibtex_citation="")

    def load_data(self, **kwargs) -> None:
        judged = irset.judged_queries()
        split_data = {
            "corpus": Dataset.from_list([{"id": d, "text": t, "title": irset.titles.get(d, "")}
                                         for d, t in irset.corpus.items()]),
            "queries": Dataset.from_list([{"id": q, "text": t} for q, t in judged.items()]),
            "relevant_docs": {q: dict(irset.qrels[q]) for q in judged},
            "top_ranked": None,
        }
        self.dataset = {"default": {irset.split: split_data}}
        self.data_loaded = True

    cls = type(task_name, (AbsTaskRetrieval,), {"metadata": metadata, "load_data": load_data})
    return cls()


@contextlib.contextmanager
def _offline_if_unreachable():
    """Without a reachable hub, make huggingface_hub/datasets fail at once instead of retrying."""
    from densefit.models import hub_reachable

    if hub_reachable():
        yield
        return
    import datasets.config
    from huggingface_hub import constants

    saved = constants.HF_HUB_OFFLINE, datasets.config.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = datasets.config.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE, datasets.config.HF_HUB_OFFLINE = saved


def hub_task(name: str):
    """A task from mteb's registry, its data loaded now (local cache or hub), or a clear error."""
    mteb = require("mteb", "densefit eval --mteb")

    try:
        task = mteb.get_tasks(tasks=[name])[0]
    except (KeyError, ValueError, IndexError):
        raise UnknownNameError("MTEB task (or BEIR folder)", name, ["Banking77Classification", "NFCorpus",
                                                                  "SciFact", "a BEIR folder path"]) from None
    with _offline_if_unreachable():
        try:
            task.load_data()
        except Exception as exc:  # noqa: BLE001 - datasets raises many types for a missing dataset
            dataset = (task.metadata.dataset or {}).get("path", "?")
            raise DatasetUnreachableError(
                f"MTEB task '{name}': dataset not reachable ('{dataset}' is not in the local Hugging Face cache and "
                f"the hub cannot be reached: {str(exc).splitlines()[0][:200]}). Fix: run where the hub is "
                "reachable once to cache it, or evaluate a local BEIR folder: --mteb path/to/folder") from None
    return task


def resolve_tasks(specs: list[str]) -> list:
    return [local_retrieval_task(s) if is_beir_dir(s) else hub_task(s) for s in specs]


def mteb_model_name(name: str) -> str:
    """The name mteb files results under: a hub id as is, else densefit/<folder name>."""
    from densefit.report.card import base_model_id

    return base_model_id(name) or f"densefit/{Path(name).resolve().name}"


def run_mteb(model: str, specs: list[str], out: str | Path) -> dict[str, dict]:
    """Evaluate `model` on each task through mteb; returns {task: {main_score, scores, path}}."""
    mteb = require("mteb", "densefit eval --mteb")
    from mteb.cache import ResultCache

    from densefit.models import load_model

    tasks = resolve_tasks(specs)
    st = load_model(model)
    st.model_card_data.model_name = mteb_model_name(model)
    say(f"mteb: {', '.join(t.metadata.name for t in tasks)} on {st.model_card_data.model_name}")
    result = mteb.evaluate(st, tasks, cache=ResultCache(str(out)), overwrite_strategy="always",
                           show_progress_bar=False)
    if result.exceptions:
        raise DensefitError(f"mteb failed: {result.exceptions[0]}")
    return {r.task_name: {"main_score": float(r.get_score()), "scores": r.scores,
                          "path": str(_result_path(Path(out), r.task_name))} for r in result.task_results}


def _result_path(out: Path, task: str) -> Path:
    found = sorted((out / "results").glob(f"*/*/{task}.json"))
    return found[0] if found else out / "results"
