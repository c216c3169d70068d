"""Numeric command-line flags that refuse what their setting refuses, at parse time.

Every ``int``/``float`` flag of every command is checked once, while the command line is
parsed: a value that is not a finite number in the flag's :class:`~edge_rppg.config.Range`
ends the command with one line (``edge-rppg CMD: error: argument --flag: must be ...``) and
exit code 2, before anything is loaded or allocated.

- :func:`field_flag` ties a flag to a config field: the flag inherits the field's range
  from the config's ``RANGES`` (the config stays the one place that says what is allowed;
  the config class is imported only when the flag is given, so ``--help`` stays fast);
- :func:`flag` gives a flag its own range (a count, a seed);
- :func:`bound_numeric_flags` (run on every parser by :func:`edge_rppg.cli.main.build_parser`)
  turns any flag still declared as plain ``type=int`` / ``type=float`` into a finite,
  non-negative one: a new flag cannot slip past with NaN, inf or a meaningless negative.
"""
from __future__ import annotations

import argparse
import importlib
import math
import sys
from typing import Any, NoReturn, Optional, Union

from ..config import Range

__all__ = ["SEED", "NumberFlag", "flag", "field_flag", "bound_numeric_flags", "OneLineParser"]

#: Seeds: what every random generator of the project accepts (numpy, torch, legacy RandomState).
SEED = Range(0, 2**32 - 1, integer=True)


class NumberFlag:
    """argparse ``type=`` callable: text → ``int``/``float`` within a :class:`Range`, else
    ``argparse.ArgumentTypeError`` saying what is allowed. ``range`` is a Range, or
    ``"module:Class.field"`` naming a config field whose ``RANGES`` entry it uses."""

    def __init__(self, range: Union[Range, str]) -> None:  # noqa: A002 - argparse wording
        self._spec = range

    @property
    def range(self) -> Range:
        """The allowed values (a config field's range is looked up on first use)."""
        if isinstance(self._spec, str):
            modname, _, attr = self._spec.partition(":")
            cls_name, _, field = attr.partition(".")
            cls = getattr(importlib.import_module(modname), cls_name)
            self._spec = cls.RANGES[field]
        return self._spec

    @property
    def __name__(self) -> str:  # argparse names the type in some messages
        return "integer" if self.range.integer else "number"

    def __call__(self, text: str) -> Union[int, float]:
        rng = self.range
        value: Any
        try:
            value = int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                value = text
        why = rng.problem(value)
        if why:
            raise argparse.ArgumentTypeError(why.replace(f"got {value!r}", f"got {text!r}"))
        return rng.coerce(value)

    def __repr__(self) -> str:
        return f"NumberFlag({self._spec!r})"


def flag(range: Range) -> NumberFlag:  # noqa: A002
    """A flag type with its own range, e.g. ``type=flag(Range(1, 1000, integer=True))``."""
    return NumberFlag(range)


def field_flag(config_field: str) -> NumberFlag:
    """A flag type that inherits a config field's range: ``"module:Class.field"``."""
    return NumberFlag(config_field)


def bound_numeric_flags(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Make every plain ``type=int``/``type=float`` flag of ``parser`` a finite, non-negative
    :class:`NumberFlag` (flags with a declared range keep theirs). Returns ``parser``."""
    for action in parser._actions:
        if action.type is int:
            action.type = NumberFlag(Range(0, math.inf, integer=True))
        elif action.type is float:
            action.type = NumberFlag(Range(0.0, math.inf))
    return parser


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (``PROG: error: ...``) and exit
    code 2, the CLI's error contract (argparse's default also prints the usage block)."""

    def error(self, message: str) -> NoReturn:
        text = " ".join(str(message).split())
        sys.stderr.write(f"{self.prog}: error: {text} (see {self.prog} --help)\n")
        sys.exit(2)

    def exit(self, status: int = 0, message: Optional[str] = None) -> NoReturn:
        if message and status:
            self.error(message)
        super().exit(status, message)
