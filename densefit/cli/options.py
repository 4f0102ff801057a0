"""Shared CLI option helpers: help text comes from the config dataclasses."""

from __future__ import annotations

from densefit.config import TrainConfig, help_of
from densefit.errors import ConfigError


def train_help(name: str) -> str:
    return help_of(TrainConfig, name)


def parse_int_list(text: str | None, what: str) -> list[int]:
    """'384,256,128' -> [384, 256, 128], with a clear error for anything else."""
    if not text:
        return []
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(f"{what} must be comma-separated integers, got '{text}'") from None
