"""User-facing errors: each says what went wrong, where, and how to fix it.

The CLI prints these without a stack trace; anything else is a bug.
"""

from __future__ import annotations


class DensefitError(Exception):
    """Base class for errors the user can act on."""

    exit_code = 2


class DataError(DensefitError):
    """Bad input data: names the file, the line, the field, what was expected and the fix."""

    def __init__(
        self,
        message: str,
        *,
        path: object | None = None,
        line: int | None = None,
        field: str | None = None,
        expected: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.path, self.line, self.field = path, line, field
        self.expected, self.fix, self.reason = expected, fix, message
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line is not None else f"{self.path}: "
        field = f"field '{self.field}': " if self.field else ""
        text = f"{where}{field}{self.reason}"
        if self.expected:
            text += f" (expected {self.expected})"
        if self.fix:
            text += f". Fix: {self.fix}"
        return text


class ModelLoadError(DensefitError):
    """A model name or path that cannot be loaded."""


class JobError(DensefitError):
    """A long job that failed part-way (a crashed worker); what finished is kept and a re-run continues."""


class ConfigError(DensefitError):
    """An invalid option or combination of options."""


# optional package (import name) -> the densefit extra that installs it (pyproject.toml [project.optional-dependencies])
EXTRAS = {"ray": "ray", "onnx": "export", "onnxruntime": "export", "openvino": "export", "nncf": "export",
          "pymilvus": "milvus", "milvus_lite": "milvus", "opensearchpy": "opensearch", "mteb": "mteb",
          "model2vec": "static"}


class MissingExtraError(ConfigError):
    """A feature whose optional package is not installed; names the extra that installs it."""

    def __init__(self, module: str, what: str) -> None:
        self.module, self.extra = module, EXTRAS.get(module, "all")
        super().__init__(f"{what} needs the optional package '{module}', which is not installed. "
                         f"Fix: pip install 'densefit[{self.extra}]'")


def require(module: str, what: str):
    """Import an optional dependency, or raise MissingExtraError naming the extra that installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if exc.name and exc.name.split(".")[0] != module.split(".")[0]:
            raise  # the package is there but one of its own imports is broken: show the real error
        raise MissingExtraError(module, what) from None


class UnknownNameError(ConfigError):
    """A registry lookup with a name that does not exist; lists the valid names."""

    def __init__(self, kind: str, name: str, valid: list[str] | tuple[str, ...]) -> None:
        super().__init__(f"unknown {kind} '{name}'; choose one of: {', '.join(sorted(valid))}")


DISK_FULL_FIX = ("free space (or choose another --out or --store) and run the same command again: nothing already "
                 "written is lost; train continues with --resume, index and encode skip what is done")


def disk_full(exc: BaseException) -> DensefitError | None:
    """The user-facing error when `exc` (or what caused it) is a full disk, else None.

    A full disk shows up as OSError ENOSPC, SQLite's "database or disk is full", or torch's
    serializer failing mid-file ("unexpected pos" / "file write failed"), or safetensors' "No space left"."""
    import errno

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        text = str(exc)
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            where = f" {exc.filename}" if exc.filename else ""
            return DensefitError(f"disk full while writing{where}. Fix: {DISK_FULL_FIX}")
        if "database or disk is full" in text:
            return DensefitError(f"disk full while writing the store's database. Fix: {DISK_FULL_FIX}")
        if any(sign in text for sign in ("unexpected pos", "file write failed", "No space left on device")):
            return DensefitError(f"disk full while saving a checkpoint or model. Fix: {DISK_FULL_FIX}")
        exc = exc.__cause__ or exc.__context__
    return None
