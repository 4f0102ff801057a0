"""The peer: the plain sentence-transformers fine-tune a user writes without densefit.

    python bench/stock_st.py --model MODEL_DIR --train pairs.jsonl --out OUT [--bf16]

MNR loss, 1 epoch, batch 32, lr 5e-5, 10% warm-up, the NO_DUPLICATES sampler and the model's own
max_seq_length, as the sentence-transformers training docs show. `--bf16` is the one flag a user adds
on a CPU with fast bf16. Nothing of densefit is imported, so the peer gets no help from it.
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--train", required=True, help="JSONL with anchor and positive")
    ap.add_argument("--out", required=True)
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args()

    from datasets import load_dataset
    from sentence_transformers import (SentenceTransformer, SentenceTransformerTrainer,
                                       SentenceTransformerTrainingArguments)
    from sentence_transformers.base.sampler import BatchSamplers
    from sentence_transformers.losses import MultipleNegativesRankingLoss

    start = time.perf_counter()
    model = SentenceTransformer(args.model)
    data = load_dataset("json", data_files=args.train, split="train").select_columns(["anchor", "positive"])
    training_args = SentenceTransformerTrainingArguments(
        output_dir=f"{args.out}/checkpoints", num_train_epochs=args.epochs,
        per_device_train_batch_size=args.batch_size, learning_rate=args.lr, warmup_steps=0.1,
        bf16=args.bf16, use_cpu=args.bf16, batch_sampler=BatchSamplers.NO_DUPLICATES,
        save_strategy="no", logging_steps=50, report_to="none", seed=0)
    trainer = SentenceTransformerTrainer(model=model, args=training_args, train_dataset=data,
                                         loss=MultipleNegativesRankingLoss(model))
    trainer.train()
    model.save(f"{args.out}/model")
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "steps": trainer.state.global_step, "rows": len(data)}))


if __name__ == "__main__":
    main()
