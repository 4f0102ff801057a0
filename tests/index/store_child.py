"""One step of the store contract, run as its own process (never imported by pytest).

    python store_child.py STEP URI

`write` creates the store and adds 40 rows; `change` reads, filters, upserts and deletes;
`check` reads what `change` left. Each prints one JSON line of what it observed; the test
asserts on it, so every step starts in a process that never saw the store before.
"""

from __future__ import annotations

import json
import sys

import numpy as np

from densefit.index import Index

N, DIM = 40, 16


def vectors() -> np.ndarray:
    x = np.random.default_rng(7).standard_normal((N, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def ids(hits) -> list[str]:
    return [h.id for h in hits]


def write(uri: str) -> dict:
    with Index.open(uri, create=True) as idx:
        added = idx.add([f"d{i}" for i in range(N)], [f"text {i}" for i in range(N)],
                        [{"section": str(i % 4)} for i in range(N)], vectors=vectors())
        return {"added": added}


def change(uri: str) -> dict:
    x = vectors()
    with Index.open(uri) as idx:
        seen = {"count": idx.count(), "dimension": idx.dimension,
                "top": [ids(h)[0] for h in idx.search_vectors(x[[3, 9]], k=3)],
                "text": idx.search_vectors(x[3:4], k=1)[0][0].text,
                "filtered": ids(idx.search_vectors(x[3:4], k=5, filter={"section": "1"})[0]),
                "existing": sorted(idx.existing(["d1", "d39", "nope"]))}
        seen["upserted"] = idx.upsert(["d5", "new"], ["replaced", "brand new"], [{"section": "9"}, {}],
                                      vectors=x[[5, 6]] * -1)
        seen["deleted"] = idx.delete(["d0", "d1", "nope"])
        return seen


def check(uri: str) -> dict:
    x = vectors()
    with Index.open(uri) as idx:
        return {"count": idx.count(), "existing": sorted(idx.existing(["d0", "d1", "d2", "d5", "new"])),
                "top_of_d0": ids(idx.search_vectors(x[0:1], k=1)[0]),
                "replaced": [(h.id, h.text, h.metadata) for h in idx.search_vectors(-x[5:6], k=1,
                                                                                      filter={"section": "9"})[0]]}


if __name__ == "__main__":
    step, uri = sys.argv[1], sys.argv[2]
    print(json.dumps({"write": write, "change": change, "check": check}[step](uri)))
