"""Pick the numeric precision for a device: bf16 only where the hardware makes it fast.

On CPUs, bf16 pays off only with AMX or AVX512-BF16; elsewhere bf16 matmuls are
emulated and run several times *slower* than fp32 (measured: 50 vs 153 GFLOP/s on
an AVX512 Xeon without either), so `auto` falls back to fp32 there.
"""

from __future__ import annotations

import functools
from pathlib import Path

from densefit.errors import UnknownNameError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
FAST_BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU feature flags the kernel reports (empty where /proc/cpuinfo does not exist)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def cpu_has_fast_bf16() -> bool:
    return any(flag in cpu_flags() for flag in FAST_BF16_CPU_FLAGS)


def resolve_precision(precision: str, device: str) -> str:
    """Map `auto` to the fastest safe precision for `device` ("cpu", "cuda", "cuda:0", "mps")."""
    if precision not in PRECISIONS:
        raise UnknownNameError("precision", precision, PRECISIONS)
    if precision != "auto":
        return precision
    if device.startswith("cuda"):
        import torch

        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if device == "cpu":
        return "bf16" if cpu_has_fast_bf16() else "fp32"
    return "fp32"


def explain_precision(precision: str, device: str) -> str:
    """One line for the log: what was chosen and why."""
    chosen = resolve_precision(precision, device)
    if precision != "auto":
        return f"precision {chosen} on {device} (as requested)"
    if device == "cpu":
        why = "CPU has AMX/AVX512-BF16" if chosen == "bf16" else "CPU lacks AMX/AVX512-BF16, where bf16 is slower"
        return f"precision {chosen} on cpu ({why})"
    return f"precision {chosen} on {device}"
