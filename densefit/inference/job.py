"""The building blocks of a batch encode job: its config, the input read as chunks, the part files,
the job record, and `encode_chunk`. The runners (`inference/batch.py`: in this process or in
worker processes; `inference/ray_job.py`: on Ray actors) are built from these and nothing else.

Chunk i becomes `OUT.parts/part-0000i.parquet`, written to a temp name, fsynced and renamed, so a
part exists whole or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from densefit.config import _f
from densefit.errors import ConfigError, DataError
from densefit.inference.encoder import KINDS
from densefit.io import atomic_path

PARTS_SUFFIX, JOB_FILE = ".parts", "job.json"


@dataclass
class EncodeJobConfig:
    model: str = _f("default", "Model: 'default', a run or model folder, an export folder or a hub id.")
    input: str = _f("", "Texts: JSONL, CSV, TSV, Parquet, a datasets folder, or .txt (one text per line).")
    out: str = _f("embeddings.parquet", "Output Parquet file (columns: row, id, embedding).")
    text_field: str = _f("text", "Column holding the text.")
    id_field: str | None = _f("id", "Column holding a row id (the row number is used where it is missing).")
    backend: str = _f("auto", "auto|torch|onnx|onnx-int8|openvino|openvino-int8 (auto: an export only if proven).")
    precision: str = _f("auto", "auto|fp32|bf16|fp16 for the torch backend.")
    batch_size: int = _f(64, "Texts per forward pass (batches are grouped by token length).")
    chunk_size: int = _f(2048, "Rows per part file: the unit of progress kept after a kill.")
    workers: int = _f(1, "Processes encoding chunks in parallel (threads are split between them).")
    ray: bool = _f(False, "Run the chunks on Ray Data actors (ray.init() or RAY_ADDRESS picks the cluster).")
    overwrite: bool = _f(False, "Replace an existing OUT instead of stopping.")
    kind: str | None = _f(None, "query or document: put the model's prompt for that kind first (models with "
                                "prompts, e.g. e5's 'query: '/'passage: '); default: the model's own default.")

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.chunk_size < 1 or self.workers < 1:
            raise ConfigError("batch_size, chunk_size and workers must be >= 1")
        if self.kind not in (None, *KINDS):
            raise ConfigError(f"kind must be query or document, got '{self.kind}'")


@dataclass
class EncodeJobResult:
    out: Path
    rows: int
    parts_done_before: int
    parts_written: int
    seconds: float


# ----------------------------------------------------------------------------- reading

def iter_texts(cfg: EncodeJobConfig) -> Iterator[tuple[int, str, str]]:
    """(row number, id, text) for every input row, streamed."""
    path = Path(cfg.input)
    from densefit.data.readers import read_records, read_text_lines

    if path.suffix.lower() == ".txt":
        for lineno, line in read_text_lines(path):
            yield lineno - 1, str(lineno - 1), line
        return

    for i, record in enumerate(read_records(path)):
        yield i, _row_id(record, cfg, i), _row_text(record, cfg)


def _row_text(record, cfg: EncodeJobConfig) -> str:
    text = record.row.get(cfg.text_field)
    if not isinstance(text, str):
        raise DataError("missing or non-text value", path=record.source, line=record.line, field=cfg.text_field,
                        expected="a string", fix=f"add the column or pass --text-field (columns: {list(record.row)})")
    return text


def _row_id(record, cfg: EncodeJobConfig, i: int) -> str:
    value = record.row.get(cfg.id_field) if cfg.id_field else None
    return str(i) if value is None else str(value)


def iter_chunks(cfg: EncodeJobConfig, wanted: set[int] | None = None) -> Iterator[tuple[int, list]]:
    """(chunk index, rows) in input order; chunks not in `wanted` are skipped without being kept."""
    chunk, index = [], 0
    for row in iter_texts(cfg):
        if wanted is None or index in wanted:
            chunk.append(row)
        if (row[0] + 1) % cfg.chunk_size == 0:
            if chunk:
                yield index, chunk
            chunk, index = [], index + 1
    if chunk:
        yield index, chunk


# ----------------------------------------------------------------------------- parts

def parts_dir(cfg: EncodeJobConfig) -> Path:
    return Path(str(cfg.out) + PARTS_SUFFIX)


def part_path(cfg: EncodeJobConfig, index: int) -> Path:
    return parts_dir(cfg) / f"part-{index:06d}.parquet"


def done_parts(cfg: EncodeJobConfig) -> set[int]:
    folder = parts_dir(cfg)
    return {int(p.stem.split("-")[1]) for p in folder.glob("part-*.parquet")} if folder.is_dir() else set()


def write_part(path: Path, rows: list, embeddings) -> None:
    """One part file, whole or not at all: temp name, fsync, rename."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    dim = embeddings.shape[1]
    table = pa.table({
        "row": pa.array([r[0] for r in rows], pa.int64()),
        "id": pa.array([r[1] for r in rows], pa.string()),
        "embedding": pa.FixedSizeListArray.from_arrays(pa.array(embeddings.reshape(-1), pa.float32()), dim),
    })
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def encode_chunk(encoder, cfg: EncodeJobConfig, index: int, rows: list) -> int:
    embeddings = encoder.encode([r[2] for r in rows], batch_size=cfg.batch_size, kind=cfg.kind)
    write_part(part_path(cfg, index), rows, embeddings)
    return len(rows)


def job_signature(cfg: EncodeJobConfig) -> dict:
    """What must match for a resumed job to reuse earlier parts."""
    stat = Path(cfg.input).stat()
    keys = ("model", "text_field", "id_field", "backend", "precision", "chunk_size", "kind")
    return {"input": str(Path(cfg.input).resolve()), "input_size": stat.st_size, "input_mtime": stat.st_mtime,
            **{k: getattr(cfg, k) for k in keys}}


def check_or_write_job(cfg: EncodeJobConfig) -> None:
    from densefit.io import write_json_atomic

    folder, sig = parts_dir(cfg), job_signature(cfg)
    path = folder / JOB_FILE
    if path.is_file() and done_parts(cfg):  # without a finished part there is nothing to protect
        old = {"kind": None, **json.loads(path.read_text())}  # a job recorded before `kind` existed had none
        if old != sig:
            changed = sorted(k for k in sig if old.get(k) != sig[k])
            raise ConfigError(f"'{folder}' holds parts of a different job (changed: {', '.join(changed)}). "
                              "Fix: run with the original arguments, or delete that folder to start over")
        return
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, sig)


def merge_parts(cfg: EncodeJobConfig) -> int:
    """Concatenate the parts in chunk order into OUT (temp + rename); returns the row count."""
    import pyarrow.parquet as pq

    parts = sorted(done_parts(cfg))
    if not parts:
        raise DataError("no rows to encode", path=cfg.input, expected="at least one text")
    rows, writer = 0, None
    with atomic_path(Path(cfg.out)) as tmp:
        try:
            for index in parts:
                table = pq.read_table(part_path(cfg, index))
                writer = writer or pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
                rows += table.num_rows
        finally:
            if writer is not None:
                writer.close()
    return rows


# ----------------------------------------------------------------------------- running

def open_encoder(cfg: EncodeJobConfig, threads: int | None = None):
    import torch

    from densefit.inference.select import load_encoder

    if threads:
        torch.set_num_threads(threads)
    return load_encoder(cfg.model, backend=cfg.backend, precision=cfg.precision, batch_size=cfg.batch_size)
