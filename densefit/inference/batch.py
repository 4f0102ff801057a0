"""`densefit encode`: a streaming, resumable batch encode of a text file into Parquet.

The input is read as a stream and cut into chunks of `chunk_size` rows. Chunk i
becomes `OUT.parts/part-0000i.parquet`, written to a temp name, fsynced and
renamed, so a part exists whole or not at all. A killed job re-run with the same
arguments skips the parts that exist, which is why no row is encoded twice and
none is duplicated. When every part is there they are merged, in input order,
into OUT (again temp + rename) and the parts folder is removed.

Chunks are shared round-robin between `workers` processes, or handed to a Ray
Data actor pool with `ray=True`; every path calls the same `encode_chunk`.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from densefit.console import progress, say
from densefit.errors import ConfigError, DataError, JobError
from densefit.inference.job import (  # noqa: F401 (the job's parts, re-exported for callers of the runners)
    EncodeJobConfig, EncodeJobResult, check_or_write_job, done_parts, encode_chunk, iter_chunks, iter_texts,
    merge_parts, open_encoder, parts_dir)


def run_worker(cfg: EncodeJobConfig, worker: int, threads: int | None, pending: set[int]) -> int:
    """Encode this worker's share (chunk % workers == worker) of the pending chunks."""
    mine = {i for i in pending if i % cfg.workers == worker}
    if not mine:
        return 0
    encoder, written = open_encoder(cfg, threads), 0
    for index, rows in iter_chunks(cfg, mine):
        encode_chunk(encoder, cfg, index, rows)
        written += 1
    return written


def pending_chunks(cfg: EncodeJobConfig, done: set[int]) -> list[int]:
    """Indexes of the chunks without a part file (one counting pass over the input)."""
    rows = sum(1 for _ in iter_texts(cfg))
    if rows == 0:
        raise DataError("no rows to encode", path=cfg.input, expected="at least one text")
    total = (rows + cfg.chunk_size - 1) // cfg.chunk_size
    return [i for i in range(total) if i not in done]


def run_encode_job(cfg: EncodeJobConfig) -> EncodeJobResult:
    """Encode `cfg.input` into `cfg.out`, continuing a killed run of the same job."""
    start, out = time.perf_counter(), Path(cfg.out)
    if out.exists() and not parts_dir(cfg).is_dir():
        if not cfg.overwrite:
            raise ConfigError(f"'{out}' already exists. Fix: pass --overwrite, or choose another --out")
        out.unlink()
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():  # merged before a kill removed the parts: the output is complete
        shutil.rmtree(parts_dir(cfg))
        return EncodeJobResult(out, _count_rows(out), 0, 0, time.perf_counter() - start)
    check_or_write_job(cfg)
    try:
        done = done_parts(cfg)
        pending = pending_chunks(cfg, done)
        say(f"encode: {len(done)} part(s) already done, {len(pending)} to go"
            + (f", on {cfg.workers} worker(s)" if cfg.workers > 1 or cfg.ray else ""))
        _dispatch(cfg, pending)
    except BaseException:
        if not done_parts(cfg):  # nothing finished (a model that did not load, bad input): leave nothing behind
            shutil.rmtree(parts_dir(cfg), ignore_errors=True)
        raise
    rows = merge_parts(cfg)
    shutil.rmtree(parts_dir(cfg))
    say(f"encode: wrote {rows} rows to {out}")
    return EncodeJobResult(out, rows, len(done), len(pending), time.perf_counter() - start)


def _count_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def _dispatch(cfg: EncodeJobConfig, pending: list[int]) -> None:
    if not pending:
        return
    if cfg.ray:
        from densefit.inference.ray_job import run_on_ray

        run_on_ray(cfg, pending)
    elif cfg.workers == 1:
        _run_local(cfg, set(pending))
    else:
        _run_processes(cfg, set(pending))


def _run_local(cfg: EncodeJobConfig, pending: set[int]) -> None:
    encoder = open_encoder(cfg)
    with progress("encode", len(pending), "parts") as advance:
        for index, rows in iter_chunks(cfg, pending):
            encode_chunk(encoder, cfg, index, rows)
            advance()


def _run_processes(cfg: EncodeJobConfig, pending: set[int]) -> None:
    """`workers` spawned processes; the bar follows the part files as they appear."""
    import multiprocessing as mp

    threads = max(1, (os.cpu_count() or 1) // cfg.workers)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=run_worker, args=(cfg, w, threads, pending)) for w in range(cfg.workers)]
    for p in procs:
        p.start()
    shown = len(done_parts(cfg))
    with progress("encode", len(pending), "parts") as advance:
        while any(p.is_alive() for p in procs):
            time.sleep(0.5)
            now = len(done_parts(cfg))
            advance(now - shown)
            shown = now
    failed = [p.exitcode for p in procs if p.exitcode]
    if failed:
        raise JobError(f"{len(failed)} encode worker(s) failed (exit codes {failed}); "
                       "the finished parts are kept. Fix: see the error above, then run the same command again")
