"""A sentence-transformers evaluator backed by densefit's own retrieval metrics.

The trainer calls it every `eval_steps`; the best checkpoint is picked on its
primary metric, computed exactly as `densefit eval` computes it.
"""

from __future__ import annotations

from sentence_transformers.base.evaluation.evaluator import BaseEvaluator

from densefit.data.beir import IRSet
from densefit.evaluation.retrieval import evaluate_retrieval
from densefit.inference.select import as_encoder


class RetrievalEvaluator(BaseEvaluator):
    def __init__(self, irset: IRSet, *, primary: str = "ndcg@10", ks=(1, 10, 100), precision: str = "auto",
                 name: str = "ir") -> None:
        super().__init__()
        self.irset, self.ks, self.precision, self.name = irset, tuple(ks), precision, name
        self.primary_metric = primary
        self.metric_key = f"{name}_{primary}"  # the key the trainer sees, for best-checkpoint selection

    def __call__(self, model, output_path=None, epoch: float = -1, steps: int = -1) -> dict[str, float]:
        result = evaluate_retrieval(as_encoder(model, precision=self.precision), self.irset, ks=self.ks)
        return self.prefix_name_to_metrics(result.metrics, self.name)

    def get_config_dict(self) -> dict:
        return {"split": self.irset.split, "queries": len(self.irset.judged_queries()), "ks": list(self.ks)}
