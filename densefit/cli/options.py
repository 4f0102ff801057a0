"""CLI options made from the config dataclasses: help text, types and defaults are written once, there.

`config_command(cls, run)` turns every field of `cls` into a typer option. Each option's CLI default is
None, so a flag the user gave is told apart from one left out, even at the field's default value: the
precedence is field defaults < YAML (--config) < environment (where a config has one) < flags.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable
from typing import Any, Optional

import typer

from densefit.config import TrainConfig, help_of
from densefit.errors import ConfigError

LISTS_HELP = " Comma-separated."


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


def _base_type(hint: Any) -> Any:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if args and typing.get_origin(hint) is not list else hint


def flag_of(name: str) -> str:
    return "--" + name.replace("_", "-")


def _default_text(value: Any) -> str:
    """' [default: X]' for the help (the option's own default is None: "not given")."""
    if value is None or value == [] or value == "":
        return ""
    return f" \\[default: {','.join(map(str, value)) if isinstance(value, list) else value}]"  # rich markup


def config_parameters(cls: type, *, aliases: dict[str, tuple[str, ...]] | None = None,
                      panels: dict[str, str] | None = None,
                      env: Callable[[str], str] | None = None,
                      positional: tuple[str, ...] = ()) -> list[inspect.Parameter]:
    """One keyword parameter per field: Optional[type] = typer.Option(None, flags, help, panel); a field
    named in `positional` is a command argument instead (`densefit build FOLDER`)."""
    hints, aliases, panels = typing.get_type_hints(cls), aliases or {}, panels or {}
    params = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=Optional[str],
                                default=typer.Argument(None, help=help_of(cls, name), show_default=False))
              for name in positional]
    for f in dataclasses.fields(cls):
        if f.name in positional:
            continue
        kind = _base_type(hints[f.name])
        is_list = typing.get_origin(kind) is list
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        flags = [f"{flag_of(f.name)}/--no-{flag_of(f.name)[2:]}" if kind is bool else flag_of(f.name)]
        help_text = (f.metadata["help"] + (LISTS_HELP if is_list else "") + _default_text(default)
                     + (f" \\[env {env(f.name)}]" if env else ""))
        option = typer.Option(None, *aliases.get(f.name, ()), *flags, help=help_text, show_default=False,
                              rich_help_panel=panels.get(f.name))
        annotation = Optional[str] if is_list else Optional[kind]
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=option,
                                        annotation=annotation))
    return params


def given_values(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """The flags the user gave (not None), with list fields parsed from their comma-separated text."""
    hints = typing.get_type_hints(cls)
    given = {}
    for name, value in values.items():
        if value is None or name not in hints:
            continue
        kind = _base_type(hints[name])
        if typing.get_origin(kind) is list:
            item = (typing.get_args(kind) or (str,))[0]
            value = (parse_int_list(value, flag_of(name)) if item is int
                     else [part.strip() for part in value.split(",") if part.strip()])
        given[name] = value
    return given


def config_command(cls: type, run: Callable[..., None], *, extra: list[inspect.Parameter] = (), **options: Any):
    """A typer command whose options are the fields of `cls` (plus `extra`); calls run(**all values)."""
    def command(**values: Any) -> None:
        run(**values)

    params = config_parameters(cls, **options) + list(extra)
    command.__signature__ = inspect.Signature(params)
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__doc__ = run.__doc__
    command.__name__ = run.__name__
    return command


def extra_option(name: str, annotation: Any, *flags: str, default: Any = None, **kwargs: Any) -> inspect.Parameter:
    """A command option that is not a config field (e.g. --config, --no-progress)."""
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation,
                             default=typer.Option(default, *flags, **kwargs))
