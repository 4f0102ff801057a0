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


class ConfigError(DensefitError):
    """An invalid option or combination of options."""


class UnknownNameError(ConfigError):
    """A registry lookup with a name that does not exist; lists the valid names."""

    def __init__(self, kind: str, name: str, valid: list[str] | tuple[str, ...]) -> None:
        super().__init__(f"unknown {kind} '{name}'; choose one of: {', '.join(sorted(valid))}")
