"""When the base model ships, the built index starts as a copy of the base index instead of a second pass."""

from __future__ import annotations

import json
import random
import shutil

from densefit.build.chunks import CHUNKS
from densefit.build.manifest import INDEX, INDEX_BASE
from densefit.build.pipeline import stage_index
from densefit.index import Index
from tests.conftest import sentence


def test_a_shipped_base_copies_the_base_index_and_embeds_nothing_again(tmp_path, tiny_model):
    rng = random.Random(0)
    rows = [{"_id": f"c{i}", "text": f"chunk {i} {sentence(rng, 12)}", "source": f"f{i % 3}.md"} for i in range(40)]
    (tmp_path / CHUNKS).write_text("".join(json.dumps(r) + "\n" for r in rows))
    shipped = tmp_path / "train" / "model"
    shutil.copytree(tiny_model, shipped)  # what the recipe saves when it ships the base: the same weights
    state = {"stages": {}}
    stage_index(tmp_path, state, rows, INDEX_BASE, tiny_model, fresh=False)
    stage_index(tmp_path, state, rows, INDEX, str(shipped), fresh=False, copy_of=INDEX_BASE)
    info = state["stages"][INDEX]
    assert (info["written"], info["rows"], info["copy_of"]) == (0, len(rows), INDEX_BASE)
    queries = [sentence(rng, 4) for _ in range(5)]
    with Index.open(str(tmp_path / INDEX_BASE)) as base, Index.open(str(tmp_path / INDEX), model=str(shipped)) as built:
        ids = [[[h.id for h in q] for q in idx.search_many(queries, k=5)] for idx in (base, built)]
        assert ids[0] == ids[1]
        assert built.search(queries[0], k=1)[0].metadata["source"].endswith(".md")
    rows.append({"_id": "c40", "text": "a chunk added later", "source": "new.md"})  # an update goes on from the copy
    (tmp_path / CHUNKS).write_text("".join(json.dumps(r) + "\n" for r in rows))
    stage_index(tmp_path, state, rows, INDEX, str(shipped), fresh=False, copy_of=INDEX_BASE)
    assert (state["stages"][INDEX]["written"], state["stages"][INDEX]["rows"]) == (1, len(rows))
