"""Render the report dict as one self-contained HTML page (inline CSS and SVG, no scripts)."""

from __future__ import annotations

import html
import re

from densefit.report import plots

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222}
h1{font-size:1.5em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
td,th{border:1px solid #ddd;padding:.25em .6em;vertical-align:top}
th{background:#f5f5f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
.sig{font-weight:bold}.up{color:#1a7f37}.down{color:#cf222e}.muted{color:#777}
.warn{background:#fff4e5;border-left:4px solid #f0883e;padding:.5em 1em;margin:1em 0}
.ok{background:#eef8ee;border-left:4px solid #2da44e;padding:.5em 1em;margin:1em 0}
figure{margin:1em 0}figure svg{max-width:100%;height:auto}
details{margin:.4em 0}summary{cursor:pointer}.rel{background:#eef8ee}
"""
E = html.escape


def _fmt(value, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _p(p: float) -> str:
    return "< 0.0001" if p < 1e-4 else f"{p:.4f}"


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption class='muted'>{E(caption)}</figcaption></figure>"


def _delta_cell(c: dict) -> str:
    cls = ("up" if c["delta"] > 0 else "down") + (" sig" if c["significant"] else "")
    return f"<td class='num {cls}'>{c['delta']:+.4f}</td>"


def headline_table(report: dict) -> str:
    head = report.get("headline")
    if not head:
        return "<p class='muted'>No evaluation set was given, so there are no before/after metrics.</p>"
    columns, tuned = head["columns"], report["tuned"]
    names = list(columns)
    cmp = {other: {c["metric"]: c for c in rows} for other, rows in head["comparisons"].items()}
    heads = "".join(f"<th>{E(n)}</th>" for n in names)
    for other in cmp:
        heads += f"<th>Δ vs {E(other)}</th><th>95% CI</th><th>p</th>"
    rows = []
    for m in head["metrics"]:
        cells = "".join(f"<td class='num'>{_fmt(columns[n].get(m))}</td>" for n in names)
        for other in cmp:
            c = cmp[other].get(m)
            cells += (_delta_cell(c) + f"<td class='num'>[{c['ci_low']:+.4f}, {c['ci_high']:+.4f}]</td>"
                      f"<td class='num'>{_p(c['p_value'])}</td>") if c else "<td></td>" * 3
        rows.append(f"<tr><th>{E(m)}</th>{cells}</tr>")
    note = (f"<p class='muted'>{head['queries']} queries. Δ is {E(tuned)} minus the other model; the 95% CI comes "
            "from a paired bootstrap over queries (10,000 resamples), p from a paired randomisation test "
            "(sign flips, two-sided). Bold: p &lt; 0.05.</p>") if cmp else ""
    return f"<table><tr><th>metric</th>{heads}</tr>{''.join(rows)}</table>{note}{_verdict(report, cmp)}"


def _verdict(report: dict, cmp: dict) -> str:
    base = report["base"]
    if base not in cmp or not cmp[base]:
        return ""
    c = next(iter(cmp[base].values()))
    word = "better" if c["delta"] > 0 else "worse"
    if c["significant"]:
        return (f"<div class='{'ok' if c['delta'] > 0 else 'warn'}'>The fine-tuned model is <b>significantly {word}"
                f"</b> than the base on {E(c['metric'])}: {c['delta']:+.4f} (95% CI {c['ci_low']:+.4f} to "
                f"{c['ci_high']:+.4f}, p {_p(c['p_value'])}).</div>")
    return (f"<div class='warn'>No significant difference from the base on {E(c['metric'])}: {c['delta']:+.4f} "
            f"(95% CI {c['ci_low']:+.4f} to {c['ci_high']:+.4f}, p {_p(c['p_value'])}). More data, more epochs or "
            f"hard negatives may help.</div>")


def _docs_list(docs: list[dict]) -> str:
    items = "".join(f"<li class='{'rel' if d['relevant'] else ''}'>{'✓ ' if d['relevant'] else ''}<code>{E(d['id'])}"
                    f"</code> ({d['score']:.3f}) {E(d['text'])}</li>" for d in docs)
    return f"<ol>{items}</ol>"


def _example_rows(examples: list[dict]) -> str:
    rows = []
    for ex in examples:
        rel = "<br>".join(f"<code>{E(r['id'])}</code> {E(r['text'])}" for r in ex["relevant"])
        rows.append(f"<tr><td><b>{E(ex['query'])}</b><br><span class='muted'>{E(ex['query_id'])}</span></td>"
                    f"<td class='num'>{ex['before']:.3f} → {ex['after']:.3f}<br>({ex['delta']:+.3f})</td>"
                    f"<td><details><summary>relevant</summary>{rel}</details></td>"
                    f"<td>{_docs_list(ex['top_before'])}</td><td>{_docs_list(ex['top_after'])}</td></tr>")
    head = "<tr><th>query</th><th>metric</th><th>relevant document</th><th>top 5 before</th><th>top 5 after</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>" if rows else "<p class='muted'>none</p>"


def per_query_section(report: dict) -> str:
    pq = report.get("per_query")
    if not pq:
        return "<p class='muted'>Per-query analysis needs a BEIR-style retrieval set.</p>"
    m = pq["metric"]
    counts = (f"<p>On {E(m)}: <b class='up'>{pq['wins']} wins</b>, <b class='down'>{pq['losses']} losses</b>, "
              f"{pq['ties']} ties.</p>")
    return (counts + _figure(plots.delta_histogram(pq["deltas"], m), f"Per-query change in {m}")
            + f"<h3>10 biggest regressions</h3>{_example_rows(pq['biggest_regressions'])}"
            + f"<h3>10 biggest wins</h3>{_example_rows(pq['biggest_wins'])}")


def training_section(report: dict) -> str:
    train = (report.get("summary") or {}).get("train")
    if not train:
        return "<p class='muted'>No training log (this report compares two models).</p>"
    history = train.get("log_history") or []
    losses = [(e["step"], e["loss"]) for e in history if "loss" in e and "step" in e]
    eval_key = next((k for e in history for k in e if k.startswith("eval_") and "@" in k), None)
    evals = [(e["step"], e[eval_key]) for e in history if eval_key and eval_key in e]
    best = _checkpoint_step(train.get("best_checkpoint"))
    svg = plots.training_curves([s for s, _ in losses], [v for _, v in losses], [s for s, _ in evals],
                                [v for _, v in evals], eval_key, best)
    info = f"{train.get('steps')} steps on {train.get('rows')} rows; final loss {_fmt(train.get('final_loss'))}"
    caption = ("Training loss per logged step and eval metric per eval step (★ best checkpoint)" if evals else
               "Training loss per logged step")
    why = "" if evals else ("<p class='muted'>No evaluation chart: nothing was evaluated during training "
                            "(pass --eval-steps N with --eval to follow a metric and keep the best checkpoint).</p>")
    return f"<p>{E(info)}" + (f"; best checkpoint at step {best}" if best else "") + "</p>" + \
        _figure(svg, caption) + why


def _checkpoint_step(path: str | None) -> int | None:
    match = re.search(r"checkpoint-(\d+)", path or "")
    return int(match.group(1)) if match else None


def scores_section(report: dict) -> str:
    scores = report.get("scores")
    if not scores:
        return "<p class='muted'>Score distributions need a BEIR-style retrieval set.</p>"
    before, after = (_Dist(scores[report["base"]]), _Dist(scores[report["tuned"]]))
    note = (f"<p class='muted'>Per query: the cosine of the best-ranked relevant document vs the best-ranked other "
            f"document, within the top 100. A query is <i>confused</i> when the negative wins. Queries with no "
            f"relevant document in the top 100: {before.positive_missing} before, {after.positive_missing} after.</p>")
    return _figure(plots.score_distributions(before, after), "Positive vs top-negative cosine") + note


class _Dist:
    def __init__(self, d: dict) -> None:
        self.__dict__.update(d)
        self.queries = len(d["negatives"])


def forgetting_section(report: dict) -> str:
    f = report.get("forgetting")
    if not f:
        return ("<p class='muted'>Not run. Add it with <code>densefit report RUN --forgetting bible</code> "
                "(KJV→WEB Bible paraphrase retrieval) or a BEIR folder of your own.</p>")
    if "error" in f:
        return f"<div class='warn'>The forgetting check could not run: {E(f['error'])}</div>"
    c = f["comparison"]
    box = "warn" if f["warning"] else "ok"
    text = (f"<div class='{box}'>{E(f['message'])}</div><p>{E(f['name'])}: {f['queries']} queries, "
            f"{f['documents']} documents. {E(c['metric'])} {c['a']:.4f} → {c['b']:.4f} ({c['delta']:+.4f}, "
            f"95% CI {c['ci_low']:+.4f} to {c['ci_high']:+.4f}, p {_p(c['p_value'])}).</p>")
    return text + merge_section(report)


def merge_section(report: dict) -> str:
    m = report.get("merge")
    if not m:
        return ""
    pts = m["points"]
    svg = plots.merge_curve([p["weight"] for p in pts], [p["in_domain"] for p in pts], [p["general"] for p in pts],
                            m["metric"], m["chosen"])
    rows = "".join(f"<tr><td class='num'>{p['weight']:g}</td><td class='num'>{p['in_domain']:.4f}</td>"
                   f"<td class='num'>{p['general']:.4f}</td></tr>" for p in pts)
    saved = f" Saved to <code>{E(m['path'])}</code>." if m.get("path") else ""
    return (f"<h3>Weight-space merge (WiSE-FT)</h3><p>{E(m['message'])}{saved}</p>"
            + _figure(svg, "In-domain and general-domain metric along base↔fine-tuned interpolation")
            + f"<table><tr><th>weight</th><th>in-domain</th><th>general</th></tr>{rows}</table>")


def audit_section(report: dict) -> str:
    audit = report.get("audit")
    if not audit:
        return "<p class='muted'>No data audit.</p>"
    rows = []
    for f in audit["files"]:
        s = f["summary"]
        rows.append(f"<tr><td>{E(s['path'])}</td><td>{E(s['format'])}</td><td class='num'>{s['rows_read']}</td>"
                    f"<td class='num'>{s['rows_kept']}</td><td class='num'>{s['empty_dropped']}</td>"
                    f"<td class='num'>{s['duplicates_dropped']}</td></tr>")
        for ls in f["lengths"]:
            rows.append(f"<tr><td class='muted'>&nbsp;&nbsp;{E(ls['column'])} tokens</td><td colspan=5 class='muted'>"
                        f"p50 {ls['p50']:g}, p90 {ls['p90']:g}, max {ls['max']}; {ls['over_limit']} over "
                        f"{ls['limit']}</td></tr>")
    leaks = "".join(f"<li>{E(x['left'])} ↔ {E(x['right'])}: {x['shared_queries']} shared queries, "
                    f"{x['shared_positives']} shared positives</li>" for x in audit["leakage"])
    warnings = "".join(f"<div class='warn'>{E(w)}</div>" for w in report.get("audit_warnings") or [])
    head = "<tr><th>file</th><th>format</th><th>read</th><th>kept</th><th>empty</th><th>duplicates</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>" + (f"<p>Leakage checks:</p><ul>{leaks}</ul>" if leaks else "") \
        + warnings


ALWAYS_SHOWN = ("model", "train", "eval", "method", "loss", "epochs", "max_steps", "batch_size", "learning_rate",
                "max_seq_length", "precision", "seed")


def shown_settings(cfg: dict) -> dict:
    """The settings that matter for every run, plus any other that differs from its default."""
    import dataclasses

    from densefit.config import TrainConfig

    defaults = {f.name: (f.default if f.default is not dataclasses.MISSING else f.default_factory())
                for f in dataclasses.fields(TrainConfig)}
    return {k: v for k, v in cfg.items()
            if k in ALWAYS_SHOWN or (k in defaults and v != defaults[k] and v not in (None, [], ""))}


def settings_section(report: dict) -> str:
    summary = report.get("summary") or {}
    cfg = shown_settings(summary.get("config") or {})
    rows = "".join(f"<tr><th>{E(k)}</th><td>{E(str(v))}</td></tr>" for k, v in cfg.items() if v not in (None, [], ""))
    models = "".join(f"<tr><th>{E(k)}</th><td>{E(str(v))}</td></tr>" for k, v in report.get("models", {}).items())
    loss = summary.get("loss") or {}
    extra = f"<p>Loss: {E(str(loss.get('name')))} ({E(str(loss.get('reason', '')))})</p>" if loss else ""
    return f"<table>{models}</table>{extra}" + (f"<table>{rows}</table>" if rows else "")


def recipe_section(report: dict) -> str:
    """The auto recipe's plan, each choice with its reason, and which model it shipped."""
    recipe = (report.get("summary") or {}).get("recipe")
    if not recipe:
        return "<p class='muted'>No recipe: the method's settings were given or are its own.</p>"
    plan = recipe.get("plan", {})
    reasons = "".join(f"<li>{E(r)}</li>" for r in plan.get("reasons", []))
    scores = ", ".join(f"{E(k)} {_fmt(v)}" for k, v in (recipe.get("dev_ndcg@10") or {}).items())
    shipped = f"<p>Shipped: <b>{E(str(recipe.get('shipped')))}</b> ({E(str(recipe.get('why', '')))})" + \
        (f"; dev nDCG@10 {scores}" if scores else "") + "</p>"
    return f"<ul>{reasons}</ul>{shipped}"


SECTIONS = (("Headline", headline_table), ("Forgetting check", forgetting_section),
            ("Per-query view", per_query_section), ("Training curves", training_section), ("Recipe", recipe_section),
            ("Score distributions", scores_section), ("Data audit", audit_section),
            ("Models and settings", settings_section))


def render_html(report: dict) -> str:
    body = "".join(f"<section id='{title.lower().replace(' ', '-')}'><h2>{title}</h2>{fn(report)}</section>"
                   for title, fn in SECTIONS)
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{E(report['title'])}</title>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{CSS}</style></head>"
            f"<body><h1>{E(report['title'])}</h1><p class='muted'>densefit report, {E(report['created'])}</p>"
            f"{body}</body></html>")
