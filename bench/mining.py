"""Hard-negative mining at scale: 500 man-page training queries against 100,000 documents.

    flock /tmp/densefit-bench.lock .venv/bin/python bench/mining.py            # 100k documents
    .venv/bin/python bench/mining.py --quick                                    # 5,000 documents

The corpus is the man-page documents (which hold the positives) plus man-page paragraphs and
Bible verses (KJV, WEB, Spanish RV) as filler up to --docs. MiniLM encodes at max_seq_length 128.
Exact torch search and faiss HNSW run on the same embeddings in the same run (the peer comparison):
search time, recall of HNSW's top-k against exact, and the negatives chosen by each.
Writes the MINING section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

import numpy as np

import common  # noqa: E402  (bench/common.py: machine line, sections, server helpers)
from progress import line  # noqa: E402  (bench/progress.py: one line per phase)
from common import DOC, machine  # noqa: E402

BEGIN, END = "<!-- MINING:BEGIN -->", "<!-- MINING:END -->"
SEQ = 128


def filler(n: int, pages: list[str]) -> list[str]:
    from densefit.data.builders.bible import bible_verses

    paragraphs = [p.strip() for page in pages for p in page.split("\n") if len(p.split()) >= 8]
    out = list(dict.fromkeys(paragraphs))
    for name in ("KJV", "WEB", "SpaRV"):
        if len(out) >= n:
            break
        out += list(bible_verses(name).values())
    return list(dict.fromkeys(out))[:n]


def corpus_and_pairs(out: Path, n_docs: int):
    from densefit.data.beir import load_beir
    from densefit.data.builders.manpages import build_manpages

    data = out / "manpages"
    build_manpages(data)
    train = load_beir(data, "train")
    pages = list(train.corpus.values())
    queries = [train.queries[q] for q in sorted(train.qrels)]
    positives = [[train.corpus[d] for d, g in train.qrels[q].items() if g > 0] for q in sorted(train.qrels)]
    docs = list(dict.fromkeys(pages + filler(n_docs - len(pages), pages)))[:n_docs]
    return queries, positives, docs


def main() -> None:
    from densefit.api import load
    from densefit.evaluation.search import exact_topk
    from densefit.methods.mining import MiningConfig, hnsw_topk, mine

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default="bench-out/mining")
    args = parser.parse_args()
    watch = common.SharedWatch()
    n_docs = 5000 if args.quick else args.docs
    queries, positives, docs = corpus_and_pairs(Path(args.out), n_docs)
    encoder = load("default", max_seq_length=SEQ)
    t0 = time.perf_counter()
    d_emb = encoder.encode(docs, show_progress=True)
    encode_s = time.perf_counter() - t0
    line(f"encoded {len(docs):,} documents in {encode_s:.0f} s ({len(docs) / encode_s:.0f} docs/s)")
    q_emb = encoder.encode(queries)
    t = time.perf_counter(); exact_idx, _ = exact_topk(q_emb, d_emb, 50); exact_s = time.perf_counter() - t
    t = time.perf_counter(); hnsw_idx, _ = hnsw_topk(q_emb, d_emb, 50); hnsw_s = time.perf_counter() - t
    recall = np.mean([len(set(a[:10]) & set(b[:10])) / 10 for a, b in zip(hnsw_idx, exact_idx)])
    line(f"top-50 for {len(queries):,} queries: exact {exact_s:.2f} s, HNSW {hnsw_s:.2f} s (recall@10 {recall:.3f}); "
         "mining ...")
    # the mining path after encoding (queries, HNSW, filters), on the corpus embeddings made above
    result = mine(encoder, queries, positives, docs, MiningConfig(negatives=3, index="hnsw"), doc_embeddings=d_emb)
    s = result.stats
    total = encode_s + s['timings']['total']
    text = f"""{BEGIN}
## Hard-negative mining at 100k documents

- command: `.venv/bin/python bench/mining.py{' --quick' if args.quick else ''}`
- date: {dt.date.today().isoformat()}
- machine: {machine()}; {watch.note()}
- corpus: {len(docs)} documents (man pages, their paragraphs, Bible verses as filler); {len(queries)} queries;
  MiniLM-L6 at max_seq_length {SEQ} (encoding dominates; at 256 tokens long documents cost about 2x)

| step | exact (torch) | HNSW (faiss, M=32, efSearch 100) |
|---|---|---|
| encode corpus | {encode_s:.0f} s ({len(docs) / encode_s:.0f} docs/s) | same embeddings |
| top-50 search, {len(queries)} queries | {exact_s:.2f} s | {hnsw_s:.2f} s incl. index build |
| recall@10 vs exact | 1.0 | {recall:.3f} |

Whole mining job (encode corpus + `mine()`: queries, HNSW, filters; 3 negatives, relative margin 0.05):
**{total:.0f} s** (corpus encode {encode_s:.0f} s, query encode {s['timings']['encode']:.1f} s, search
{s['timings']['search']:.1f} s, filters {s['timings']['filter']:.1f} s);
positive score mean {s['positive_scores'].get('mean', 0):.3f}, chosen negatives mean {s['negative_scores'].get('mean', 0):.3f};
suspected false negatives dropped: {s['suspected_false_negatives']} ({s['dropped']}); random fill-ins {s['filled_random']}.
{END}"""
    print(text)
    if not args.quick:
        common.write_section(text, BEGIN, END)
        print(f"wrote the MINING section of {DOC}")


if __name__ == "__main__":
    main()
