"""The sentence-transformers trainer, with atomic checkpoints.

Only checkpoint *placement* changes: the stock trainer writes each checkpoint
into a staging folder, which is then marked complete and renamed into place.
Everything else (optimisation, samplers, resume) is the stock trainer's.
"""

from __future__ import annotations

import os
from pathlib import Path

from sentence_transformers import SentenceTransformerTrainer
from transformers.trainer_utils import rotate_checkpoints

from densefit.train.checkpoints import STAGING, publish


class AtomicCheckpointTrainer(SentenceTransformerTrainer):
    """SentenceTransformerTrainer whose checkpoints appear whole or not at all."""

    _staging_root: str | None = None

    def _get_output_dir(self, trial) -> str:  # the stock _save_checkpoint asks this for its folder
        return self._staging_root or super()._get_output_dir(trial)

    def _save_checkpoint(self, model, trial) -> None:
        run_dir = super()._get_output_dir(trial)
        name = f"checkpoint-{self.state.global_step}"
        staging_root = os.path.join(run_dir, STAGING)
        self._staging_root = staging_root
        try:
            super()._save_checkpoint(model, trial)
        finally:
            self._staging_root = None
        self.accelerator.wait_for_everyone()  # DDP: every rank has written its files into the staging folder
        if not self.args.should_save:
            self.accelerator.wait_for_everyone()
            return
        self._repoint_best(staging_root, run_dir)
        self.state.save_to_json(os.path.join(staging_root, name, "trainer_state.json"))
        publish(Path(staging_root, name), Path(run_dir, name), self.state.global_step)
        os.rmdir(staging_root)
        rotate_checkpoints(run_dir, self.args.save_total_limit, self.state.best_model_checkpoint)
        self.accelerator.wait_for_everyone()  # DDP: no rank moves on before the checkpoint is published

    def _save(self, output_dir: str | None = None, state_dict=None) -> None:
        # sentence-transformers 6 assumes only rank 0 gets here; transformers 5 calls it on every DDP rank,
        # and concurrent writers into one folder corrupt the checkpoint. Only the main process saves.
        if self.args.should_save:
            super()._save(output_dir, state_dict=state_dict)

    def _repoint_best(self, staging_root: str, run_dir: str) -> None:
        best = self.state.best_model_checkpoint
        if best and os.path.dirname(best) == staging_root:
            self.state.best_model_checkpoint = os.path.join(run_dir, os.path.basename(best))
