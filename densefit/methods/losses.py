"""Loss registry: name -> a sentence-transformers loss and the columns it trains on.

Adding a loss is one `LossSpec` entry. Each spec says which data kinds it
accepts (`retrieval`, `scored`, `nli`) and how to shape those columns into the
ones the loss reads; an unknown or incompatible name fails with the valid ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from densefit.errors import ConfigError, UnknownNameError

Columns = dict[str, list]
DEFAULT_LOSS_BY_KIND = {"retrieval": "mnr", "scored": "cosent", "nli": "softmax"}
NLI_LABELS = 3


@dataclass(frozen=True)
class LossSpec:
    name: str
    help: str
    kinds: tuple[str, ...]
    build: Callable[[Any], Any]
    in_batch_negatives: bool = False  # duplicates in a batch become false negatives: sample without them

    def shape(self, kind: str, columns: Columns) -> Columns:
        if kind not in self.kinds:
            valid = sorted(n for n, s in LOSSES.items() if kind in s.kinds)
            raise ConfigError(
                f"loss '{self.name}' cannot train on {kind} data; losses for {kind} data: {', '.join(valid)}"
            )
        return SHAPERS[(self.name if self.name in _PAIR_LABEL_LOSSES else "*", kind)](columns)


def _losses():
    from sentence_transformers.sentence_transformer import losses

    return losses


def _retrieval_columns(c: Columns) -> Columns:
    return {k: c[k] for k in ("anchor", "positive", "negative") if k in c}


def _need_negatives(c: Columns) -> Columns:
    if "negative" not in c:
        raise ConfigError("this loss needs (anchor, positive, negative) triplets, but the data has no negatives. "
                          "Fix: use --loss mnr, or give triplets / NeMo neg_doc / labelled documents")
    return _retrieval_columns(c)


def _binary_from_retrieval(c: Columns) -> Columns:
    neg = _need_negatives(c)["negative"]
    n = len(c["anchor"])
    return {"sentence1": c["anchor"] * 2, "sentence2": c["positive"] + neg, "label": [1] * n + [0] * n}


def _binary_from_scored(c: Columns) -> Columns:
    return {"sentence1": c["sentence1"], "sentence2": c["sentence2"], "label": [int(s >= 0.5) for s in c["score"]]}


def _binary_from_nli(c: Columns) -> Columns:
    keep = [i for i, lab in enumerate(c["label"]) if lab != 1]  # neutral pairs carry no binary signal
    return {"sentence1": [c["premise"][i] for i in keep], "sentence2": [c["hypothesis"][i] for i in keep],
            "label": [int(c["label"][i] == 0) for i in keep]}


def _identity(c: Columns) -> Columns:
    return dict(c)


_PAIR_LABEL_LOSSES = ("contrastive", "online-contrastive", "triplet")
SHAPERS: dict[tuple[str, str], Callable[[Columns], Columns]] = {
    ("*", "retrieval"): _retrieval_columns,
    ("*", "scored"): _identity,
    ("*", "nli"): _identity,
    ("triplet", "retrieval"): _need_negatives,
    **{(name, "retrieval"): _binary_from_retrieval for name in ("contrastive", "online-contrastive")},
    **{(name, "scored"): _binary_from_scored for name in ("contrastive", "online-contrastive")},
    **{(name, "nli"): _binary_from_nli for name in ("contrastive", "online-contrastive")},
}


def _mnr(model, directions: tuple[str, ...], partition_mode: str):
    return _losses().MultipleNegativesRankingLoss(model, directions=directions, partition_mode=partition_mode)


def _softmax(model):
    return _losses().SoftmaxLoss(model, model.get_embedding_dimension(), num_labels=NLI_LABELS)


LOSSES: dict[str, LossSpec] = {
    spec.name: spec
    for spec in (
        LossSpec("mnr", "MultipleNegativesRanking: in-batch negatives (+ hard negatives when given)",
                 ("retrieval",), lambda m: _losses().MultipleNegativesRankingLoss(m), in_batch_negatives=True),
        LossSpec("mnr-symmetric", "MNR both ways: each query picks its document and each document its query",
                 ("retrieval",), lambda m: _mnr(m, ("query_to_doc", "doc_to_query"), "per_direction"),
                 in_batch_negatives=True),
        LossSpec("mnr-gte", "MNR over one joint pool: other queries and documents of the batch are all negatives",
                 ("retrieval",), lambda m: _mnr(m, ("query_to_doc", "query_to_query", "doc_to_query", "doc_to_doc"),
                                                "joint"),
                 in_batch_negatives=True),
        LossSpec("cached-mnr", "MNR with gradient caching: large batches in little memory",
                 ("retrieval",), lambda m: _losses().CachedMultipleNegativesRankingLoss(m, mini_batch_size=16),
                 in_batch_negatives=True),
        LossSpec("triplet", "TripletMarginLoss on (anchor, positive, negative), Euclidean margin 5",
                 ("retrieval",), lambda m: _losses().TripletLoss(m)),
        LossSpec("cosine", "CosineSimilarityLoss: regress cosine onto a 0-1 score",
                 ("scored",), lambda m: _losses().CosineSimilarityLoss(m)),
        LossSpec("cosent", "CoSENT: rank pairs by score (usually beats cosine)",
                 ("scored",), lambda m: _losses().CoSENTLoss(m)),
        LossSpec("softmax", "SoftmaxLoss: classify NLI labels from (u, v, |u-v|)", ("nli",), _softmax),
        LossSpec("contrastive", "ContrastiveLoss on (s1, s2, 0/1 label)",
                 ("retrieval", "scored", "nli"), lambda m: _losses().ContrastiveLoss(m)),
        LossSpec("online-contrastive", "OnlineContrastiveLoss: contrastive on the hard pairs of each batch",
                 ("retrieval", "scored", "nli"), lambda m: _losses().OnlineContrastiveLoss(m)),
    )
}
MATRYOSHKA = "matryoshka"


def loss_names() -> list[str]:
    return sorted([*LOSSES, MATRYOSHKA])


def get_spec(name: str | None, kind: str) -> tuple[LossSpec, str]:
    """The spec for `name` (None or 'matryoshka' → the kind's default) and why it was chosen."""
    if name is None or name == MATRYOSHKA:
        default = DEFAULT_LOSS_BY_KIND[kind]
        return LOSSES[default], f"loss {default} (default for {kind} data)"
    if name not in LOSSES:
        raise UnknownNameError("loss", name, loss_names())
    return LOSSES[name], f"loss {name} (as requested)"


def build_loss(spec: LossSpec, model, matryoshka_dims: list[int] | None = None):
    """Instantiate the loss; wrap it in MatryoshkaLoss when dims are given."""
    loss = spec.build(model)
    if not matryoshka_dims:
        return loss
    if spec.name == "softmax":
        raise ConfigError("Matryoshka cannot wrap the softmax loss (its classifier has a fixed input size)")
    full = model.get_embedding_dimension()
    bad = [d for d in matryoshka_dims if d <= 0 or d > full]
    if bad:
        raise ConfigError(f"matryoshka dims {bad} are out of range; each must be in 1..{full} for this model")
    return _losses().MatryoshkaLoss(model, loss, matryoshka_dims=sorted(set(matryoshka_dims), reverse=True))


def default_matryoshka_dims(full: int) -> list[int]:
    return [d for d in (full, 256, 128, 64) if d <= full]
