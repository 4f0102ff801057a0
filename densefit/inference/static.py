"""The static tier: a model2vec distillation of a (tuned) transformer, for CPUs where even a small
transformer is too slow.

`densefit export --format static` runs the transformer once over every token of its vocabulary
(model2vec's `distill_from_model`: mean pooling as the model pools, PCA, SIF weighting) and saves a
table of token vectors as safetensors. Embedding a text is then a lookup and a weighted mean: no
matrix multiply per layer, so it runs tens of times faster, at a loss of quality that
bench/speed.py measures (it is a different model, so `backend="auto"` never picks it: a user asks
for it by name, `--backend static`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from densefit.errors import require
from densefit.inference.runtimes import ExportedEncoder

STATIC_DIMS = 256          # model2vec's default PCA size; its authors found PCA helps even without reducing
POOLING = {"mean": "mean", "cls": "first", "lasttoken": "last"}   # sentence-transformers -> model2vec


def pooling_of(model) -> str:
    """model2vec's pooling for a SentenceTransformer's Pooling module (mean when it has none we know)."""
    for module in model:
        mode = getattr(module, "get_pooling_mode_str", None)
        if mode is not None:
            return POOLING.get(mode(), "mean")
    return "mean"


def build_static(stage: Path, model, calibration_texts) -> None:
    """Distil `model` (a SentenceTransformer) into a model2vec StaticModel saved in `stage`."""
    require("model2vec", "densefit export --format static")
    from model2vec.distill import distill_from_model

    transformer = model[0].auto_model
    name, quiet = transformer.name_or_path, os.environ.get("TQDM_DISABLE")
    if not os.path.exists(name):  # a name that is no folder makes model2vec ask the hub for a model card
        transformer.name_or_path = str(stage)
    os.environ["TQDM_DISABLE"] = "1"  # its per-batch token bar would flood the log; densefit says what it does
    try:
        dims = min(STATIC_DIMS, int(model.get_embedding_dimension()))
        static = distill_from_model(transformer, model.tokenizer, device="cpu", pca_dims=dims,
                                    pooling=pooling_of(model))
    finally:
        transformer.name_or_path = name
        if quiet is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = quiet
    static.save_pretrained(str(stage))


class StaticEncoder(ExportedEncoder):
    """A model2vec StaticModel behind the encoder contract (prompts, L2-normalised float32 rows)."""

    backend = "static"
    same_space = False   # PCA rotates the space: its vectors never compare with the transformer's

    def _load(self, threads: int) -> None:
        require("model2vec", f"the static export at '{self.folder}'")
        from model2vec import StaticModel

        self.static = StaticModel.from_pretrained(str(self.folder), normalize=True, force_download=False)

    def encode(self, texts: list[str], *, show_progress: bool = False, batch_size: int | None = None,
               kind: str | None = None) -> np.ndarray:
        prompt = self.prompts.get(kind, "") if kind else ""
        texts = [prompt + t for t in texts] if prompt else list(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        emb = self.static.encode(texts, show_progress_bar=show_progress, max_length=self.max_length,
                                 batch_size=max(batch_size or self.batch_size, 1024))
        return np.ascontiguousarray(emb, dtype=np.float32)
