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
        if not self.args.should_save:
            return
        self._repoint_best(staging_root, run_dir)
        self.state.save_to_json(os.path.join(staging_root, name, "trainer_state.json"))
        publish(Path(staging_root, name), Path(run_dir, name), self.state.global_step)
        os.rmdir(staging_root)
        rotate_checkpoints(run_dir, self.args.save_total_limit, self.state.best_model_checkpoint)

    def _repoint_best(self, staging_root: str, run_dir: str) -> None:
        best = self.state.best_model_checkpoint
        if best and os.path.dirname(best) == staging_root:
            self.state.best_model_checkpoint = os.path.join(run_dir, os.path.basename(best))
