"""Dataclass configs that serialise to JSON or YAML.

Every config in the project (synthetic data, model, training, export, engines,
runtime) subclasses :class:`Config`, so it can be saved next to every checkpoint,
ONNX file and engine, and loaded back with type checks on the field names.
"""
from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path
from typing import Any, Dict, Mapping, Type, TypeVar, Union

from .errors import ConfigError

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


@dataclasses.dataclass
class Config:
    """Base class: ``to_dict``/``from_dict``, ``to_json``/``from_json``, ``save``/``load``."""

    def to_dict(self) -> Dict[str, Any]:
        """Plain nested dict of JSON-able values."""
        return _to_plain(self)

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
