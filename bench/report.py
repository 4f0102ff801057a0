"""The before/after report on a real run: man pages, MiniLM-L6, MNR; Bible KJV→WEB forgetting check.

If `demo-out/` holds a finished demo run, its report is rebuilt (`densefit report demo-out`);
otherwise a short MiniLM run is trained. The headline numbers (deltas, 95% CIs, p-values,
forgetting delta, merge choice) go into docs/benchmarks.md between the REPORT markers.
The stock peer, sentence-transformers' InformationRetrievalEvaluator, scores the same
fine-tuned model in the same run: it gives the point estimate only, no CI and no p-value.

    flock /tmp/densefit-bench.lock python bench/report.py            # full
    python bench/report.py --quick                                   # smoke: 5 steps, no merge
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

from common import machine  # noqa: E402

import common  # noqa: E402  (bench/common.py: machine line, sections, server helpers)
DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
BEGIN, END = "<!-- REPORT:BEGIN -->", "<!-- REPORT:END -->"
KEYS = ("ndcg@10", "mrr@10", "recall@10", "recall@100", "hit@1")


def train_run(out: Path, quick: bool) -> Path:
    from densefit.api import run_training
    from densefit.config import TrainConfig
    from densefit.data.builders.manpages import build_manpages

    data = out / "data" / "manpages"
    build_manpages(data)
    run = out / ("run-quick" if quick else "run")
    cfg = TrainConfig(model="default", train=str(data), eval=str(data), out=str(run), loss="mnr", epochs=1.0,
                      batch_size=32, learning_rate=1e-4, max_seq_length=128, max_steps=5 if quick else -1,
                      forgetting="bible", merge=None if quick else "auto", resume=False)
    run_training(cfg)
    return run


def peer_ndcg(run: Path, data: str, max_seq_length: int | None) -> float:
    """sentence-transformers' own IR evaluator on the fine-tuned model (the stock peer)."""
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

    from densefit.data.beir import load_beir
    from densefit.models import load_model

    irset = load_beir(data)
    model = load_model(str(run / "model"), max_seq_length=max_seq_length)
    judged = irset.judged_queries()
    evaluator = InformationRetrievalEvaluator(
        judged, irset.corpus, {q: {d for d, g in irset.qrels[q].items() if g > 0} for q in judged},
        ndcg_at_k=[10], mrr_at_k=[10], accuracy_at_k=[1], precision_recall_at_k=[10], map_at_k=[10],
        show_progress_bar=False, name="peer")
    return float(evaluator(model)["peer_cosine_ndcg@10"])


def section(data: dict, command: str, seconds: float, peer: float | None, source: str, machine_use: str) -> str:
    head, base, tuned = data["headline"], data["base"], data["tuned"]
    cols = head["columns"]
    cmp = {c["metric"]: c for c in head["comparisons"][base]}
    rows = "\n".join(
        f"| {k} | {cols.get('bm25', {}).get(k, float('nan')):.4f} | {cols[base][k]:.4f} | {cols[tuned][k]:.4f} | "
        f"{cmp[k]['delta']:+.4f} | [{cmp[k]['ci_low']:+.4f}, {cmp[k]['ci_high']:+.4f}] | {cmp[k]['p_value']:.4g} |"
        for k in KEYS if k in cmp)
    pq = data["per_query"]
    f = data.get("forgetting")
    c = f["comparison"] if f else {}
    forget = (f"- forgetting check ({f['name']}, {f['queries']} queries, {f['documents']} verses): ndcg@10 "
              f"{c['a']:.4f} → {c['b']:.4f} (**{c['delta']:+.4f}**, 95% CI [{c['ci_low']:+.4f}, {c['ci_high']:+.4f}], "
              f"p {c['p_value']:.4g}); warning shown: {'yes' if f['warning'] else 'no'} (threshold −{f['threshold']})"
              ) if f else ""
    m = data.get("merge")
    merge = ("- merge (`--merge auto`): " + ", ".join(f"w={p['weight']:g}: in-domain {p['in_domain']:.4f} / "
                                                      f"general {p['general']:.4f}" for p in m["points"])
             + f"; chosen **{m['chosen']:g}**") if m else ""
    peer_line = (f"- stock peer, sentence-transformers `InformationRetrievalEvaluator` on the same fine-tuned model: "
                 f"ndcg@10 {peer:.4f} (densefit: {cols[tuned]['ndcg@10']:.4f}); the peer reports no CI and no "
                 "p-value") if peer is not None else ""
    return f"""{BEGIN}
## Report: paired statistics on a real run (man pages, MiniLM-L6, MNR)

- command: `{command}`
- date: {dt.date.today().isoformat()}; machine: {machine()} ({machine_use})
- run: {source}; {head['queries']} test queries; report written in {seconds:.0f} s after training
  (BM25, audit, forgetting check and merge search included)

| metric | BM25 | base | fine-tuned | Δ | 95% CI (paired bootstrap) | p (randomisation) |
|---|---|---|---|---|---|---|
{rows}

- p-values come from 10,000 random sign flips, so 0.0002 (two-sided, with the +1 correction) is the floor:
  it reads "p < 0.001"
- data: {data['eval']['documents']} man pages, {head['queries']} test queries (the builder in the tree at the time)
- per query (ndcg@10): {pq['wins']} wins, {pq['losses']} losses, {pq['ties']} ties
{forget}
{merge}
{peer_line}
{END}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="bench-out/report")
    parser.add_argument("--demo-dir", default="demo-out")
    parser.add_argument("--quick", action="store_true", help="smoke run: 5 steps, no merge, doc not updated")
    parser.add_argument("--from-run", help="only summarise an existing run folder that has a report")
    args = parser.parse_args()
    start, watch = time.time(), common.SharedWatch()
    demo = Path(args.demo_dir)
    if args.from_run:
        run = Path(args.from_run)
        c = json.loads((run / "train.json").read_text())["config"]
        source = (f"a {c['epochs']:g}-epoch run of {c['model']}, max_seq_length {c['max_seq_length']}, lr "
                  f"{c['learning_rate']:g}, batch {c['batch_size']} (trained by this script, summarised with --from-run)")
    elif not args.quick and (demo / "train.json").is_file():
        from densefit.report import report_run

        report_run(demo, forgetting="bible", merge="auto")
        run, source = demo, f"`densefit report {demo} --merge auto` (the demo run, rebuilt)"
    else:
        run = train_run(Path(args.out), args.quick)
        source = "a fresh 1-epoch MiniLM run, max_seq_length 128, lr 1e-4, batch 32"
    seconds = (run / "report.html").stat().st_mtime - (run / "train.json").stat().st_mtime
    if run == demo:
        seconds = time.time() - start
    data = json.loads((run / "report-data.json").read_text())
    cfg = json.loads((run / "train.json").read_text())["config"]
    peer = None if args.quick else peer_ndcg(run, cfg["eval"], cfg.get("max_seq_length"))
    command = "flock /tmp/densefit-bench.lock python bench/report.py" + (" --quick" if args.quick else "")
    text = section(data, command, seconds, peer, source, watch.note())
    print(text)
    if not args.quick:
        common.write_section(text, BEGIN, END)
        print(f"updated {DOC}")


if __name__ == "__main__":
    main()
