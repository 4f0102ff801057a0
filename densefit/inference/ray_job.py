"""The Ray Data path of `densefit encode --ray`: the same chunks and part files, on Ray actors.

Each actor loads the encoder once and, for each chunk index it is handed, reads
that chunk from the input and writes its part file with `encode_chunk`. The
input and output paths must therefore be on storage every Ray node can see (a
shared filesystem); on one machine that holds trivially.
"""

from __future__ import annotations

from densefit.inference.job import EncodeJobConfig, encode_chunk, iter_chunks, open_encoder


class ChunkEncoder:
    """A Ray Data callable class: a batch of chunk indexes in, their row counts out."""

    def __init__(self, cfg: EncodeJobConfig) -> None:
        self.cfg = cfg
        self.encoder = open_encoder(cfg, threads=1)

    def __call__(self, batch: dict) -> dict:
        import numpy as np

        wanted = {int(i) for i in batch["chunk"]}
        counts = {index: encode_chunk(self.encoder, self.cfg, index, rows)
                  for index, rows in iter_chunks(self.cfg, wanted)}
        return {"chunk": np.array(sorted(counts)), "rows": np.array([counts[i] for i in sorted(counts)])}


def run_on_ray(cfg: EncodeJobConfig, pending: list[int]) -> int:
    """Encode the pending chunks on `cfg.workers` Ray actors; returns the rows written."""
    from densefit.errors import require

    ray = require("ray", "densefit encode --ray")

    from densefit.console import say

    if not ray.is_initialized():
        ray.init()  # RAY_ADDRESS joins an existing cluster; without it a local instance starts
    ds = ray.data.from_items([{"chunk": i} for i in pending])
    ds = ds.map_batches(ChunkEncoder, fn_constructor_kwargs={"cfg": cfg}, batch_size=1,
                        concurrency=cfg.workers, num_cpus=1)
    rows = sum(int(r["rows"]) for r in ds.iter_rows())
    say(f"ray: {len(pending)} chunk(s), {rows} rows")
    return rows
