"""Pick the encoder: torch, or an exported variant whose parity was proven on this hardware.

`backend="auto"` looks for exports in `<model folder>/exports/*/`. A variant is
eligible only when its recorded parity check passed (min cosine >= MIN_COSINE),
it was measured on a CPU with the same instruction sets as this one, it was
faster than torch there, and its runtime is installed. The fastest eligible one
wins; with none, torch is used. Quality is never traded away silently.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from densefit.console import say
from densefit.errors import UnknownNameError
from densefit.inference.parity import MIN_COSINE, machine_signature
from densefit.inference.runtimes import MANIFEST, open_exported

BACKENDS = ("auto", "torch", "onnx", "onnx-int8", "openvino", "openvino-int8")
EXPORTS_DIR = "exports"
RUNTIME_MODULES = {"onnx": "onnxruntime", "openvino": "openvino"}


def exported_variants(model_dir: str | Path) -> dict[str, tuple[Path, dict]]:
    """format -> (folder, manifest) for every export found under `<model_dir>/exports/`."""
    root = Path(model_dir) / EXPORTS_DIR
    found = {}
    for manifest_path in sorted(root.glob(f"*/{MANIFEST}")) if root.is_dir() else []:
        manifest = json.loads(manifest_path.read_text())
        found[manifest.get("format", manifest_path.parent.name)] = (manifest_path.parent, manifest)
    return found


def ineligible_reason(manifest: dict, here: dict | None = None) -> str | None:
    """Why `auto` may not pick this export, or None when it may."""
    parity = manifest.get("parity") or {}
    if not parity:
        return "no parity check recorded"
    if parity.get("min_cosine", 0.0) < MIN_COSINE:
        return f"min cosine {parity.get('min_cosine', 0.0):.4f} < {MIN_COSINE}"
    if (parity.get("machine") or {}).get("isa") != (here or machine_signature())["isa"]:
        return "its speed was measured on a CPU with other instruction sets"
    if parity.get("speedup", 0.0) <= 1.0:
        return f"not faster than torch here ({parity.get('speedup', 0.0):.2f}x)"
    if importlib.util.find_spec(RUNTIME_MODULES.get(manifest.get("runtime"), "onnxruntime")) is None:
        return f"runtime '{manifest.get('runtime')}' is not installed"
    return None


def choose_variant(model_dir: str | Path) -> tuple[Path | None, str]:
    """The fastest eligible export folder (or None for torch) and a line saying why."""
    here, best, notes = machine_signature(), None, []
    for name, (folder, manifest) in exported_variants(model_dir).items():
        reason = ineligible_reason(manifest, here)
        if reason:
            notes.append(f"{name}: {reason}")
        elif best is None or manifest["parity"]["speedup"] > best[1]["parity"]["speedup"]:
            best = (folder, manifest)
    if best is None:
        return None, "backend torch" + (f" (skipped {'; '.join(notes)})" if notes else " (no exports found)")
    p = best[1]["parity"]
    return best[0], (f"backend {best[1]['format']} ({p['speedup']:.2f}x torch, "
                     f"min cosine {p['min_cosine']:.5f}, from {best[0]})")


def load_encoder(model: str = "default", *, backend: str = "auto", precision: str = "auto",
                 batch_size: int | None = None, threads: int | None = None, **model_kwargs):
    """An encoder with `.encode(texts)`, `.dimension`, `.model`, `.precision` for `backend`.

    `threads` sets an exported runtime's thread count (torch's is process-wide: torch.set_num_threads)."""
    from densefit.inference.encoder import DEFAULT_BATCH_SIZE, Encoder
    from densefit.models import load_model, resolve_model

    if backend not in BACKENDS:
        raise UnknownNameError("backend", backend, BACKENDS)
    kwargs = {k: v for k, v in (("batch_size", batch_size), ("threads", threads)) if v}
    if backend != "torch" and Path(model).is_dir() and (Path(model) / MANIFEST).is_file():
        return open_exported(model, **kwargs)  # an export folder itself
    if backend == "auto" and precision in ("auto", "fp32") and not model_kwargs.get("max_seq_length"):
        resolved = resolve_model(model)
        folder, why = choose_variant(resolved) if Path(resolved).is_dir() else (None, "backend torch")
        if exported_variants(resolved) if Path(resolved).is_dir() else False:
            say(why)  # silent when there is nothing to choose from
        if folder is not None:
            return open_exported(folder, **kwargs)
    elif backend not in ("auto", "torch"):
        return open_exported(_named_export(model, backend), **kwargs)
    return Encoder(load_model(model, **model_kwargs), precision=precision,
                   batch_size=batch_size or DEFAULT_BATCH_SIZE)


def _named_export(model: str, backend: str) -> Path:
    from densefit.errors import ModelLoadError
    from densefit.models import resolve_model

    variants = exported_variants(resolve_model(model))
    if backend not in variants:
        raise ModelLoadError(f"no '{backend}' export of '{model}' in {Path(resolve_model(model)) / EXPORTS_DIR}. "
                             f"Fix: densefit export --model {model} --format {backend} "
                             f"--out {Path(resolve_model(model)) / EXPORTS_DIR / backend}")
    return variants[backend][0]
