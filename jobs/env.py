"""Settings read from environment variables: one reader for every process's settings.

A settings class is a frozen dataclass whose fields name their variable with `var()`;
`load()` reads each variable once, parses it by the field's type and fails loudly on
a bad value. A field's default is written once, in its declaration.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")
TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def var(name: str, default: Any) -> Any:
    """A dataclass field read from the environment variable `name` (empty: `default`)."""
    return dataclasses.field(default=default, metadata={"env": name})


def parse(name: str, raw: str, kind: Any) -> Any:
    """Parse one variable's text as `kind` (int, float, bool or str); SystemExit if bad."""
    if kind is bool:
        value = raw.lower()
        if value not in TRUE | FALSE:
            raise SystemExit(f"{name} must be 1/0 (true/false, yes/no, on/off), got {raw!r}")
        return value in TRUE
    if kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            what = "an integer" if kind is int else "a number"
            raise SystemExit(f"{name} must be {what}, got {raw!r}") from None
    return raw


def load(cls: type[T], environ: Mapping[str, str] | None = None, **overrides: Any) -> T:
    """An instance of the settings dataclass `cls` from `environ` (default: os.environ)."""
    env = os.environ if environ is None else environ
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        name = field.metadata.get("env")
        raw = env.get(name, "").strip() if name else ""
        if name and raw:
            kind = hints[field.name]
            values[field.name] = parse(name, raw, kind if kind in (int, float, bool) else str)
    return cls(**{**values, **overrides})


def variables(cls: type) -> dict[str, Any]:
    """Every variable a settings class reads, with its default (the README lists them)."""
    return {f.metadata["env"]: f.default for f in dataclasses.fields(cls) if "env" in f.metadata}
