"""What a resumed run must share with the run it continues, so `train.json` never misstates the history.

A fresh run writes OUT/run-fingerprint.json: the base model, a hash of the training data, the batch
size, the learning rate, the loss and the method. `--resume` compares the new command's values with
it and refuses a mismatch, naming each difference, unless `--resume-force` is given (then the
override is recorded in the file).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from densefit.console import say
from densefit.errors import ConfigError
from densefit.io import write_json_atomic

FINGERPRINT = "run-fingerprint.json"


def data_hash(path: str | None) -> str | None:
    """sha256 of a data file, or of every file of a data folder (names and bytes); None without data."""
    if not path or not Path(path).exists():
        return None
    root = Path(path)
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for f in files:
        digest.update(str(f.relative_to(root)).encode() if f != root else b"")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def loss_name(loss) -> str:
    """The loss class, with its directions when it is not plain one-way MNR (mnr-symmetric, mnr-gte)."""
    config = loss.get_config_dict() if hasattr(loss, "get_config_dict") else {}
    directions = tuple(config.get("directions", ("query_to_doc",)))
    if directions == ("query_to_doc",):
        return type(loss).__name__
    return f"{type(loss).__name__}({'+'.join(directions)}, {config.get('partition_mode')})"


def fingerprint(cfg, loss) -> dict:
    """The values a resumed run must share with the run it continues."""
    return {"model": cfg.model, "data": data_hash(cfg.train), "batch_size": cfg.batch_size,
            "learning_rate": cfg.learning_rate, "loss": loss_name(loss), "method": cfg.method}


def differences(before: dict, now: dict) -> list[str]:
    return [f"{key}: was {before.get(key)!r}, now {now[key]!r}" for key in now if before.get(key) != now[key]]


def check_and_record(out: Path, now: dict, *, resuming: bool, force: bool) -> None:
    """Refuse to resume a different run (unless forced); then record the fingerprint of this one."""
    path = out / FINGERPRINT
    before = json.loads(path.read_text()) if path.is_file() else None
    if resuming and before is None:
        say("resume: this run recorded no fingerprint (an older densefit); continuing without the check")
    if resuming and before is not None and (diff := differences(before, now)):
        if not force:
            raise ConfigError(f"--resume would continue a different run in '{out}': {'; '.join(diff)}. Fix: run "
                              "again with the first run's settings and data, choose another --out, or pass "
                              "--resume-force to continue anyway (the override is recorded)")
        say(f"[yellow]resume: continuing a different run because of --resume-force: {'; '.join(diff)}[/yellow]")
        now = {**now, "forced_over": {**before.get("forced_over", {}), **{k: before.get(k) for k in now
                                                                          if before.get(k) != now[k]}}}
    write_json_atomic(path, now)
