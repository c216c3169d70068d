"""Entry point of the ``edge-rppg`` console script.

Each sub-command lives in its own module that defines ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``. Heavy imports stay inside
``run`` so that ``edge-rppg --help`` is fast. Errors the user can cause are printed
as one line on stderr with exit code 2: exactly the :class:`~edge_rppg.errors.EdgeRPPGError`
subtypes (every error the SDK raises on purpose) and ``OSError`` (missing files,
permissions). Anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import math
import os
import sys
from types import ModuleType
from typing import Any, Dict, Iterator, List, Optional

from ..errors import ConfigError, EdgeRPPGError
from .flags import OneLineParser, bound_numeric_flags

# sub-command name -> module implementing it (lazy: imported when the CLI starts)
COMMAND_MODULES: Dict[str, str] = {
    "demo": "edge_rppg.cli.demo",
    "estimate": "edge_rppg.cli.estimate",
    "synth": "edge_rppg.cli.synth",
    "evaluate": "edge_rppg.cli.evaluate",
    "train": "edge_rppg.training.cli_train",
    "eval": "edge_rppg.training.cli_eval",
    "export": "edge_rppg.export.cli",
    "calibrate": "edge_rppg.calibration.cli",
    "build-engine": "edge_rppg.runtime.cli_build_engine",
    "run": "edge_rppg.runtime.cli_run",
}

#: old command names kept one release: not listed in --help, and they say what replaces them
DEPRECATED: Dict[str, str] = {"eval": "evaluate --checkpoint"}

# errors that are the user's input or environment, not a bug: one line, exit 2
USER_ERRORS = (EdgeRPPGError, OSError)


def _load_commands() -> Dict[str, ModuleType]:
    mods: Dict[str, ModuleType] = {}
    for name, modname in COMMAND_MODULES.items():
        try:
            mods[name] = importlib.import_module(modname)
        except ModuleNotFoundError as exc:  # a stage package not installed / not built yet
            if exc.name and (modname.startswith(exc.name) or exc.name == modname):
                continue
            raise
    return mods


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every available sub-command."""
    parser = OneLineParser(
        prog="edge-rppg",
        description="Camera-based heart rate, HRV and respiration (rPPG) for edge devices.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, mod in _load_commands().items():
        listed = {} if name in DEPRECATED else {"help": mod.HELP}  # a deprecated name is hidden from --help
        p = sub.add_parser(name, description=getattr(mod, "DESCRIPTION", mod.HELP),
                           formatter_class=argparse.ArgumentDefaultsHelpFormatter, **listed)
        mod.add_arguments(p)
        bound_numeric_flags(p)
        p.set_defaults(_mod=mod)
    return parser


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send what native libraries (MediaPipe's TFLite/glog) write to file descriptor 2
    to /dev/null, while Python's ``sys.stderr`` (progress bars, errors) still reaches
    the terminal. Their start-up chatter would otherwise break the one-line error
    contract. ``EDGE_RPPG_NATIVE_LOGS=1`` keeps them for debugging."""
    if os.environ.get("EDGE_RPPG_NATIVE_LOGS"):
        yield
        return
    sys.stderr.flush()
    saved_fd = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    old_stderr = sys.stderr
    sys.stderr = os.fdopen(os.dup(saved_fd), "w", buffering=1)
    try:
        yield
    finally:
        sys.stderr.flush()
        sys.stderr.close()
        sys.stderr = old_stderr
        os.dup2(saved_fd, 2)
        os.close(saved_fd)


def json_safe(obj: Any) -> Any:
    """``obj`` with every NaN/inf float replaced by ``None`` and numpy scalars made Python
    numbers, so that ``json.dumps(..., allow_nan=False)`` writes strict JSON (``NaN`` is not JSON)."""
    if type(obj).__module__ == "numpy" and getattr(obj, "ndim", None) == 0:
        obj = obj.item()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def strict_json(obj: Any, **kwargs: Any) -> str:
    """JSON text of :func:`json_safe` (``obj``): what every ``--json`` option prints."""
    return json.dumps(json_safe(obj), allow_nan=False, **kwargs)


def checked_number(name: str, value: Optional[float], low: float, high: float,
                   low_open: bool = True) -> Optional[float]:
    """``value`` unless it is outside ``(low, high]`` (``[low, high]`` when not ``low_open``) or
    not finite: then ``ConfigError`` naming the option. ``None`` (option not given) passes."""
    if value is None:
        return None
    ok = math.isfinite(value) and (value > low if low_open else value >= low) and value <= high
    if not ok:
        raise ConfigError(f"{name} must be in {'(' if low_open else '['}{low:g}, {high:g}], got {value:g}")
    return value


def _message(exc: BaseException) -> str:
    text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return " ".join(text.split()) or type(exc).__name__


def _silence_native_stderr_for_good() -> None:
    """Point file descriptor 2 at /dev/null for the rest of the process. MediaPipe's worker
    threads and destructors log after a failed command has returned (a graph started just
    before the error, objects freed at exit); once the one-line error is out, nothing may follow."""
    if os.environ.get("EDGE_RPPG_NATIVE_LOGS"):
        return
    sys.stderr.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def run_command(name: str, mod: ModuleType, args: argparse.Namespace, exiting: bool = False) -> int:
    """Run one command module with the CLI's error contract: a user error is one line
    on stderr and exit code 2, native library chatter is kept off stderr. ``exiting``: the
    process ends after this command (the console script), so after a user error native
    stderr stays silenced until exit."""
    try:
        with native_stderr_silenced():
            return int(mod.run(args) or 0)
    except USER_ERRORS as exc:
        print(f"edge-rppg {name}: error: {_message(exc)}", file=sys.stderr)
        if exiting:
            _silence_native_stderr_for_good()
        return 2
    except KeyboardInterrupt:
        print(f"edge-rppg {name}: interrupted", file=sys.stderr)
        return 130


def standalone_main(name: str, mod: ModuleType, argv: Optional[List[str]] = None) -> int:
    """``python -m <command module>`` entry (e.g. under ``torchrun``): the same parser
    and error handling as ``edge-rppg <name>``."""
    parser = OneLineParser(prog=f"edge-rppg {name}", description=getattr(mod, "DESCRIPTION", mod.HELP),
                           formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    mod.add_arguments(parser)
    bound_numeric_flags(parser)
    return run_command(name, mod, parser.parse_args(argv), exiting=argv is None)


def main(argv: Optional[List[str]] = None) -> int:
    """Parse ``argv`` and run the sub-command; returns the process exit code. Without
    ``argv`` (the console script, ``sys.argv``) the process is about to exit with it."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a one-line usage error (2): a return code, as for any command
        if argv is None:
            raise
        return exc.code if isinstance(exc.code, int) else 2
    if not getattr(args, "_mod", None):
        parser.print_help()
        return 2
    return run_command(args.command, args._mod, args, exiting=argv is None)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
