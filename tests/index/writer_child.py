"""A writer process for the crash and concurrency tests (run as a script, never imported by pytest).

    python writer_child.py STORE SEED START OPS [--flush-every N]

Runs OPS deterministic operations (add a batch of new ids, upsert some, delete some)
against the embedded store with precomputed vectors. Before each operation it
prints `BEGIN n`, after `add`/`upsert`/`delete` returns it prints `ACK n`, both
flushed, so a parent that SIGKILLs it knows which operations were acknowledged.
"""

from __future__ import annotations

import sys

import numpy as np

DIM = 32
BATCH = 40


def vector(doc_id: str, version: int) -> np.ndarray:
    seed = (abs(hash_id(doc_id)) * 1000003 + version) % (2**32)
    v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def hash_id(doc_id: str) -> int:
    h = 1469598103934665603
    for ch in doc_id.encode():
        h = ((h ^ ch) * 1099511628211) % (2**63)
    return h


def plan(seed: int, start: int, n_ops: int, known: list[str]):
    """The operations one child runs: (kind, ids, version). Ids are new from `start` on."""
    rng = np.random.default_rng(seed)
    ops, next_id, known = [], start, list(known)
    for n in range(n_ops):
        kind = "add" if not known or rng.random() < 0.6 else ("upsert" if rng.random() < 0.6 else "delete")
        if kind == "add":
            ids = [f"doc{next_id + i}" for i in range(BATCH)]
            next_id += BATCH
            known += ids
        else:
            picks = rng.choice(len(known), size=min(10, len(known)), replace=False)
            ids = [known[p] for p in sorted(picks)]
            if kind == "upsert" and rng.random() < 0.5:
                ids.append(f"doc{next_id}")  # upsert can also create a row
                known.append(f"doc{next_id}")
                next_id += 1
        ops.append((kind, ids, seed * 1000 + n + 1))
    return ops


def main() -> None:
    from densefit.index import Index

    store, seed, start, n_ops = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    flush_every = int(sys.argv[sys.argv.index("--flush-every") + 1]) if "--flush-every" in sys.argv else 0
    known = sys.stdin.read().split() if "--known" in sys.argv else []
    idx = Index.open(store, create=True)
    for n, (kind, ids, version) in enumerate(plan(seed, start, n_ops, known)):
        print(f"BEGIN {n}", flush=True)
        if kind == "delete":
            idx.delete(ids)
        else:
            vectors = np.vstack([vector(i, 0 if kind == "add" else version) for i in ids])
            getattr(idx, kind)(ids, [f"text of {i}" for i in ids], [{"v": version}] * len(ids), vectors=vectors)
        print(f"ACK {n}", flush=True)
        if flush_every and (n + 1) % flush_every == 0:
            idx.flush()
    idx.close()
    print("DONE", flush=True)


if __name__ == "__main__":
    main()
