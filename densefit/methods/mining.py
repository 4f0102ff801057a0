"""Hard-negative mining with false-negative control.

For every query: retrieve `depth` candidates from the corpus with an existing model (exact
search, or faiss HNSW for large corpora), drop the query's own positives, then apply the
false-negative filters in order:

1. rank window: candidates ranked above `skip_top` are never taken (likely unlabelled positives);
2. margin: a candidate scoring above `positive - margin` (absolute) or `positive * (1 - relative_margin)`
   is a suspected false negative;
3. optional cross-encoder rescoring: a candidate the cross-encoder scores at or above the
   positive (minus `ce_margin`) is a suspected false negative.

The first `negatives` survivors are the hard negatives. Every drop is recorded with its reason,
scores and texts, printed as a sample and written to a JSONL review file.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from densefit.console import say
from densefit.errors import ConfigError, UnknownNameError

INDEXES = ("auto", "exact", "hnsw")
# Exact search costs queries x documents; an HNSW graph costs about 0.3 ms per document to build. Measured
# at 100k documents (bench/mining.py): exact top-50 for 500 queries 0.44 s, the graph 31 s. So the graph
# only pays off for large query sets over large corpora.
HNSW_FROM_DOCS = 50_000
HNSW_FROM_QUERIES = 30_000
REVIEW_FILE = "mined_false_negatives.jsonl"
SAMPLE_SHOWN = 5


@dataclass
class MiningConfig:
    negatives: int = field(default=1, metadata={"help": "Hard negatives per query."})
    depth: int = field(default=50, metadata={"help": "Candidates retrieved per query before filtering."})
    skip_top: int = field(default=0, metadata={"help": "Rank window: skip the top-k candidates."})
    margin: float | None = field(default=None, metadata={"help": "Drop candidates above positive - margin."})
    relative_margin: float | None = field(default=0.05, metadata={"help": "Drop above positive * (1 - margin)."})
    index: str = field(default="auto", metadata={"help": "exact, hnsw, or auto (hnsw from 30,000 queries and 50,000 documents)."})
    cross_encoder: str | None = field(default=None, metadata={"help": "CrossEncoder for rescoring candidates."})
    ce_margin: float = field(default=0.0, metadata={"help": "Drop when CE(neg) >= CE(positive) - ce_margin."})
    review: str | None = field(default=None, metadata={"help": "JSONL file for the dropped candidates."})
    seed: int = field(default=0, metadata={"help": "Seed for random fill-ins when too few negatives survive."})

    def __post_init__(self) -> None:
        if self.index not in INDEXES:
            raise UnknownNameError("mining index", self.index, INDEXES)
        if self.negatives < 1 or self.depth < 1 or self.skip_top < 0:
            raise ConfigError("mining: negatives and depth must be >= 1, skip_top >= 0")

    @classmethod
    def from_train(cls, cfg) -> "MiningConfig":
        review = cfg.mine_review or str(Path(cfg.out) / REVIEW_FILE)
        return cls(cfg.mine_negatives, cfg.mine_depth, cfg.mine_skip_top, cfg.mine_margin, cfg.mine_relative_margin,
                   cfg.mine_index, cfg.mine_cross_encoder, review=review, seed=cfg.seed)


@dataclass
class Candidate:
    doc: int
    rank: int
    score: float
    ce_score: float | None = None


@dataclass
class MiningResult:
    negatives: list[list[int]]          # per query: corpus indices, best first
    dropped: list[dict]                 # suspected false negatives and rank-window skips, for review
    stats: dict


# --------------------------------------------------------------------------- search

def resolve_index(kind: str, n_docs: int, n_queries: int) -> str:
    if kind != "auto":
        return kind
    return "hnsw" if n_docs >= HNSW_FROM_DOCS and n_queries >= HNSW_FROM_QUERIES else "exact"


def hnsw_topk(queries: np.ndarray, docs: np.ndarray, k: int, m: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Approximate top-k by inner product with a faiss HNSW graph (efSearch scales with k)."""
    import faiss

    index = faiss.IndexHNSWFlat(docs.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 80
    index.add(np.ascontiguousarray(docs, dtype=np.float32))
    index.hnsw.efSearch = max(64, 2 * k)
    scores, idx = index.search(np.ascontiguousarray(queries, dtype=np.float32), min(k, docs.shape[0]))
    return idx.astype(np.int64), scores


def search(queries: np.ndarray, docs: np.ndarray, k: int, index: str) -> tuple[np.ndarray, np.ndarray]:
    from densefit.evaluation.search import exact_topk

    return hnsw_topk(queries, docs, k) if index == "hnsw" else exact_topk(queries, docs, k)


# --------------------------------------------------------------------------- filters (pure)

def margin_limit(positive: float, cfg: MiningConfig) -> float:
    """Highest score a negative may have, given the positive's score."""
    limit = float("inf")
    if cfg.margin is not None:
        limit = min(limit, positive - cfg.margin)
    if cfg.relative_margin is not None:
        limit = min(limit, positive * (1 - cfg.relative_margin))
    return limit


def filter_candidates(cands: list[Candidate], positives: set[int], positive_score: float,
                      cfg: MiningConfig) -> tuple[list[Candidate], list[tuple[Candidate, str]]]:
    """Apply the rank window and the margin; returns (kept, [(dropped, reason)]). Positives vanish silently."""
    limit = margin_limit(positive_score, cfg)
    kept, dropped = [], []
    for c in cands:
        if c.doc in positives:
            continue
        if c.rank < cfg.skip_top:
            dropped.append((c, "rank window"))
        elif c.score > limit:
            dropped.append((c, "margin"))
        else:
            kept.append(c)
    return kept, dropped


def filter_by_cross_encoder(kept: list[Candidate], positive_ce: float,
                            cfg: MiningConfig) -> tuple[list[Candidate], list[tuple[Candidate, str]]]:
    keep = [c for c in kept if c.ce_score is None or c.ce_score < positive_ce - cfg.ce_margin]
    return keep, [(c, "cross-encoder") for c in kept if c not in keep]


# --------------------------------------------------------------------------- the run

def positive_sets(queries: list[str], positives: list[list[str]], corpus: list[str]) -> list[set[int]]:
    """Corpus indices of each query's positives (matched by exact text)."""
    where: dict[str, list[int]] = {}
    for i, text in enumerate(corpus):
        where.setdefault(text.strip(), []).append(i)
    return [{i for p in pos for i in where.get(p.strip(), [])} for pos in positives]


def positive_scores(q_emb: np.ndarray, positives: list[list[str]], encoder) -> np.ndarray:
    """Per query, the lowest cosine to any of its positives (the conservative reference)."""
    flat = [p for pos in positives for p in pos]
    emb = encoder.encode(flat, kind="document")
    out, start = np.zeros(len(positives), dtype=np.float32), 0
    for qi, pos in enumerate(positives):
        out[qi] = float((emb[start:start + len(pos)] @ q_emb[qi]).min())
        start += len(pos)
    return out


def _review_row(query: str, positive: str, corpus: list[str], c: Candidate, pos_score: float, reason: str) -> dict:
    return {"query": query, "positive": positive, "candidate": corpus[c.doc], "candidate_index": c.doc,
            "rank": c.rank, "score": round(c.score, 4), "positive_score": round(pos_score, 4),
            "cross_encoder_score": c.ce_score, "reason": reason}


def _cross_encoder_scores(ce, query: str, positive: str, kept: list[Candidate], corpus: list[str]) -> float:
    from densefit.methods.cross_encoder import raw_scores

    scores = raw_scores(ce, [(query, positive)] + [(query, corpus[c.doc]) for c in kept])
    for c, s in zip(kept, scores[1:]):
        c.ce_score = float(s)
    return float(scores[0])


def _fill_random(chosen: list[int], positives: set[int], n: int, n_docs: int, rng: random.Random) -> int:
    """Top up with random non-positive documents; returns how many were added."""
    added, tries = 0, 0
    while len(chosen) < n and tries < 50 * n:
        tries += 1
        d = rng.randrange(n_docs)
        if d not in positives and d not in chosen:
            chosen.append(d)
            added += 1
    return added


def mine(encoder, queries: list[str], positives: list[list[str]], corpus: list[str],
         cfg: MiningConfig, doc_embeddings: np.ndarray | None = None) -> MiningResult:
    """Hard negatives for each query (unique queries, each with its positives) from `corpus`.

    `doc_embeddings` (normalised, one row per corpus text) skips encoding the corpus again.
    """
    t0 = time.perf_counter()
    index = resolve_index(cfg.index, len(corpus), len(queries))
    say(f"mining: encoding {len(corpus) if doc_embeddings is None else 0} documents and {len(queries)} queries")
    d_emb = (doc_embeddings if doc_embeddings is not None
             else encoder.encode(corpus, show_progress=len(corpus) > 5000, kind="document"))
    q_emb = encoder.encode(queries, kind="query")
    t_enc = time.perf_counter()
    depth = min(cfg.depth + cfg.skip_top + max(len(p) for p in positives), len(corpus))
    idx, scores = search(q_emb, d_emb, depth, index)
    t_search = time.perf_counter()
    pos_sets, pos_scores = positive_sets(queries, positives, corpus), positive_scores(q_emb, positives, encoder)
    ce = _load_ce(cfg)
    rng = random.Random(cfg.seed)
    negatives, dropped, filled, chosen_scores = [], [], 0, []
    for qi, query in enumerate(queries):
        cands = [Candidate(int(d), r, float(s)) for r, (d, s) in enumerate(zip(idx[qi], scores[qi])) if d >= 0]
        kept, gone = filter_candidates(cands, pos_sets[qi], float(pos_scores[qi]), cfg)
        if ce is not None and kept:
            pos_ce = _cross_encoder_scores(ce, query, positives[qi][0], kept, corpus)
            kept, more = filter_by_cross_encoder(kept, pos_ce, cfg)
            gone += more
        chosen = [c.doc for c in kept[:cfg.negatives]]
        chosen_scores += [c.score for c in kept[:cfg.negatives]]
        filled += _fill_random(chosen, pos_sets[qi], cfg.negatives, len(corpus), rng)
        negatives.append(chosen)
        dropped += [_review_row(query, positives[qi][0], corpus, c, float(pos_scores[qi]), why) for c, why in gone]
    stats = _stats(scores, pos_scores, chosen_scores, dropped, filled, index, len(corpus), len(queries))
    stats["timings"] = {"encode": round(t_enc - t0, 2), "search": round(t_search - t_enc, 2),
                        "filter": round(time.perf_counter() - t_search, 2), "total": round(time.perf_counter() - t0, 2)}
    return MiningResult(negatives, dropped, stats)


def _load_ce(cfg: MiningConfig):
    if not cfg.cross_encoder:
        return None
    from densefit.methods.cross_encoder import load_cross_encoder

    return load_cross_encoder(cfg.cross_encoder)


def _describe(values) -> dict:
    a = np.asarray(list(values), dtype=np.float64)
    if a.size == 0:
        return {"n": 0}
    p = np.percentile(a, [5, 50, 95])
    return {"n": int(a.size), "mean": round(float(a.mean()), 4), "p5": round(float(p[0]), 4),
            "median": round(float(p[1]), 4), "p95": round(float(p[2]), 4)}


def _stats(scores, pos_scores, chosen_scores, dropped, filled, index, n_docs, n_queries) -> dict:
    reasons: dict[str, int] = {}
    for row in dropped:
        reasons[row["reason"]] = reasons.get(row["reason"], 0) + 1
    return {"index": index, "documents": n_docs, "queries": n_queries,
            "positive_scores": _describe(pos_scores), "top1_candidate_scores": _describe(scores[:, 0]),
            "negative_scores": _describe(chosen_scores), "dropped": reasons,
            "suspected_false_negatives": sum(v for k, v in reasons.items() if k != "rank window"),
            "filled_random": filled}


# --------------------------------------------------------------------------- reporting

def report(result: MiningResult, review: str | None) -> None:
    s = result.stats
    say(f"mining ({s['index']}, {s['documents']} docs, {s['queries']} queries, {s['timings']['total']:.1f}s): "
        f"positive score {_fmt(s['positive_scores'])}; chosen negatives {_fmt(s['negative_scores'])}")
    say(f"dropped: {s['dropped'] or 'none'}; suspected false negatives: {s['suspected_false_negatives']}; "
        f"random fill-ins: {s['filled_random']}")
    for row in [r for r in result.dropped if r["reason"] != "rank window"][:SAMPLE_SHOWN]:
        say(f"  [{row['reason']}] q={_short(row['query'])!r} score {row['score']:.3f} >= pos "
            f"{row['positive_score']:.3f}: {_short(row['candidate'])!r}")
    if review:
        write_review(review, result.dropped)
        say(f"review the dropped candidates in {review}")


def _fmt(d: dict) -> str:
    return "n/a" if not d.get("n") else f"mean {d['mean']:.3f} (p5 {d['p5']:.3f}, p95 {d['p95']:.3f})"


def _short(text: str, n: int = 70) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def write_review(path: str | Path, rows: list[dict]) -> Path:
    """JSONL, one dropped candidate per line, written atomically."""
    from densefit.io import write_jsonl_atomic

    return write_jsonl_atomic(Path(path), rows)


# --------------------------------------------------------------------------- entry points

def group_pairs(anchors: list[str], positives: list[str]) -> tuple[list[str], list[list[str]]]:
    """Unique queries in first-seen order, each with all of its positives."""
    grouped: dict[str, list[str]] = {}
    for a, p in zip(anchors, positives):
        grouped.setdefault(a, []).append(p)
    return list(grouped), list(grouped.values())


def negative_columns(anchors: list[str], queries: list[str], negatives: list[list[str]]) -> dict[str, list[str]]:
    """Row-aligned columns `negative`, `negative_2`, ...: each row gets its query's negatives."""
    by_query = dict(zip(queries, negatives))
    n = len(negatives[0]) if negatives else 0
    names = ["negative"] + [f"negative_{i}" for i in range(2, n + 1)]
    return {name: [by_query[a][i] for a in anchors] for i, name in enumerate(names)}


def corpus_texts(cfg, fallback: list[str]) -> tuple[list[str], str]:
    """Mining corpus: --corpus, else a BEIR training folder's corpus, else the training documents."""
    from densefit.data.beir import is_beir_dir
    from densefit.data.corpus import load_corpus

    source = cfg.corpus or (cfg.train if is_beir_dir(cfg.train) else None)
    if source:
        return load_corpus(source).texts, str(source)
    return list(dict.fromkeys(fallback)), "the training documents"


def mine_for_columns(cfg, model, columns: dict[str, list], kind: str) -> tuple[dict, dict, dict]:
    """Supervised training with --mine: the columns with `negative` added, extra negative columns, a report."""
    from densefit.inference.select import as_encoder

    if kind != "retrieval":
        raise ConfigError(f"--mine needs query-document pairs, not {kind} data")
    mcfg = MiningConfig.from_train(cfg)
    corpus, source = corpus_texts(cfg, columns["positive"])
    queries, positives = group_pairs(columns["anchor"], columns["positive"])
    result = mine(as_encoder(model, precision=cfg.precision), queries, positives, corpus, mcfg)
    report(result, mcfg.review)
    texts = [[corpus[d] for d in row] for row in result.negatives]
    negs = negative_columns(columns["anchor"], queries, texts)
    base = {"anchor": columns["anchor"], "positive": columns["positive"], "negative": negs.pop("negative")}
    return base, negs, {"corpus": source, "review_file": mcfg.review, "config": asdict(mcfg), **result.stats}


def mine_file(model: str, train: str, corpus: str, out: str, mcfg: MiningConfig, *, precision: str = "auto",
              max_seq_length: int | None = None) -> dict:
    """`densefit mine`: read pairs, mine negatives, write triplets JSONL (negative, negative_2, ...)."""
    from densefit.data.corpus import load_corpus
    from densefit.data.formats import load_training_data
    from densefit.inference.select import load_encoder

    data = load_training_data(train)
    if data.kind != "retrieval":
        raise ConfigError(f"densefit mine needs query-document pairs; {train} holds {data.kind} data")
    docs = load_corpus(corpus).texts
    queries, positives = group_pairs(data.columns["anchor"], data.columns["positive"])
    encoder = load_encoder(model, precision=precision, max_seq_length=max_seq_length)
    result = mine(encoder, queries, positives, docs, mcfg)
    report(result, mcfg.review or str(Path(out).with_suffix("")) + ".review.jsonl")
    rows = [{"anchor": q, "positive": p, **{("negative" if i == 0 else f"negative_{i + 1}"): docs[d]
                                            for i, d in enumerate(negs)}}
            for q, pos, negs in zip(queries, positives, result.negatives) for p in pos]
    write_review(out, rows)  # the same atomic JSONL writer
    return result.stats
