"""Which model built a store: its name, its dimension and a fingerprint of what it computes.

The fingerprint is the embedding of a few fixed probe texts. Two loads of the same
model give the same probes whatever the path or precision (cosine > 0.98); a
different model, even of the same width, does not. So a store refuses queries from
a model other than the one that indexed it, with a clear error.
"""

from __future__ import annotations

import numpy as np

from densefit.index.errors import ModelMismatchError
from densefit.inference.encoder import TextEncoder

PROBES = ["densefit model fingerprint", "how do I list the files in a directory?",
          "The quick brown fox jumps over the lazy dog."]
MIN_COSINE = 0.98


def model_label(model, encoder: TextEncoder) -> str:
    """The name recorded in the store: the string the user gave, else the model's own path/name."""
    if isinstance(model, str):
        return model
    st = encoder.model
    return str(getattr(st, "name_or_path", None) or getattr(getattr(st, "model_card_data", None),
                                                             "base_model", None) or "encoder")


def fingerprint(encoder: TextEncoder) -> list[list[float]]:
    return [[round(float(x), 6) for x in row] for row in encoder.encode(PROBES)]


def model_info(model, encoder: TextEncoder) -> dict:
    return {"model": model_label(model, encoder), "dimension": encoder.dimension,
            "fingerprint": fingerprint(encoder), "prompts": encoder.prompts}


def check_same_model(recorded: dict, encoder: TextEncoder, given_name: str, where: str) -> None:
    """Raise ModelMismatchError when `encoder` is not the model recorded in the store."""
    name = recorded.get("model", "?")
    dim = recorded.get("dimension")
    if dim is not None and dim != encoder.dimension:
        raise ModelMismatchError(
            f"the store at '{where}' was built with model '{name}' ({dim} dimensions), but '{given_name}' "
            f"gives {encoder.dimension}. Fix: search with --model {name} (or leave --model out to use it)")
    check_same_prompts(recorded, encoder, name, where)
    probes = recorded.get("fingerprint")
    if not probes:
        return
    ref, got = np.asarray(probes, dtype=np.float32), np.asarray(fingerprint(encoder), dtype=np.float32)
    cos = np.sum(ref * got, axis=1) / (np.linalg.norm(ref, axis=1) * np.linalg.norm(got, axis=1) + 1e-12)
    if ref.shape != got.shape or float(cos.min()) < MIN_COSINE:
        raise ModelMismatchError(
            f"the store at '{where}' was built with model '{name}', and '{given_name}' is a different model "
            f"(its embeddings of fixed probe texts differ: cosine {float(cos.min()):.3f}). Fix: search with "
            f"--model {name} (or leave --model out to use it), or re-index with the new model into a new --store")


def check_same_prompts(recorded: dict, encoder: TextEncoder, name: str, where: str) -> None:
    """Documents embedded with one prompt and queries with another do not match: refuse, naming both."""
    if "prompts" not in recorded:  # a store written before prompts were recorded
        return
    now = encoder.prompts
    if recorded["prompts"] != now:
        raise ModelMismatchError(
            f"the store at '{where}' was built with prompts {recorded['prompts'] or 'none'}, but the model now has "
            f"{now or 'none'}. Fix: search with the model folder that built it ('{name}'), or re-index into a new "
            "--store with the new prompts")
