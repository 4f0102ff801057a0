"""Pick the encoder: torch, or an exported variant whose parity was proven on this hardware.

`backend="auto"` looks for exports in `exports_dir(model)`: `<model folder>/exports/*/` for a
folder the user owns (a run, a saved model), and a per-user cache for a model they do not
own (one inside the installed packages, such as `default`, or a read-only folder):
`$XDG_CACHE_HOME/densefit/exports/<name>-<weights hash>/`, else `~/.cache/densefit/...`.
Nothing is ever written under site-packages. A variant is
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
from densefit.inference.encoder import TextEncoder
from densefit.inference.parity import MIN_COSINE, machine_signature
from densefit.inference.export import VARIANTS as EXPORT_FORMATS
from densefit.inference.locations import (  # noqa: F401 (where exports live; re-exported)
    CACHE_ENV, EXPORTS_DIR, cache_root, exports_dir, model_key, owned, writable_exports_dir)
from densefit.inference.runtimes import MANIFEST, open_exported

BACKENDS = ("auto", "torch", *EXPORT_FORMATS)  # an export's backend is its format name
RUNTIME_MODULES = {"onnx": "onnxruntime", "openvino": "openvino", "static": "model2vec"}


def exported_variants(model_dir: str | Path) -> dict[str, tuple[Path, dict]]:
    """format -> (folder, manifest) for every export of this model (`exports_dir`, and `<model>/exports/`)."""
    found = {}
    for root in dict.fromkeys([exports_dir(model_dir), Path(model_dir) / EXPORTS_DIR]):
        for manifest_path in sorted(root.glob(f"*/{MANIFEST}")) if root.is_dir() else []:
            manifest = json.loads(manifest_path.read_text())
            found.setdefault(manifest.get("format", manifest_path.parent.name), (manifest_path.parent, manifest))
    return found


def ineligible_reason(manifest: dict, here: dict | None = None) -> str | None:
    """Why `auto` may not pick this export, or None when it may."""
    parity = manifest.get("parity") or {}
    if manifest.get("runtime") == "static":
        return "a distilled static model, not the same embeddings: used only when asked for (--backend static)"
    if not parity:
        return "no parity check recorded"
    if (parity.get("min_cosine") or 0.0) < MIN_COSINE:
        return f"min cosine {parity.get('min_cosine') or 0.0:.4f} < {MIN_COSINE}"
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
                 batch_size: int | None = None, threads: int | None = None, **model_kwargs) -> TextEncoder:
    """THE loader: the TextEncoder for a model name, folder or export folder, on `backend`.

    Every layer that embeds text by name comes here (api.load, eval, index, search, encode, serve),
    so the same model gets the same backend everywhere. `auto` takes a proven export only at the
    model's own settings (precision auto/fp32, no max_seq_length override); otherwise torch.
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


def as_encoder(model, *, precision: str = "auto", **load_kwargs) -> TextEncoder:
    """A TextEncoder for what a caller holds: an encoder as it is, a SentenceTransformer in memory (a
    model being trained or evaluated) on torch, or a name/folder through `load_encoder`."""
    from densefit.inference.encoder import Encoder

    if isinstance(model, TextEncoder):
        return model
    if hasattr(model, "encode") and hasattr(model, "get_embedding_dimension"):
        return Encoder(model, precision=precision)
    return load_encoder(str(model), precision=precision, **load_kwargs)


def _named_export(model: str, backend: str) -> Path:
    from densefit.errors import ModelLoadError
    from densefit.models import resolve_model

    resolved = resolve_model(model)
    variants = exported_variants(resolved) if Path(resolved).is_dir() else {}
    if backend not in variants:
        where = exports_dir(resolved) if Path(resolved).is_dir() else "the model's exports"
        raise ModelLoadError(f"no '{backend}' export of '{model}' in {where}. "
                             f"Fix: densefit export --model {model} --format {backend}")
    return variants[backend][0]
