"""A tiny trained run shared by the report tests (module-independent, built once per session)."""

from __future__ import annotations

import random

import pytest

from tests.conftest import make_ir_set, sentence, write_jsonl


@pytest.fixture(scope="session")
def report_data(tmp_path_factory):
    """(pairs file, in-domain IR set, general-domain IR set) on tiny vocabularies."""
    root = tmp_path_factory.mktemp("report-data")
    rng = random.Random(1)
    pairs = write_jsonl(root / "pairs.jsonl", [{"anchor": f"q{i} " + sentence(rng, 4), "positive": f"d{i} " +
                                                sentence(rng)} for i in range(96)])
    return pairs, make_ir_set(root / "ir", n_docs=60, n_queries=60), make_ir_set(root / "general", n_docs=50,
                                                                                   n_queries=40, seed=3)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, tiny_model, report_data):
    """A supervised run with the report hook, a forgetting check and --merge auto."""
    import densefit

    pairs, ir, general = report_data
    out = tmp_path_factory.mktemp("report-run") / "run"
    result = densefit.fit(model=tiny_model, train_data=pairs, eval_data=ir, out=out, epochs=1, batch_size=16,
                          learning_rate=5e-4, method="supervised", forgetting=str(general), merge="auto",
                          logging_steps=1, eval_steps=3)
    return result
