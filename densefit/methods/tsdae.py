"""TSDAE: a denoising auto-encoder on plain sentences (Wang, Reimers and Gurevych, 2021).

The encoder embeds a sentence with most words deleted (ratio 0.6 by default); a decoder that
shares the encoder's weights (tied) must rebuild the original sentence from that one vector,
through cross-attention. Only the encoder is kept. Needs nothing but documents.

Uses sentence-transformers' DenoisingAutoEncoderLoss (works unchanged with transformers 5: the
decoder is the encoder's architecture loaded with AutoModelForCausalLM plus new cross-attention
layers, and its weights are tied to the encoder's). The deletion noise is densefit's own
(whitespace words, seeded), so NLTK is not needed.
"""

from __future__ import annotations

import random

from densefit.config import TrainConfig
from densefit.console import say
from densefit.errors import ConfigError
from densefit.methods.common import (FitResult, Stages, evaluate_before, finish_run, load_base_model,
                                     selection_evaluator)
from densefit.methods.sentences import corpus_path, corpus_sentences

LOSS_NAME = "denoising-auto-encoder"


def delete_words(text: str, ratio: float, rng: random.Random) -> str:
    """Delete each word with probability `ratio`, keeping at least one word."""
    words = text.split()
    if not words:
        return text
    kept = [w for w in words if rng.random() >= ratio]
    return " ".join(kept) if kept else rng.choice(words)


def noisy_columns(sentences: list[str], ratio: float, seed: int) -> dict[str, list[str]]:
    """Training columns for the loss: (damaged sentence, original sentence)."""
    rng = random.Random(seed)
    return {"noisy": [delete_words(s, ratio, rng) for s in sentences], "text": list(sentences)}


def with_pooling(model, mode: str):
    """The same transformer with `mode` pooling (cls/mean); `keep` returns the model unchanged."""
    if mode == "keep":
        return model
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling

    transformer = model[0]
    return SentenceTransformer(modules=[transformer, Pooling(transformer.get_embedding_dimension(),
                                                             pooling_mode=mode)])


def tsdae_loss(model):
    """DenoisingAutoEncoderLoss with a decoder tied to the encoder."""
    import transformers
    from sentence_transformers.sentence_transformer.losses import DenoisingAutoEncoderLoss

    name = model.transformers_model.config._name_or_path
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()  # the decoder's load report lists the new cross-attention
    try:
        loss = DenoisingAutoEncoderLoss(model, tie_encoder_decoder=True)
    except (ValueError, OSError) as exc:
        raise ConfigError(f"TSDAE cannot build a decoder from '{name}': {str(exc).splitlines()[0]}. Fix: use a "
                          "BERT-like model whose architecture has a causal-LM head (BERT, RoBERTa, ...)") from None
    finally:
        transformers.logging.set_verbosity(verbosity)
    say(f"TSDAE decoder: {type(loss.decoder).__name__} from '{name}', weights tied to the encoder "
        "(cross-attention layers are new)")
    return loss


def run(cfg: TrainConfig, callbacks: list | None = None) -> FitResult:
    """Evaluate the base model, train it as a TSDAE encoder on corpus sentences, evaluate again."""
    from datasets import Dataset

    from densefit.train.run import train

    stages = Stages()
    base = load_base_model(cfg)
    target, before = evaluate_before(cfg, base)
    with stages.stage("sentences") as info:
        sentences, summary = corpus_sentences(corpus_path(cfg), limit=cfg.max_sentences, seed=cfg.seed)
        columns = noisy_columns(sentences, cfg.tsdae_noise, cfg.seed)
        info.update(sentences=len(sentences))
    say(f"TSDAE: {len(sentences)} sentences from {summary['documents']} documents, "
        f"deletion ratio {cfg.tsdae_noise}, {cfg.tsdae_pooling} pooling")
    model = with_pooling(base, cfg.tsdae_pooling)
    loss = tsdae_loss(model)
    with stages.stage("train") as info:
        outcome = train(cfg, model, loss, Dataset.from_dict(columns), evaluator=selection_evaluator(cfg, target),
                        callbacks=callbacks)
        info.update(steps=outcome.steps, rows=outcome.train_rows)
    data = {**summary, "noise": "deletion", "deletion_ratio": cfg.tsdae_noise, "pooling": cfg.tsdae_pooling}
    loss_info = {"name": LOSS_NAME, "reason": "TSDAE: reconstruct each sentence from the embedding of a damaged copy",
                 "tie_encoder_decoder": True, "decoder": type(loss.decoder).__name__}
    return finish_run(cfg, model, outcome, stages, target=target, before=before, data=data, loss=loss_info)
