"""The trainer's progress as a rich bar (densefit's one progress library), with the latest loss."""

from __future__ import annotations

from transformers import TrainerCallback

from densefit.console import console, progress_enabled


class RichProgress(TrainerCallback):
    """Steps done of max_steps, time left, and the last logged loss; nothing when progress is off."""

    def __init__(self) -> None:
        self.bar = self.task = None

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero or not progress_enabled():
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
            TimeRemainingColumn

        self.bar = Progress(TextColumn("train"), BarColumn(), MofNCompleteColumn(), TextColumn("steps"),
                            TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[loss]}"),
                            console=console)
        self.task = self.bar.add_task("train", total=state.max_steps, completed=state.global_step, loss="")
        self.bar.start()

    def on_step_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.update(self.task, completed=state.global_step)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if self.bar is not None and logs and "loss" in logs:
            self.bar.update(self.task, loss=f"loss {float(logs['loss']):.4f}")

    def on_train_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
