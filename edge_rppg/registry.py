"""A tiny name → object registry used for models, classic methods, engines, dataset
readers, sources and CLI commands, so that dispatch is a dict lookup rather than an
``if/elif`` chain repeated across files."""
from __future__ import annotations

from typing import Callable, Dict, Generic, Iterator, List, TypeVar

from .errors import UnknownNameError

T = TypeVar("T")


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

    def get(self, name: str) -> T:
        """Return the object registered under ``name`` (case-insensitive); an unknown name
        raises :class:`~edge_rppg.errors.UnknownNameError` (a ``KeyError``) listing the known ones."""
        try:
            return self._items[name.lower()]
        except KeyError:
            known = ", ".join(sorted(self._items)) or "none"
            raise UnknownNameError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def names(self) -> List[str]:
        """Sorted registered names."""
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
