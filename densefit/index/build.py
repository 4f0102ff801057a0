"""Index a corpus file into a store: validated first, resumable, with a progress bar.

Resuming is by id: in add mode, ids already in the store are skipped, so a killed
run restarted with the same command continues where it stopped (every committed
batch is durable). In upsert mode every row is (re)written.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from densefit.console import progress, say
from densefit.index.config import IndexConfig
from densefit.index.corpus import Doc, check_corpus, read_corpus
from densefit.index.index import Index


@dataclass
class IndexReport:
    store: str
    rows_in_corpus: int
    written: int
    skipped_existing: int
    deleted: int
    count: int
    seconds: float


def _batches(docs, size: int):
    batch: list[Doc] = []
    for doc in docs:
        batch.append(doc)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def index_corpus(store: str, corpus: str | Path | None, *, model=None, upsert: bool = False,
                 delete: list[str] | None = None, config: IndexConfig | None = None,
                 show_progress: bool = True) -> IndexReport:
    """Add (or upsert) every row of `corpus` to `store`, and/or delete ids; returns what happened."""
    start = time.perf_counter()
    cfg = config or IndexConfig.from_env()
    total = check_corpus(corpus) if corpus else 0
    with Index.open(store, model=model, create=corpus is not None, config=cfg) as idx:
        deleted = idx.delete(delete) if delete else 0
        written = skipped = 0
        if corpus:
            written, skipped = _fill(idx, corpus, total, upsert, cfg.batch_size, show_progress)
        idx.flush()
        count = idx.count()
    report = IndexReport(str(store), total, written, skipped, deleted, count, time.perf_counter() - start)
    say(f"store {store}: wrote {written}, skipped {skipped} already present, deleted {deleted}; "
        f"{count} rows in {report.seconds:.1f} s")
    return report


def _fill(idx: Index, corpus, total: int, upsert: bool, batch_size: int, show: bool) -> tuple[int, int]:
    written = skipped = 0
    with progress("index", total, "rows", show=show) as advance:
        for batch in _batches(read_corpus(corpus), batch_size):
            if not upsert:
                present = idx.existing([d.id for d in batch])
                skipped += len(present)
                batch = [d for d in batch if d.id not in present]
            if batch:
                write = idx.upsert if upsert else idx.add
                written += write([d.id for d in batch], [d.text for d in batch], [d.metadata for d in batch])
            advance(len(batch) + (len(present) if not upsert else 0))
    if skipped:
        say(f"resumed: {skipped} rows were already in the store and were skipped")
    return written, skipped
