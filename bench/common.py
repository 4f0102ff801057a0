"""What every benchmark shares: the machine line, whether the machine was shared, writing its section of
docs/benchmarks.md, and starting, waiting for and stopping a `densefit serve` process.

A bench is run as `python bench/NAME.py`, so this folder is on sys.path and `import common` finds this file.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
OTHERS_LIMIT = 0.10  # other processes using more than this share of all cores: the machine was shared


def machine() -> str:
    """CPU model, vCPUs and the instruction sets that decide bf16 speed, in one line."""
    from densefit.inference.parity import machine_signature
    from densefit.inference.precision import cpu_flags, cpu_has_fast_bf16

    sig, flags = machine_signature(), cpu_flags()
    yes = lambda flag: "yes" if flag in flags else "no"  # noqa: E731
    return (f"{sig['cpu']}, {sig['cores']} vCPUs, AMX: {yes('amx_bf16')}, AVX512-BF16: {yes('avx512_bf16')}, "
            f"AVX512-VNNI: {yes('avx512_vnni')} (fast bf16: {'yes' if cpu_has_fast_bf16() else 'no'})")


def today() -> str:
    return dt.date.today().isoformat()


def load_avg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _busy_seconds() -> float:
    """CPU seconds all processes spent busy since boot (user + nice + system + irq + softirq)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in fields[:7])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class SharedWatch:
    """Measures whether other processes used the cores while a bench ran (its own reaped children excluded).

        watch = SharedWatch()
        ...the runs...
        watch.shared, watch.note()   # True/False and a sentence made from the measured share
    """

    def __init__(self) -> None:
        self.start, self.busy0, self.own0 = time.monotonic(), _busy_seconds(), _own_seconds()

    def others_share(self) -> float:
        wall = max(time.monotonic() - self.start, 1e-6)
        others = (_busy_seconds() - self.busy0) - (_own_seconds() - self.own0)
        return max(others, 0.0) / (wall * (os.cpu_count() or 1))

    @property
    def shared(self) -> bool:
        return self.others_share() > OTHERS_LIMIT

    def note(self) -> str:
        share = self.others_share()
        if share <= OTHERS_LIMIT:
            return f"quiet machine (other processes used {share:.0%} of the cores)"
        return f"shared machine: other processes used {share:.0%} of the cores, so times are pessimistic"


def write_section(text: str, begin: str, end: str, doc: Path = DOC) -> None:
    """Replace the text between `begin` and `end` (markers included in `text`), or append it; atomic."""
    current = doc.read_text() if doc.exists() else "# Benchmarks\n"
    if begin in current:
        current = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: text, current, flags=re.S)
    else:
        current = current.rstrip() + "\n\n" + text + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{doc.name}.", dir=doc.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(current)
    os.replace(tmp, doc)


# ----------------------------------------------------------------------------- a server under test

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port: int, proc: subprocess.Popen, path: str = "/readyz", timeout: float = 600) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("server not ready in time")


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        return -9
