"""Precision selection: bf16 on CPU only with AMX/AVX512-BF16; explicit choices are honoured."""

from __future__ import annotations

import numpy as np
import pytest

from densefit.errors import UnknownNameError
from densefit.inference import precision as p
from densefit.inference.encoder import Encoder


@pytest.mark.parametrize("flags,expected", [
    ({"avx512f", "amx_bf16", "amx_tile"}, "bf16"),
    ({"avx512f", "avx512_bf16"}, "bf16"),
    ({"avx512f", "avx512_vnni"}, "fp32"),
    (set(), "fp32"),
])
def test_auto_on_cpu_follows_the_cpu_flags(monkeypatch, flags, expected):
    monkeypatch.setattr(p, "cpu_flags", lambda: frozenset(flags))
    assert p.resolve_precision("auto", "cpu") == expected
    assert expected in p.explain_precision("auto", "cpu")


def test_explicit_precision_is_kept():
    assert p.resolve_precision("bf16", "cpu") == "bf16"
    assert p.resolve_precision("fp32", "cuda") == "fp32"


def test_unknown_precision_lists_choices():
    with pytest.raises(UnknownNameError, match="auto, bf16, fp16, fp32"):
        p.resolve_precision("int4", "cpu")


def test_cpu_flags_reads_proc_cpuinfo():
    p.cpu_flags.cache_clear()
    flags = p.cpu_flags()
    assert isinstance(flags, frozenset)
    assert flags == frozenset() or "fpu" in flags


def test_bf16_encoding_stays_close_to_fp32(tiny_model):
    from densefit.models import load_model

    model = load_model(tiny_model)
    texts = ["file status", "open a socket", "memory map a file"]
    full = Encoder(model, precision="fp32").encode(texts)
    half = Encoder(model, precision="bf16").encode(texts)
    assert full.shape == half.shape == (3, 32)
    assert np.allclose(np.linalg.norm(full, axis=1), 1, atol=1e-5)
    assert float(np.min(np.sum(full * half, axis=1))) > 0.99


@pytest.mark.parametrize("precision,bf16,fp16", [("fp32", False, False), ("bf16", True, False)])
def test_training_precision_drives_the_trainer_arguments_and_is_printed(tmp_path, capsys, precision, bf16, fp16):
    from densefit.config import TrainConfig
    from densefit.train.run import build_arguments

    cfg = TrainConfig(train="x", out=str(tmp_path), precision=precision)
    chosen = p.resolve_precision(cfg.precision, "cpu")
    args = build_arguments(cfg, tmp_path, chosen, in_batch_negatives=True, best_metric=None)
    assert (args.bf16, args.fp16) == (bf16, fp16)
    assert f"precision {chosen} on cpu" in p.explain_precision(cfg.precision, "cpu")


def test_auto_training_precision_on_this_cpu_matches_its_flags():
    assert p.resolve_precision("auto", "cpu") == ("bf16" if p.cpu_has_fast_bf16() else "fp32")
