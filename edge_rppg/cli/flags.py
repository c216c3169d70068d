"""Command-line flags made from the option dataclasses, so that a flag has the field's name
(``engine_hop_s`` → ``--engine-hop-s``), its type and its default, written once in the
dataclass (never retyped in a parser), and the options object is rebuilt from the flags.

``edge-rppg run`` takes :class:`~edge_rppg.processor.options.EdgeRPPGOptions` fields;
``run``, ``estimate`` and ``evaluate`` take the same landmarker flags
(:data:`LANDMARK_FLAGS`, :class:`~edge_rppg.face.options.LandmarkerOptions`).

Numeric flags refuse what their setting refuses, at parse time (issue 25): a value that is not
a finite number in the flag's :class:`~edge_rppg.config.Range` ends the command with one line
(``edge-rppg CMD: error: argument --flag: must be ...``) and exit code 2, before anything is
loaded or allocated.

- :func:`field_flag` ties a flag to a config field: the flag inherits the field's range from
  the config's ``RANGES`` (the config stays the one place that says what is allowed; the config
  class is imported only when the flag is given, so ``--help`` stays fast); :func:`add_flags`
  does the same for a field that has a ``RANGES`` entry;
- :func:`flag` gives a flag its own range (a count, a seed);
- :func:`bound_numeric_flags` (run on every parser by :func:`edge_rppg.cli.main.build_parser`)
  turns any flag still declared as plain ``type=int`` / ``type=float`` into a finite,
  non-negative one: a new flag cannot slip past with NaN, inf or a meaningless negative.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import math
import sys
from typing import Any, Dict, NoReturn, Optional, Sequence, Tuple, Type, Union

from ..config import Range, number_from_text
from ..face.options import LandmarkerOptions
from ..face.registry import DEFAULT_LANDMARKER, LANDMARKERS
from ..pulse.engines.registry import DELEGATES

__all__ = ["Flag", "add_flags", "values_of", "LANDMARK_FLAGS", "add_landmark_flags", "landmark_options",
           "SEED", "NumberFlag", "flag", "field_flag", "bound_numeric_flags", "OneLineParser"]


@dataclasses.dataclass(frozen=True)
class Flag:
    """One flag for a dataclass ``field``: ``--field-name`` unless ``flag`` says otherwise;
    ``type`` defaults to the type of the field's default value."""

    field: str
    help: str
    flag: Optional[str] = None
    type: Optional[type] = None
    choices: Optional[Sequence[str]] = None

    @property
    def name(self) -> str:
        """The flag as typed: ``--field-name``."""
        return self.flag or "--" + self.field.replace("_", "-")

    @property
    def dest(self) -> str:
        """Where argparse puts the value."""
        return self.name.lstrip("-").replace("-", "_")


def add_flags(parser: argparse.ArgumentParser, defaults: Any, flags: Sequence[Flag]) -> None:
    """Add ``flags`` to ``parser`` with the defaults of the options object ``defaults``."""
    for f in flags:
        default = getattr(defaults, f.field)
        ftype = f.type or (type(default) if default is not None and not isinstance(default, bool) else None)
        kw: Dict[str, Any] = {"default": default, "help": f.help, "dest": f.dest}
        ranges = getattr(type(defaults), "RANGES", {})
        if isinstance(default, bool):
            kw["action"] = argparse.BooleanOptionalAction
        elif f.type is None and f.field in ranges:  # the field's own range, checked at parse time
            kw["type"] = NumberFlag(ranges[f.field])
        else:
            kw["type"] = ftype
        if f.choices is not None:
            kw["choices"] = list(f.choices)
        parser.add_argument(f.name, **kw)


def values_of(args: argparse.Namespace, flags: Sequence[Flag]) -> Dict[str, Any]:
    """``{field: value}`` of ``flags`` as parsed into ``args``."""
    return {f.field: getattr(args, f.dest) for f in flags}


#: The landmarker's flags (the same on ``run``, ``estimate`` and ``evaluate``).
LANDMARK_FLAGS: Tuple[Flag, ...] = (
    Flag("delegate", "ONNX Runtime execution provider of the ONNX face models", flag="--landmark-delegate",
         choices=DELEGATES),
    Flag("max_num_faces", "faces tracked (the largest, or the first in a file, is measured)"),
    Flag("mesh_rate_hz", "face-mesh runs per second of stream time while a face is tracked (0: every frame)"),
    Flag("refresh_motion", "a tracked face that moved this fraction of its size gets a mesh run at once (0: off)"),
    Flag("detect_rate_hz", "with several faces, how often mesh runs look for new ones (0: every run)"),
    Flag("settle_passes", "extra mesh passes when a face is (re)acquired"),
)


def add_landmark_flags(parser: argparse.ArgumentParser, defaults: LandmarkerOptions) -> None:
    """``--landmark-model`` and :data:`LANDMARK_FLAGS`, with ``defaults``' values."""
    parser.add_argument("--landmark-model", default=DEFAULT_LANDMARKER,
                        help=f"one of {', '.join(LANDMARKERS.names())}: onnx is the bundled ONNX face models, "
                             f"mediapipe mediapipe's FaceMesh, the reference (needs the [mediapipe] extra)")
    add_flags(parser, defaults, LANDMARK_FLAGS)


def landmark_options(args: argparse.Namespace, cls: Type[LandmarkerOptions] = LandmarkerOptions) -> LandmarkerOptions:
    """The :class:`LandmarkerOptions` the landmarker flags describe (checked by the dataclass)."""
    return cls(**values_of(args, LANDMARK_FLAGS))


# ----------------------------------------------------------------------------- numeric flags (issue 25)
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
        value = number_from_text(text)
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
