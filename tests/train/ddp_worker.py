"""Run by tests/train/test_ddp.py under torchrun: a few steps of a per-pair loss, losses to JSON.

Usage: torchrun --nproc_per_node N ddp_worker.py MODEL_DIR DATA_JSONL OUT_DIR PER_DEVICE_BATCH STEPS
"""

from __future__ import annotations

import json
import os
import sys


def main(model_dir: str, data: str, out: str, per_device: int, steps: int) -> None:
    from datasets import Dataset
    from sentence_transformers.sentence_transformer.losses import CosineSimilarityLoss

    from densefit.config import TrainConfig
    from densefit.models import load_model
    from densefit.train.run import train

    rows = [json.loads(line) for line in open(data, encoding="utf-8")]
    dataset = Dataset.from_dict({k: [r[k] for r in rows] for k in ("sentence1", "sentence2", "score")})
    model = load_model(model_dir)
    cfg = TrainConfig(model=model_dir, train=data, out=out, max_steps=steps, batch_size=per_device,
                      learning_rate=1e-3, warmup_ratio=0.0, logging_steps=1, precision="fp32", seed=0)
    outcome = train(cfg, model, CosineSimilarityLoss(model), dataset)
    if int(os.environ.get("RANK", "0")) == 0:
        losses = [e["loss"] for e in outcome.log_history if "loss" in e]
        with open(os.path.join(out, "losses.json"), "w") as fh:
            json.dump({"losses": losses, "world_size": int(os.environ.get("WORLD_SIZE", "1"))}, fh)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
