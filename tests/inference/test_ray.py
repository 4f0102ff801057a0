"""`densefit encode --ray`: the same chunks and parts on Ray Data actors, on a local Ray instance."""

from __future__ import annotations

import numpy as np
import pytest

from densefit.inference.batch import EncodeJobConfig, run_encode_job
from tests.inference.test_batch import expected, read_out, texts_file


@pytest.mark.slow
def test_ray_job_matches_the_local_encoder(tiny_model, tmp_path):
    ray = pytest.importorskip("ray")
    data = texts_file(tmp_path / "in.jsonl", 40)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        cfg = EncodeJobConfig(model=tiny_model, input=str(data), out=str(tmp_path / "e.parquet"), chunk_size=8,
                              backend="torch", ray=True, workers=2, precision="fp32")  # auto: bf16 on some CPUs
        result = run_encode_job(cfg)
    finally:
        ray.shutdown()
    rows, ids, emb = read_out(tmp_path / "e.parquet")
    assert result.rows == 40 and result.parts_written == 5 and rows == list(range(40))
    assert np.allclose(emb, expected(tiny_model, data), atol=1e-5)
