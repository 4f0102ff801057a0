"""The lexical side of hybrid search: SQLite FTS5 BM25, the engine the embedded store keeps beside its vectors.

The same tokenizer and query rewriting are used by the store (`index/local.py`) and by evaluation, so
`densefit eval --hybrid` measures what `densefit search --mode hybrid` and `serve` do.
"""

from __future__ import annotations

import re
import sqlite3

from densefit.data.beir import IRSet

TOKENIZE = "porter unicode61 remove_diacritics 2"
WORD_RE = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str) -> str:
    """Any word of `text`, each quoted (so no word is read as FTS5 syntax); '' when there is none."""
    return " OR ".join(f'"{w}"' for w in dict.fromkeys(WORD_RE.findall(text.lower())))


def fts5_run(irset: IRSet, k: int = 100) -> dict[str, dict[str, float]]:
    """BM25 (FTS5, -bm25 so that higher is better) top-k for every judged query, from an in-memory index."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(f"CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, text, tokenize='{TOKENIZE}')")
        conn.executemany("INSERT INTO docs(id, text) VALUES (?, ?)", irset.corpus.items())
        run = {}
        for qid, text in irset.judged_queries().items():
            query = fts_query(text)
            rows = conn.execute("SELECT id, bm25(docs) AS s FROM docs WHERE docs MATCH ? ORDER BY s, id LIMIT ?",
                                (query, k)).fetchall() if query else []
            run[qid] = {doc: -float(score) for doc, score in rows}
        return run
    finally:
        conn.close()
