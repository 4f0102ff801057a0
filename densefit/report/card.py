"""The model card: OUT/model/README.md with YAML front matter the Hugging Face hub reads."""

from __future__ import annotations

from pathlib import Path

from densefit.io import write_text_atomic

KNOWN_BASES = {"default": "sentence-transformers/all-MiniLM-L6-v2"}
HYPERPARAMETERS = ("epochs", "max_steps", "batch_size", "learning_rate", "warmup_ratio", "max_seq_length", "seed",
                   "precision", "eval_steps", "matryoshka_dims")


def base_model_id(name: str | None) -> str | None:
    """The hub id of the base model when it is known: 'default' or a plain `org/name` id."""
    if not name:
        return None
    if name in KNOWN_BASES:
        return KNOWN_BASES[name]
    if Path(name).expanduser().exists() or name.startswith((".", "/", "~")) or name.count("/") != 1:
        return None
    return name


def model_index(summary: dict, report: dict) -> list[dict] | None:
    """The hub's `model-index`: the tuned model's scores on the evaluation set, so a hub page shows them."""
    head = (report or {}).get("headline")
    if not head or report.get("tuned") not in head.get("columns", {}):
        return None
    scores = head["columns"][report["tuned"]]
    ev = summary.get("eval") or {}
    name = Path(str(ev.get("path") or "evaluation")).name
    task = "retrieval" if any("@" in m for m in scores) else "sentence-similarity"
    metrics = [{"type": m.replace("@", "_at_"), "value": round(float(scores[m]), 5), "name": m}
               for m in head["metrics"] if m in scores]
    run = Path(str((summary.get("config") or {}).get("out", "model"))).name
    return [{"name": run, "results": [{"task": {"type": task},
                                       "dataset": {"name": name, "type": name, "split": ev.get("split", "test")},
                                       "metrics": metrics}]}]


def front_matter(summary: dict, report: dict | None = None) -> dict:
    cfg = summary.get("config") or {}
    loss_info = summary.get("loss") or {}
    loss = loss_info.get("class") or loss_info.get("name")  # the class the run recorded; older runs: the name
    tags = ["sentence-transformers", "sentence-similarity", "feature-extraction", "densefit"]
    if loss:
        tags.append(f"loss:{loss}")
    meta = {"library_name": "sentence-transformers", "pipeline_tag": "sentence-similarity", "tags": tags}
    base = base_model_id(cfg.get("model"))
    if base:
        meta["base_model"] = base
    index = model_index(summary, report or {})
    if index:
        meta["model-index"] = index
    return meta


def _metric_table(report: dict) -> str:
    head = report.get("headline")
    if not head:
        return "No evaluation set was given.\n"
    cols, base, tuned = head["columns"], report["base"], report["tuned"]
    cmp = {c["metric"]: c for c in head.get("comparisons", {}).get(base, [])}
    names = list(cols)
    lines = ["| metric | " + " | ".join(names) + " | Δ | 95% CI | p |", "|---" * (len(names) + 4) + "|"]
    for m in head["metrics"]:
        c = cmp.get(m)
        stats = (f"{c['delta']:+.4f} | [{c['ci_low']:+.4f}, {c['ci_high']:+.4f}] | {c['p_value']:.4f}" if c
                 else f"{cols[tuned].get(m, 0) - cols[base].get(m, 0):+.4f} | | ")
        lines.append(f"| {m} | " + " | ".join(f"{cols[n].get(m, float('nan')):.4f}" for n in names) + f" | {stats} |")
    note = (f"\n{head['queries']} held-out queries; Δ = {tuned} − {base}; CI from a paired bootstrap over queries, "
            "p from a paired randomisation test.\n") if cmp else "\n"
    return "\n".join(lines) + "\n" + note


def _data_lines(summary: dict) -> str:
    data, ev = summary.get("data") or {}, summary.get("eval") or {}
    keys = ("path", "format", "kind", "rows_read", "rows_kept", "empty_dropped", "duplicates_dropped")
    lines = [f"- {k}: {data[k]}" for k in keys if k in data]
    if not lines and data:
        lines = [f"- {k}: {v}" for k, v in data.items() if isinstance(v, (str, int, float))]
    if ev:
        count = ev.get("queries", ev.get("pairs"))
        lines.append(f"- evaluation: {ev.get('path')} (split {ev.get('split', '-')}, {count} queries, "
                     f"{ev.get('documents', '-')} documents)")
    return "\n".join(lines) or "- (not recorded)"


def render_card(summary: dict, report: dict) -> str:
    import yaml

    cfg = summary.get("config") or {}
    method = (summary.get("method") or {}).get("name") or cfg.get("method") or "supervised"
    loss = summary.get("loss") or {}
    params = "\n".join(f"| {k} | {cfg[k]} |" for k in HYPERPARAMETERS if cfg.get(k) not in (None, [], ""))
    forgetting = report.get("forgetting")
    forget = f"\n### General-domain check\n\n{forgetting['message']}\n" if forgetting and "message" in forgetting else ""
    return (f"---\n{yaml.safe_dump(front_matter(summary, report), sort_keys=False)}---\n\n"
            f"# {Path(str(cfg.get('out', 'model'))).name}: a fine-tuned sentence embedding model\n\n"
            f"Fine-tuned with [densefit](https://pypi.org/project/densefit/) from "
            f"`{(summary.get('model') or {}).get('base', cfg.get('model'))}`.\n\n"
            f"## Training\n\n- method: {method}\n- loss: {loss.get('name', '-')} ({loss.get('reason', '')})\n"
            f"- precision: {summary.get('precision', '-')}\n"
            f"- steps: {(summary.get('train') or {}).get('steps', '-')}\n\n"
            f"### Data\n\n{_data_lines(summary)}\n\n### Hyperparameters\n\n| name | value |\n|---|---|\n{params}\n\n"
            f"## Evaluation: before and after\n\n{_metric_table(report)}{forget}\n"
            "## Intended use\n\nSemantic search and retrieval on text like the training data: encode queries and "
            "documents, rank by cosine similarity. It is tuned for that domain; check the general-domain numbers "
            "above before using it elsewhere. It inherits the base model's languages, biases and limits.\n\n"
            "## Usage\n\n```python\nfrom sentence_transformers import SentenceTransformer\n\n"
            "model = SentenceTransformer(\"path/to/this/folder\")\n"
            "embeddings = model.encode([\"how do I get file status?\"], normalize_embeddings=True)\n```\n\n"
            "The full before/after report (per-query view, plots, statistics) is `report.html` in the run folder.\n")


def write_model_card(model_dir: str | Path, summary: dict, report: dict) -> Path:
    path = Path(model_dir) / "README.md"
    write_text_atomic(path, render_card(summary, report))
    return path
