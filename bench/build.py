"""`densefit build` measured: (1) corpus only on the public domains of the quality benchmark: each BEIR set's
documents go in without their queries, and the set's real test queries score the base and the built model;
(2) the man-page folder from raw .gz files to a server answering /search, with the time of each stage and
the peak memory; (3) the reading side at scale: 10,000+ HTML pages up to the generated queries.

    python bench/build.py [--only manpages,pyapi] [--no-folder] [--no-domains] [--no-scale]
                          [--no-parsers] [--from-runs] [--cached]

The folder runs first, on a quiet machine, since its wall time is a target. Results are cached in
bench-out/build/results.json (a part not run keeps its cached figures); --cached rewrites the BUILD section.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import common

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench-out" / "build"
TARGET_GAIN = 0.05
TARGET_DOMAINS = 4
TARGET_MINUTES = 15
MAN_FOLDER = "usr/share/man"
BEGIN, END = "<!-- BUILD:BEGIN -->", "<!-- BUILD:END -->"
DENSEFIT = [sys.executable, "-c", "from densefit.cli.app import main; main()"]


def run_build(folder: Path, out: Path, *extra: str) -> dict:
    """One `densefit build` in its own process: its state, wall time and its own peak RSS (from wait4)."""
    shutil.rmtree(out, ignore_errors=True)
    OUT.mkdir(parents=True, exist_ok=True)
    log = OUT / f"{out.name}.log"
    t = time.perf_counter()
    with open(log, "w") as sink:
        proc = subprocess.Popen([*DENSEFIT, "--no-progress", "build", str(folder), "--out", str(out), *extra],
                                stdout=sink, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"build of {folder} failed (exit {proc.returncode}):\n{log.read_text()[-4000:]}")
    state = json.loads((out / "build.json").read_text())
    return {"state": state, "seconds": time.perf_counter() - t, "peak_rss_gb": usage.ru_maxrss / 1e6}


def counted_domains() -> list[str]:
    sys.path.insert(0, str(ROOT / "bench"))
    from quality import counted_domains

    return counted_domains()


def corpus_only(name: str) -> dict:
    sys.path.insert(0, str(ROOT / "bench"))
    from quality import domain_dir

    res = run_build(domain_dir(name), OUT / "runs" / name)
    return domain_row(name, res["state"], res["seconds"])


def domain_row(name: str, state: dict, seconds: float) -> dict:
    stages = state["stages"]
    ev, queries = stages["evaluate"], stages["queries"]
    return {"domain": name, "test": queries["test"], "test_queries": queries["queries"]["test"],
            "chunks": stages["chunks"]["chunks"], "base": ev["before"]["mrr@10"], "built": ev["after"]["mrr@10"],
            "ci": ev["paired"]["mrr@10"], "shipped": stages["train"]["shipped"], "seconds": seconds,
            "train_s": stages["train"]["seconds"]}


def folder_to_server() -> dict:
    """Raw man pages -> build -> `densefit serve OUT` answering /search; wall time of each part."""
    from densefit.data.builders.debian import cache_root
    from densefit.data.builders.manpages import fetch_man_tree

    folder = fetch_man_tree(cache_root() / "manpages-pkg") / MAN_FOLDER
    res = run_build(folder, OUT / "runs" / "man-folder")
    return folder_row(res["state"], res["seconds"], res["peak_rss_gb"])


def folder_row(state: dict, build_s: float, peak_rss_gb: float | None) -> dict:
    """The served build: time until `densefit serve OUT` answers /search, and its top hits."""
    port = common.free_port()
    t = time.perf_counter()
    proc = subprocess.Popen([*DENSEFIT, "serve", str(OUT / "runs" / "man-folder"), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        common.wait_ready(port, proc)
        import httpx

        hits = httpx.post(f"http://127.0.0.1:{port}/search", json={"query": "change file permissions", "k": 3},
                          timeout=60).json()["hits"]
    finally:
        common.stop(proc)
    stages = {n: s["seconds"] for n, s in state["stages"].items()}
    return {"build_s": build_s, "serve_ready_s": time.perf_counter() - t, "stages": stages,
            "peak_rss_gb": peak_rss_gb, "chunks": state["stages"]["chunks"],
            "evaluate": state["stages"]["evaluate"], "shipped": state["stages"]["train"]["shipped"],
            "queries": state["stages"]["queries"], "top_hits": [h["metadata"].get("source") for h in hits]}


def from_runs(names: list[str]) -> dict:
    """Results rebuilt from the finished builds in bench-out/build/runs (a run killed after its builds):
    wall times are the builds' own totals and the folder's peak RSS is unknown."""
    out = {"domains": []}
    for name in names:
        path = OUT / "runs" / name / "build.json"
        state = json.loads(path.read_text()) if path.is_file() else {}
        if "evaluate" in state.get("stages", {}):
            out["domains"].append(domain_row(name, state, state["seconds"]))
    folder = OUT / "runs" / "man-folder" / "build.json"
    if folder.is_file():
        state = json.loads(folder.read_text())
        out["folder"] = folder_row(state, state["seconds"], None)
    return out


SCALE_PACKAGES = ("openjdk-17-doc", "libstdc++-12-doc")   # about 14,000 HTML pages (javadoc, doxygen)


def scale_check() -> dict:
    """The reading side at scale: `build --until queries` over 10,000+ HTML pages, its stage times and peak RSS.
    The index passes are not run here (hours on 2 cores); the section estimates them from the folder's rate."""
    from densefit.data.builders.debian import cache_root, fetch_debian_tree

    tree = fetch_debian_tree(SCALE_PACKAGES, cache_root() / "scale-html", hint="pass --no-scale to skip this part")
    folder = tree / "usr" / "share" / "doc"
    pages = sum(1 for p in folder.rglob("*") if p.suffix in (".html", ".htm"))
    res = run_build(folder, OUT / "runs" / "scale-html", "--until", "queries")
    stages = res["state"]["stages"]
    return {"pages": pages, "packages": list(SCALE_PACKAGES), "stages": {n: s["seconds"] for n, s in stages.items()},
            "chunks": stages["chunks"]["chunks"], "files_read": stages["chunks"]["files_read"],
            "skipped": stages["chunks"]["skipped"], "peak_rss_gb": res["peak_rss_gb"], "seconds": res["seconds"]}


def _scale_lines(sc: dict, folder: dict | None) -> list[str]:
    line = (f"Scale: {sc['pages']} HTML pages ({', '.join(sc['packages'])}; {sc['files_read']} files read, "
            f"{sc['skipped']} other files skipped) gave {sc['chunks']} chunks; `--until queries` took "
            + ", ".join(f"{n} {s:.0f} s" for n, s in sc["stages"].items())
            + f", peak RSS {sc['peak_rss_gb']:.1f} GB (limit 6 GB: "
            + ("met" if sc["peak_rss_gb"] <= 6 else "NOT met") + ").")
    if folder and folder["stages"].get("index-base"):
        rate = folder["chunks"]["chunks"] / folder["stages"]["index-base"]
        line += (f" At the man-page folder's index rate ({rate:.0f} chunks/s), each of the two index passes would "
                 f"take about {sc['chunks'] / rate / 60:.0f} min here; they were not run.")
    return ["", line]


def html_parsers() -> dict:
    """Pages/s of the HTML reader's parser (lexbor) against the standard library's, on python3.11-doc."""
    from densefit.data.builders.pydocs import fetch_html_root, parse_html, text_of
    from densefit.data.documents.html import _marked_text, parse

    pages = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(fetch_html_root(None).rglob("*.html"))]
    out = {}
    for name, fn in (("selectolax (lexbor)", lambda s: _marked_text(parse(s))),
                     ("html.parser (stdlib)", lambda s: text_of(parse_html(s)))):
        t = time.perf_counter()
        for page in pages:
            fn(page)
        out[name] = len(pages) / (time.perf_counter() - t)
    return {"pages": len(pages), "pages_per_s": out}


def _parser_lines(p: dict) -> list[str]:
    rates = p["pages_per_s"]
    best = max(rates, key=rates.get)
    other = min(rates, key=rates.get)
    return ["", f"HTML parser, {p['pages']} python3.11-doc pages: " +
            ", ".join(f"{n} {r:.0f} pages/s" for n, r in rates.items()) +
            f"; {best} is {rates[best] / rates[other]:.1f}x {other}, so the reader uses it."]


def _domain_lines(rows: list[dict]) -> list[str]:
    lines = ["| domain | chunks | test queries | base MRR@10 | built MRR@10 | Δ [95% CI] | shipped | wall |",
             "|---|---:|---:|---:|---:|---:|---|---:|"]
    for r in rows:
        ci = f"{r['ci']['delta']:+.4f} [{r['ci']['ci_low']:+.3f}, {r['ci']['ci_high']:+.3f}]"
        lines.append(f"| {r['domain']} | {r['chunks']} | {r['test_queries']} ({r['test']}) | {r['base']:.4f} | "
                     f"{r['built']:.4f} | {ci} | {r['shipped']} | {r['seconds']:.0f} s |")
    met = [r["domain"] for r in rows if r["built"] - r["base"] >= TARGET_GAIN]
    below = [r["domain"] for r in rows if r["built"] < r["base"] - 1e-9]
    lines.append("")
    lines.append(f"Corpus only, target MRR@10 ≥ base + {TARGET_GAIN} on at least {TARGET_DOMAINS} domains: "
                 f"reached on {len(met)} of {len(rows)} ({', '.join(met) or 'none'}): "
                 f"{'met' if len(met) >= TARGET_DOMAINS else 'NOT met'}. Below the base: "
                 f"{', '.join(below) or 'none'} ({'the never-worse rule held' if not below else 'the rule failed'}).")
    return lines


def _folder_lines(f: dict) -> list[str]:
    total = f["build_s"] + f["serve_ready_s"]
    t = f["evaluate"]
    rss = "not recorded" if f["peak_rss_gb"] is None else f"{f['peak_rss_gb']:.1f} GB"
    return ["", "| stage | seconds |", "|---|---:|", *[f"| {n} | {s:.0f} |" for n, s in f["stages"].items()],
            f"| serve until ready | {f['serve_ready_s']:.0f} |", "",
            f"Man-page folder ({f['chunks']['chunks']} chunks from {f['chunks']['files_read']} files, "
            f"{f['chunks']['skipped']} skipped): raw .gz files to a server answering /search in {total / 60:.1f} min "
            f"(target ≤ {TARGET_MINUTES} min: {'met' if total <= TARGET_MINUTES * 60 else 'NOT met'}), peak RSS "
            f"{rss}. On its {f['queries']['queries']['test']} {f['queries'].get('test', '')} test queries MRR@10 went "
            f"{t['before']['mrr@10']:.4f} → {t['after']['mrr@10']:.4f} (shipped: {f['shipped']})"
            + ("; these test queries were generated, cut from their own chunk, so both figures overrate the models. "
               if f["queries"].get("test") == "generated" else ". ") +
            f"Top hits for 'change file permissions': {', '.join(map(str, f['top_hits']))}.", "",
            _where_time_went(f, total)]


def _where_time_went(f: dict, total: float) -> str:
    """Which stages the wall time went to, and what the target leaves for training, from the figures."""
    st = f["stages"]
    index = st.get("index-base", 0.0) + st.get("index", 0.0)
    fixed = total - st.get("train", 0.0)
    left = TARGET_MINUTES * 60 - fixed
    return (f"The two index passes (base and built model, {f['chunks']['chunks']} chunks each) took {index:.0f} s, "
            f"{100 * index / total:.0f}% of the total; training took {st.get('train', 0.0):.0f} s. Everything but "
            f"training took {fixed:.0f} s, so the {TARGET_MINUTES}-minute target leaves "
            + (f"{left:.0f} s for training on this machine." if left > 0 else
               f"no time for training on this machine ({-left:.0f} s over before any)."))


def write(results: dict, watch_note: str) -> None:
    lines = [BEGIN, "## BUILD: from documents alone", "",
             f"`python bench/build.py` — {common.machine()}, {common.today()}; {watch_note}.", ""]
    if results.get("domains"):
        lines += _domain_lines(results["domains"])
    if results.get("folder"):
        lines += _folder_lines(results["folder"])
    if results.get("scale"):
        lines += _scale_lines(results["scale"], results.get("folder"))
    if results.get("parsers"):
        lines += _parser_lines(results["parsers"])
    lines.append(END)
    common.write_section("\n".join(lines), BEGIN, END)
    print("\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="", help="comma-separated domains (default: every counted domain of "
                    "bench/quality.py)")
    ap.add_argument("--no-folder", action="store_true")
    ap.add_argument("--no-domains", action="store_true")
    ap.add_argument("--no-scale", action="store_true")
    ap.add_argument("--no-parsers", action="store_true")
    ap.add_argument("--from-runs", action="store_true", help="rebuild the results from the finished builds")
    ap.add_argument("--cached", action="store_true")
    args = ap.parse_args()
    cache = OUT / "results.json"
    watch = common.SharedWatch()
    results = json.loads(cache.read_text()) if cache.is_file() else {}  # parts not run now are kept
    names = [n for n in args.only.split(",") if n] or counted_domains()

    def save(part: str, value) -> None:  # after every part, so a killed run keeps what it measured
        results[part] = value
        results["note"] = watch.note()
        OUT.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(results, indent=2))

    if args.from_runs:
        for part, value in from_runs(names).items():
            save(part, value)
        results["note"] = "rebuilt from the finished builds (--from-runs): their machine use was not measured"
        cache.write_text(json.dumps(results, indent=2))
    elif not args.cached:
        if not args.no_parsers:
            save("parsers", html_parsers())
        if not args.no_folder:
            save("folder", folder_to_server())
        if not args.no_domains:
            rows = []
            for name in names:
                rows.append(corpus_only(name))
                save("domains", rows)
        if not args.no_scale:
            save("scale", scale_check())
    write(results, results.get("note", watch.note()))


if __name__ == "__main__":
    main()
