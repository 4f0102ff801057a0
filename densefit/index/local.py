"""The embedded default store: SQLite for the durable rows, faiss for search.

Layout of a store folder:
    densefit-store.json   marker: format, version and the store's uuid (written atomically)
    rows.sqlite           rows(rowid, id UNIQUE, text, metadata JSON, vector BLOB) + meta(key, value)
                          + lexical: an FTS5 index over rows.text, kept by triggers in the same transaction
    ann/gen-<rowid>/      an optional ANN cache (IVF or HNSW) (index.faiss + labels.npy), derived, rebuildable

Why it is crash-safe: every write is one SQLite transaction in WAL mode with
synchronous=FULL, so a batch is either committed (fsynced to the write-ahead log
before `write` returns) or absent after a crash; `id` is UNIQUE, so no duplicates;
the rowid is AUTOINCREMENT, so a replaced row never reuses a number. The lexical (BM25)
index is updated by triggers inside the same transaction, so it holds exactly the committed rows. The search
structure is rebuilt from the committed vectors: an ANN cache is only used when it
belongs to this store (uuid) and is then brought up to date from the rows after it,
with deleted rows masked out. Concurrent writers serialise on SQLite's write lock
and both land; a writer that waits longer than `busy_timeout` gets StoreBusyError.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import uuid
from pathlib import Path

import numpy as np

from densefit.console import say
from densefit.evaluation.lexical import TOKENIZE, fts_query
from densefit.index.ann import VectorTable
from densefit.index.base import Hit, Rows, Store
from densefit.index.config import IndexConfig
from densefit.index.errors import DimensionError, DuplicateIdError, NotAStoreError, StoreBusyError, StoreError
from densefit.index.filters import filter_sql
from densefit.io import write_json_atomic

MARKER, DB, ANN = "densefit-store.json", "rows.sqlite", "ann"
FORMAT = "densefit-store"
VERSION = 1
BUSY_TIMEOUT_S = 30.0
SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE rows(rowid INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
                  text TEXT NOT NULL, metadata TEXT NOT NULL, vector BLOB NOT NULL);
"""
# BM25 over the texts (SQLite FTS5, in the same file): an external-content index that triggers keep in step.
# A store made before it existed gets it, rebuilt from the rows, on its first write or lexical search.
LEXICAL_STATEMENTS = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS lexical USING fts5(text, content='rows', content_rowid='rowid', "
    f"tokenize='{TOKENIZE}')",
    "CREATE TRIGGER IF NOT EXISTS rows_lexical_insert AFTER INSERT ON rows BEGIN "
    "INSERT INTO lexical(rowid, text) VALUES (new.rowid, new.text); END",
    "CREATE TRIGGER IF NOT EXISTS rows_lexical_delete AFTER DELETE ON rows BEGIN "
    "INSERT INTO lexical(lexical, rowid, text) VALUES ('delete', old.rowid, old.text); END",
)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_marker(folder: Path, store_id: str) -> None:
    write_json_atomic(folder / MARKER, {"format": FORMAT, "version": VERSION, "uuid": store_id}, indent=None)


def _read_marker(folder: Path) -> dict:
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        marker = {}
    if marker.get("format") != FORMAT or not (folder / DB).is_file():
        raise NotAStoreError(f"'{folder}' is not a densefit store (no valid {MARKER} and {DB}). "
                             "Fix: pass a new or empty folder to create a store, or the folder of an existing one")
    if marker.get("version", 0) > VERSION:
        raise StoreError(f"'{folder}' was written by a newer densefit (store version {marker['version']}). "
                         "Fix: upgrade densefit")
    return marker


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def create_store(folder: Path) -> None:
    """Build a store in a staging folder, then rename it into place (an empty folder may be replaced)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    stage = folder.parent / f".{folder.name}.creating-{uuid.uuid4().hex[:8]}"
    stage.mkdir()
    try:
        conn = _connect(stage / DB)
        conn.executescript(SCHEMA + "".join(f"{stmt};\n" for stmt in LEXICAL_STATEMENTS))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        _write_marker(stage, uuid.uuid4().hex)
        try:
            os.replace(stage, folder)
        except OSError:
            if not (folder / MARKER).is_file():
                raise
            shutil.rmtree(stage, ignore_errors=True)  # another process created it first: use theirs
            return
        _fsync_dir(folder.parent)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def copy_store(source: Path, folder: Path) -> None:
    """Copy the store at `source` to the new `folder` (staged, then renamed): rows and their lexical index,
    through SQLite's backup (consistent while others write), with a new uuid and no ANN cache (rebuilt on
    first search), so the copy is a store of its own."""
    _read_marker(source)
    if folder.exists() and not _is_empty_dir(folder):
        raise StoreError(f"'{folder}' already exists. Fix: remove it, or copy into a new folder")
    folder.parent.mkdir(parents=True, exist_ok=True)
    stage = folder.parent / f".{folder.name}.creating-{uuid.uuid4().hex[:8]}"
    stage.mkdir()
    try:
        src = sqlite3.connect(f"file:{source / DB}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
        dst = sqlite3.connect(stage / DB)
        with src, dst:
            src.backup(dst)
        src.close()
        dst.execute("PRAGMA journal_mode=WAL")
        dst.close()
        _write_marker(stage, uuid.uuid4().hex)
        os.replace(stage, folder)
        _fsync_dir(folder.parent)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


class LocalStore(Store):
    """Rows in SQLite, vectors searched with faiss (exact when small, HNSW when large)."""

    def __init__(self, path: str | os.PathLike, *, create: bool = False, config: IndexConfig | None = None) -> None:
        self.path = Path(path).expanduser()
        self.uri = str(self.path)
        self.cfg = config or IndexConfig.from_env()
        if not self.path.exists() or _is_empty_dir(self.path):
            if not create:
                raise StoreError(f"no densefit store at '{self.path}'. Fix: build one with densefit index "
                                 "--store PATH, or pass create=True")
            create_store(self.path)
        elif self.path.is_file():
            raise NotAStoreError(f"'{self.path}' is a file, not a densefit store folder. Fix: pass a folder path "
                                 "(a .db file path means Milvus Lite)")
        self.store_id = _read_marker(self.path)["uuid"]
        self._remove_stale_stages()
        self.conn = _connect(self.path / DB)
        self.lock = threading.RLock()
        self.table: VectorTable | None = None
        self.covered = 0           # highest rowid loaded into `table`
        self.data_version = None   # SQLite's counter of commits by other connections
        self.saved_size = 0        # table size when the ANN cache was last written
        self._own_changes = False  # this connection committed since the last sync
        self._wrote = False        # this connection committed at all (close() then saves the ANN cache)
        self._pending_kill: list[int] = []  # rowids this connection deleted since the last sync

    # -- metadata -------------------------------------------------------------------
    def info(self) -> dict:
        with self.lock:
            rows = self.conn.execute("SELECT key, value FROM meta").fetchall()
        return {k: json.loads(v) for k, v in rows}

    def set_info(self, info: dict) -> None:
        with self.lock, self._transaction():
            self._set_info(info)

    def _set_info(self, info: dict) -> None:
        self.conn.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                              [(k, json.dumps(v)) for k, v in info.items()])

    def _transaction(self):
        return _Transaction(self.conn)

    # -- writes ---------------------------------------------------------------------
    def write(self, rows: Rows, *, replace: bool) -> int:
        if len(rows) == 0:
            return 0
        blobs = [np.ascontiguousarray(v, dtype=np.float32).tobytes() for v in rows.vectors]
        records = [(i, t, json.dumps(m, ensure_ascii=False, default=str), b)
                   for i, t, m, b in zip(rows.ids, rows.texts, rows.metadata, blobs)]
        with self.lock:
            with self._transaction():
                self._ensure_lexical()
                self._check_dimension(rows.vectors.shape[1])
                killed = self._delete_ids(rows.ids) if replace else []
                if not replace:
                    self._refuse_existing(rows.ids)
                self.conn.executemany("INSERT INTO rows(id, text, metadata, vector) VALUES (?, ?, ?, ?)", records)
            self._after_commit(killed)
        return len(rows)

    def _has_lexical(self) -> bool:
        return self.conn.execute("SELECT 1 FROM sqlite_master WHERE name='lexical'").fetchone() is not None

    def _ensure_lexical(self) -> None:
        """Inside an open transaction: add the lexical index to a store made before it, from its rows."""
        if not self._has_lexical():
            for stmt in LEXICAL_STATEMENTS:  # execute(), not executescript(): that would commit mid-transaction
                self.conn.execute(stmt)
            self.conn.execute("INSERT INTO lexical(lexical) VALUES ('rebuild')")

    def _after_commit(self, killed: list[int]) -> None:
        self._own_changes = self._wrote = True
        self._pending_kill.extend(killed)

    def _check_dimension(self, dim: int) -> None:
        row = self.conn.execute("SELECT value FROM meta WHERE key='dimension'").fetchone()
        if row is None:
            self._set_info({"dimension": dim})
        elif json.loads(row[0]) != dim:
            raise DimensionError(f"vectors have {dim} dimensions but the store at '{self.path}' holds "
                                 f"{json.loads(row[0])}; nothing was written. Fix: use the model that built "
                                 "the store, or a new --store")

    def _refuse_existing(self, ids: list[str]) -> None:
        found = self._existing(ids)
        if found:
            raise DuplicateIdError(sorted(found), "in the store")

    def _delete_ids(self, ids: list[str]) -> list[int]:
        """Delete rows by id inside the open transaction; returns their rowids."""
        gone: list[int] = []
        for chunk in _chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            gone += [r[0] for r in self.conn.execute(f"SELECT rowid FROM rows WHERE id IN ({marks})", chunk)]
            self.conn.execute(f"DELETE FROM rows WHERE id IN ({marks})", chunk)
        return gone

    def delete(self, ids: list[str]) -> int:
        if not ids:
            return 0
        with self.lock:
            with self._transaction():
                killed = self._delete_ids(list(dict.fromkeys(ids)))
            self._after_commit(killed)
        return len(killed)

    # -- reads ----------------------------------------------------------------------
    def count(self) -> int:
        with self.lock:
            return self.conn.execute("SELECT count(*) FROM rows").fetchone()[0]

    def existing(self, ids: list[str]) -> set[str]:
        with self.lock:
            return self._existing(ids)

    def metadata_fields(self) -> set[str]:
        with self.lock:
            return {r[0] for r in self.conn.execute("SELECT DISTINCT j.key FROM rows, json_each(rows.metadata) AS j")}

    def _existing(self, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(list(ids), 500):
            marks = ",".join("?" * len(chunk))
            found.update(r[0] for r in self.conn.execute(f"SELECT id FROM rows WHERE id IN ({marks})", chunk))
        return found

    def scan(self, batch: int = 4096):
        """Yield (ids, vectors) of every stored row in rowid order (for checks and exact evaluation)."""
        last = 0
        while True:
            with self.lock:
                rows = self.conn.execute("SELECT rowid, id, vector FROM rows WHERE rowid > ? ORDER BY rowid LIMIT ?",
                                         (last, batch)).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield [r[1] for r in rows], np.vstack([np.frombuffer(r[2], dtype=np.float32) for r in rows])

    def search(self, vectors: np.ndarray, k: int, filter: dict | None, exact: bool = False) -> list[list[Hit]]:
        with self.lock:
            table = self._synced_table()
            if table is None:
                return [[] for _ in range(len(vectors))]
            allowed = self._filter_mask(table, filter) if filter else None
            scores, rowids = table.search(vectors, k, allowed, exact=exact)
            return self._hits(scores, rowids)

    def search_lexical(self, queries: list[str], k: int, filter: dict | None) -> list[list[Hit]]:
        """BM25 (FTS5) top-k per query text, best first; the score is -bm25 (higher is better)."""
        with self.lock:
            if not self._has_lexical():
                with self._transaction():
                    self._ensure_lexical()
            where, params = filter_sql(filter) if filter else ("1", [])
            sql = (f"SELECT rows.id, rows.text, rows.metadata, bm25(lexical) AS s FROM lexical JOIN rows ON "
                   f"rows.rowid = lexical.rowid WHERE lexical MATCH ? AND ({where}) ORDER BY s, rows.id LIMIT ?")
            out = []
            for text in queries:
                query = fts_query(text)
                found = self.conn.execute(sql, [query, *params, k]).fetchall() if query else []
                out.append([Hit(i, -float(score), t, json.loads(m)) for i, t, m, score in found])
            return out

    def _filter_mask(self, table: VectorTable, filter: dict) -> np.ndarray:
        where, params = filter_sql(filter)
        ids = np.fromiter((r[0] for r in self.conn.execute(f"SELECT rowid FROM rows WHERE {where}", params)),
                          dtype=np.int64)
        mask = np.zeros(table.size, dtype=bool)
        mask[table.positions(np.sort(ids))] = True
        return mask

    def _hits(self, scores: np.ndarray, rowids: np.ndarray) -> list[list[Hit]]:
        wanted = sorted({int(r) for r in rowids.ravel() if r >= 0})
        rows = {}
        for chunk in _chunks(wanted, 500):
            marks = ",".join("?" * len(chunk))
            for rowid, id_, text, meta in self.conn.execute(
                    f"SELECT rowid, id, text, metadata FROM rows WHERE rowid IN ({marks})", chunk):
                rows[rowid] = (id_, text, meta)
        out = []
        for srow, rrow in zip(scores, rowids):
            out.append([Hit(rows[r][0], float(s), rows[r][1], json.loads(rows[r][2]))
                        for s, r in zip(srow, rrow) if r >= 0 and r in rows])
        return out

    # -- the in-memory search table ---------------------------------------------------
    def _synced_table(self) -> VectorTable | None:
        version = self.conn.execute("PRAGMA data_version").fetchone()[0]
        if self.table is None:
            dim = self.info().get("dimension")
            if dim is None:
                return None
            self.table = self._load_cache(dim) or VectorTable(dim, self.cfg)
            self.covered = int(self.table.labels[-1]) if self.table.size else 0
            self.saved_size = self.table.size
            self.data_version = None
        if version != self.data_version:  # another connection committed (or first sync): full refresh
            self._load_tail()
            self.table.set_alive(self._all_rowids())
        elif self._own_changes:
            self._load_tail()
            self.table.kill(np.array(self._pending_kill, dtype=np.int64))
        self.data_version, self._own_changes, self._pending_kill = version, False, []
        return self.table

    def _all_rowids(self) -> np.ndarray:
        return np.fromiter((r[0] for r in self.conn.execute("SELECT rowid FROM rows")), dtype=np.int64)

    def _load_tail(self) -> None:
        """Add the rows committed after `covered` to the table, in rowid order."""
        while True:
            rows = self.conn.execute("SELECT rowid, vector FROM rows WHERE rowid > ? ORDER BY rowid LIMIT 8192",
                                     (self.covered,)).fetchall()
            if not rows:
                return
            rowids = np.array([r[0] for r in rows], dtype=np.int64)
            self.table.append(rowids, np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows]))
            self.covered = int(rowids[-1])

    # -- the HNSW cache ---------------------------------------------------------------
    def _cache_dirs(self) -> list[Path]:
        root = self.path / ANN
        if not root.is_dir():
            return []
        gens = [p for p in root.iterdir() if p.is_dir() and p.name.startswith("gen-")]
        return sorted(gens, key=lambda p: int(p.name.split("-")[1]))

    def _load_cache(self, dim: int) -> VectorTable | None:
        import faiss

        dirs = self._cache_dirs()
        if not dirs:
            return None
        newest = dirs[-1]
        try:
            meta = json.loads((newest / "cache.json").read_text())
            if meta.get("uuid") != self.store_id or meta.get("dimension") != dim:
                return None
            ann = faiss.read_index(str(newest / "index.faiss"))
            labels = np.load(newest / "labels.npy", allow_pickle=False)
        except Exception as exc:  # a damaged cache is only a slower open
            say(f"[yellow]note: ignoring the ANN cache {newest.name} ({exc}); rebuilding from the rows[/yellow]")
            return None
        if ann.ntotal != len(labels) or meta.get("ann") != self.cfg.ann:
            return None
        table = VectorTable(dim, self.cfg)
        if self.cfg.ann == "ivf":
            ann.nprobe = self.cfg.nprobe
        else:
            ann.hnsw.efSearch = self.cfg.ef_search
        table.ann, table.labels, table.alive = ann, labels, np.ones(len(labels), dtype=bool)
        table.trained_size = int(meta.get("trained", len(labels)))
        return table

    def flush(self) -> None:
        """Write the ANN index (when there is one and it grew) so the next open skips the rebuild."""
        import faiss

        with self.lock:
            if self.table is None and not self._wrote:
                return  # nothing built or written here: nothing to save
            table = self._synced_table()
            if table is None or table.ann is None or table.size == self.saved_size:
                return
            try:
                self._write_cache(faiss, table)
            except (OSError, RuntimeError) as exc:  # faiss raises RuntimeError; the rows are the truth
                say(f"[yellow]note: could not save the ANN cache ({exc}); the rows are safe and the search "
                    "structure is rebuilt on the next open[/yellow]")
                return
            self.saved_size = table.size

    def _write_cache(self, faiss, table: VectorTable) -> None:
        root = self.path / ANN
        root.mkdir(exist_ok=True)
        stage = root / f".gen-{self.covered}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        stage.mkdir()
        try:
            faiss.write_index(table.ann, str(stage / "index.faiss"))
            np.save(stage / "labels.npy", table.labels)
            (stage / "cache.json").write_text(json.dumps({"uuid": self.store_id, "dimension": table.dim,
                                                          "covered": self.covered, "rows": table.size,
                                                          "ann": table.mode, "trained": table.trained_size}))
            final = root / f"gen-{self.covered}"
            if final.exists():
                shutil.rmtree(final)
            os.replace(stage, final)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        for old in self._cache_dirs()[:-1]:
            shutil.rmtree(old, ignore_errors=True)

    def _remove_stale_stages(self) -> None:
        """Staging folders (`ann/.gen-<rowid>.<pid>.<id>`) left by a process that died while saving the cache."""
        root = self.path / ANN
        for stage in root.glob(".gen-*") if root.is_dir() else []:
            parts = stage.name.split(".")
            pid = int(parts[2]) if len(parts) == 4 and parts[2].isdigit() else None
            if pid is None or not _alive(pid):
                shutil.rmtree(stage, ignore_errors=True)

    def describe(self) -> dict:
        table = self.table
        out = {"backend": "local", "engine": "faiss", "ann": self.cfg.ann, "mode": table.mode if table else "exact",
               "exact_below": self.cfg.exact_below}
        if self.cfg.ann == "ivf":
            out.update(nprobe=self.cfg.nprobe, nlist=getattr(table.ann, "nlist", None) if table else None)
        else:
            out.update(hnsw_m=self.cfg.hnsw_m, ef_construction=self.cfg.ef_construction, ef_search=self.cfg.ef_search)
        return out

    def close(self) -> None:
        if self.conn is None:
            return
        try:
            self.flush()
        except Exception as exc:  # noqa: BLE001 - a derived cache must never stop a close
            say(f"[yellow]note: could not save the ANN cache ({exc}); it is rebuilt on the next open[/yellow]")
        self.conn.close()
        self.conn = None


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error; a lock timeout is a StoreBusyError."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self):
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreBusyError(f"another writer held the store for over {BUSY_TIMEOUT_S:.0f} s; "
                                     "nothing was written. Fix: retry when the other writer is done") from None
            raise
        return self.conn

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")
        return False


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]
