"""Command-line flags made from the option dataclasses, so that a flag has the field's name
(``engine_hop_s`` → ``--engine-hop-s``), its type and its default, written once in the
dataclass (never retyped in a parser), and the options object is rebuilt from the flags.

``edge-rppg run`` takes :class:`~edge_rppg.processor.options.EdgeRPPGOptions` fields;
``run``, ``estimate`` and ``evaluate`` take the same landmarker flags
(:data:`LANDMARK_FLAGS`, :class:`~edge_rppg.face.options.LandmarkerOptions`).
"""
from __future__ import annotations

import argparse
import dataclasses
from typing import Any, Dict, Optional, Sequence, Tuple, Type

from ..face.options import LandmarkerOptions
from ..face.registry import DEFAULT_LANDMARKER, LANDMARKERS
from ..pulse.engines.registry import DELEGATES

__all__ = ["Flag", "add_flags", "values_of", "LANDMARK_FLAGS", "add_landmark_flags", "landmark_options"]


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
        if isinstance(default, bool):
            kw["action"] = argparse.BooleanOptionalAction
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
