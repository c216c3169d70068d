"""Dataclass configs that serialise to JSON or YAML.

Every config in the project (synthetic data, model, training, export, engines,
runtime) subclasses :class:`Config`, so it can be saved next to every checkpoint,
ONNX file and engine, and loaded back with type checks on the field names.
"""
from __future__ import annotations

import dataclasses
import json
import math
import numbers
import typing
from pathlib import Path
from typing import Any, ClassVar, Dict, Mapping, Optional, Type, TypeVar, Union

from .errors import ConfigError

try:  # numpy's own bool is a bool too
    from numpy import bool_ as _NP_BOOL
except ImportError:  # pragma: no cover - numpy is a core dependency
    _NP_BOOL = bool

C = TypeVar("C", bound="Config")


def _to_plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_to_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_plain(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value


def _num(x: float) -> str:
    """``4294967295`` for an integral bound (not ``4.29497e+09``), ``0.5`` otherwise."""
    return str(int(x)) if math.isfinite(x) and x == int(x) and abs(x) < 1e16 else f"{x:g}"


def number_from_text(text: str) -> Any:
    """``text`` as an ``int``, else a ``float``, else the text itself (for :meth:`Range.problem`
    to refuse with the words a flag or a URI parameter shows)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


@dataclasses.dataclass(frozen=True)
class Range:
    """The values a numeric setting may take: a finite number (an integer when ``integer``)
    in ``[low, high]`` (``low_open`` / ``high_open``: that end excluded); ``unit`` for messages.

    One object serves the config field (:meth:`Config.check_ranges`) and the CLI flag that sets
    it (``edge_rppg.cli.flags``), so both refuse the same values with the same words."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    integer: bool = False
    unit: str = ""

    def describe(self) -> str:
        """``"an integer in [1, 4096]"``, ``"a number in (0, 3600] s"``, ``"a number >= 0"``."""
        kind = "an integer" if self.integer else "a number"
        unit = f" {self.unit}" if self.unit else ""
        lo, hi = _num(self.low), _num(self.high)
        if math.isinf(self.low) and math.isinf(self.high):
            return f"{kind}{unit}" if self.integer else f"a finite number{unit}"
        if math.isinf(self.high):
            return f"{kind} {'>' if self.low_open else '>='} {lo}{unit}"
        if math.isinf(self.low):
            return f"{kind} {'<' if self.high_open else '<='} {hi}{unit}"
        return f"{kind} in {'(' if self.low_open else '['}{lo}, {hi}{')' if self.high_open else ']'}{unit}"

    def problem(self, value: Any) -> Optional[str]:
        """None when ``value`` is allowed, else what is wrong with it (``"must be ..., got ..."``).
        Booleans and text are refused (not numbers); integral floats pass an integer range."""
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if ok:
            try:
                v = float(value)
            except (OverflowError, ValueError):  # an int beyond float range
                v = math.inf
            ok = (math.isfinite(v) and (v > self.low if self.low_open else v >= self.low)
                  and (v < self.high if self.high_open else v <= self.high)
                  and (not self.integer or v == int(v)))
        return None if ok else f"must be {self.describe()}, got {value!r}"

    def coerce(self, value: Any) -> Any:
        """``value`` as the field stores it (an ``int`` for an integer range); call after :meth:`problem`."""
        return int(value) if self.integer else (float(value) if not isinstance(value, int) else value)


@dataclasses.dataclass
class Config:
    """Base class: ``to_dict``/``from_dict``, ``to_json``/``from_json``, ``save``/``load``.

    A subclass lists the allowed values of its numeric fields in ``RANGES`` (field name →
    :class:`Range`) and calls :meth:`check_ranges` first in ``__post_init__``: each field is
    checked (type, finite, range) in that one place, and CLI flags reuse the same ranges."""

    RANGES: ClassVar[Dict[str, Range]] = {}

    def to_dict(self) -> Dict[str, Any]:
        """Plain nested dict of JSON-able values."""
        return _to_plain(self)

    def check_ranges(self) -> None:
        """Check every field named in ``RANGES``, and every field declared ``bool``; the first
        bad one raises one :class:`~edge_rppg.errors.ConfigError` naming ``Class.field``, its
        allowed range (or "True or False") and the value given. ``None`` passes for a field
        whose default is ``None`` (not set)."""
        for f in dataclasses.fields(self):
            if f.type in ("bool", bool):
                value = getattr(self, f.name)
                if not isinstance(value, (bool, _NP_BOOL)):
                    raise ConfigError(f"{type(self).__name__}.{f.name} must be True or False, got {value!r}")
                object.__setattr__(self, f.name, bool(value))
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        for name, rng in self.RANGES.items():
            value = getattr(self, name)
            if value is None and defaults.get(name, dataclasses.MISSING) is None:
                continue
            why = rng.problem(value)
            if why:
                raise ConfigError(f"{type(self).__name__}.{name} {why}")
            object.__setattr__(self, name, rng.coerce(value))

    def nest(self, classes: Mapping[str, type]) -> None:
        """Fields that hold a nested config (``classes``: field → its class): a dict becomes
        that class (``from_dict``), anything else but an instance is a ``ConfigError``."""
        for name, cls in classes.items():
            value = getattr(self, name)
            if isinstance(value, dict):
                object.__setattr__(self, name, cls.from_dict(value))  # type: ignore[attr-defined]
            elif not isinstance(value, cls):
                raise ConfigError(f"{type(self).__name__}.{name} must be a {cls.__name__} or its dict, "
                                  f"got {type(value).__name__}")

    def require(self, rules: Mapping[str, bool]) -> None:
        """Check field values in ``__post_init__``: ``rules`` maps each rule, as a user reads
        it (``"hop_s > 0"``), to whether it holds; any that fail raise one
        :class:`~edge_rppg.errors.ConfigError` naming them all and the values given."""
        bad = [rule for rule, ok in rules.items() if not ok]
        if bad:
            raise ConfigError(f"{type(self).__name__}: expected {'; '.join(bad)}; got {self}")

    @classmethod
    def from_dict(cls: Type[C], data: Dict[str, Any]) -> C:
        """Build from a dict; unknown keys raise :class:`~edge_rppg.errors.ConfigError` (a ``ValueError``) naming them."""
        if not isinstance(data, dict):
            raise ConfigError(f"{cls.__name__}: expected a mapping, got {type(data).__name__}")
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ConfigError(f"{cls.__name__}: unknown field(s) {unknown}; known: {sorted(fields)}")
        hints = typing.get_type_hints(cls)
        kwargs: Dict[str, Any] = {}
        for name, value in data.items():
            hint = hints.get(name)
            if isinstance(hint, type) and issubclass(hint, Config) and isinstance(value, dict):
                value = hint.from_dict(value)
            elif typing.get_origin(hint) is tuple and isinstance(value, list):
                value = tuple(value)
            kwargs[name] = value
        return cls(**kwargs)

    def to_json(self, indent: int = 2) -> str:
        """JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)

    @classmethod
    def from_json(cls: Type[C], text: str) -> C:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    def save(self, path: Union[str, Path]) -> Path:
        """Write to ``.json`` or ``.yaml``/``.yml`` (chosen by suffix)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix in (".yaml", ".yml"):
            import yaml

            path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=True))
        else:
            path.write_text(self.to_json())
        return path

    @classmethod
    def load(cls: Type[C], path: Union[str, Path]) -> C:
        """Read a file written by :meth:`save` (JSON or YAML by suffix)."""
        path = Path(path)
        text = path.read_text()
        if path.suffix in (".yaml", ".yml"):
            import yaml

            return cls.from_dict(yaml.safe_load(text) or {})
        return cls.from_dict(json.loads(text))
