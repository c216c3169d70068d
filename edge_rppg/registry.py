"""A tiny name → object registry used for models, classic methods, landmarkers, dataset
readers, sources and CLI commands, so that dispatch is a dict lookup rather than an
``if/elif`` chain repeated across files.

An entry may be added *lazily*, as ``"package.module:Attribute"``: the module is imported
the first time the name is looked up, so a registry can name its built-in entries without
importing them (no import side effects, no import cycles).
"""
from __future__ import annotations

import importlib
from typing import Any, Callable, Dict, Generic, Iterator, List, TypeVar

from .errors import UnknownNameError

T = TypeVar("T")


class _Lazy:
    """A registry entry still named by ``"module:attribute"``."""

    def __init__(self, target: str) -> None:
        if ":" not in target:
            raise ValueError(f"a lazy registry entry is 'module:attribute', got {target!r}")
        self.target = target

    def load(self) -> Any:
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)


class Registry(Generic[T]):
    """Maps lower-case names to objects; ``get`` fails with the list of known names."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: Dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: ``@REG.register("pos")`` adds the decorated object under ``name``."""

        def deco(obj: T) -> T:
            self.add(name, obj)
            return obj

        return deco

    def add(self, name: str, obj: T) -> None:
        """Add ``obj`` under ``name``; a duplicate name is a programming error."""
        key = name.lower()
        if key in self._items:
            raise KeyError(f"{self.kind} {name!r} is already registered")
        self._items[key] = obj

    def add_lazy(self, name: str, target: str) -> None:
        """Add ``name`` as ``"module:attribute"``, imported at its first :meth:`get`."""
        self.add(name, _Lazy(target))  # type: ignore[arg-type]

    def get(self, name: str) -> T:
        """Return the object registered under ``name`` (case-insensitive); an unknown name
        raises :class:`~edge_rppg.errors.UnknownNameError` (a ``KeyError``) listing the known ones."""
        key = str(name).lower()
        try:
            item = self._items[key]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise UnknownNameError(f"unknown {self.kind} {name!r}; known: {known}") from None
        if isinstance(item, _Lazy):
            item = self._items[key] = item.load()
        return item

    def names(self) -> List[str]:
        """Sorted registered names."""
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
