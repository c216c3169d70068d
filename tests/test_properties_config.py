"""Property tests (Hypothesis) of the configuration boundary: the option dataclasses and the
numeric CLI flags that set them (issue 25).

Properties, for random values of every numeric field / flag (NaN, inf, huge and negative
numbers, text, None, booleans, lists):

- a config either builds, with every range-checked field inside its declared
  :class:`~edge_rppg.config.Range`, or raises :class:`~edge_rppg.errors.ConfigError` naming the
  field; never another exception;
- a numeric flag's parse either gives a value inside its range or an
  ``argparse.ArgumentTypeError`` (one line); never another exception;
- through the whole parser, a refused value is exit code 2 and exactly one stderr line naming
  the flag, and an accepted one is never blamed.

The number of examples and the seed policy come from the profile in tests/conftest.py
(``ci``: deterministic and bounded; ``long``: many random examples).
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import math
from typing import Any, Dict, List, Tuple, Type

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from edge_rppg.config import Config, Range  # noqa: E402
from edge_rppg.errors import ConfigError  # noqa: E402

#: The configs whose fields this boundary covers: "module:Class".
CONFIGS = [
    "edge_rppg.face.options:LandmarkerOptions",
    "edge_rppg.processor.options:EdgeRPPGOptions",
    "edge_rppg.processor.options:EstimateConfig",
    "edge_rppg.vitals.dsp.config:SignalConfig",
    "edge_rppg.vitals.validity:ValidityConfig",
    "edge_rppg.synth.video_gen:VideoSynthConfig",
    "edge_rppg.calibration.dataset:CalibrationConfig",
    "edge_rppg.calibration.quantize:QuantizeConfig",
    "edge_rppg.export.export_config:ExportConfig",
    "edge_rppg.export.equivalence:EquivalenceConfig",
]


def _load(spec: str) -> Type[Config]:
    modname, _, name = spec.partition(":")
    if "export" in modname or "calibration" in modname:
        pytest.importorskip("onnx")
    return getattr(importlib.import_module(modname), name)


#: Any value a user, a YAML/JSON file or a ``--set`` could put in a numeric field.
ANY_VALUE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, -1, 1, 2**31, 2**63, 10**400, float("nan"), float("inf"), -0.0, 1e-300, 1e300]),
    st.text(max_size=8), st.none(), st.booleans(), st.lists(st.integers(), max_size=3),
)


def _in_range(rng: Range) -> st.SearchStrategy:
    """Values inside ``rng`` (to check that the boundary also lets good values through)."""
    lo = rng.low if math.isfinite(rng.low) else -1e6
    hi = rng.high if math.isfinite(rng.high) else 1e6
    if rng.integer:
        lo_i, hi_i = math.ceil(lo + (1 if rng.low_open and lo == int(lo) else 0)), math.floor(hi - (1 if rng.high_open and hi == int(hi) else 0))
        return st.integers(min_value=lo_i, max_value=hi_i)
    return st.floats(min_value=lo, max_value=hi, exclude_min=rng.low_open, exclude_max=rng.high_open,
                     allow_nan=False, allow_infinity=False)


def _check_config(cls: Type[Config], data: Dict[str, Any]) -> None:
    """The property: ConfigError naming a field, or a config whose ranged fields are all in range."""
    try:
        cfg = cls.from_dict(data)
    except ConfigError as exc:
        msg = str(exc)
        assert "\n" not in msg.strip()
        assert any(name in msg for name in data) or not data, (data, msg)
        return
    defaults = {f.name: f.default for f in dataclasses.fields(cls)}
    for name, rng in cls.RANGES.items():
        value = getattr(cfg, name)
        if value is None and defaults.get(name) is None:  # an optional field left unset
            continue
        assert rng.problem(value) is None, (name, value)


@pytest.mark.parametrize("spec", CONFIGS)
@given(data=st.data())
def test_config_field_any_value(spec: str, data: st.DataObject) -> None:
    """One field at a time, any value: ConfigError or success, never another exception."""
    cls = _load(spec)
    name = data.draw(st.sampled_from(sorted(cls.RANGES)), label="field")
    value = data.draw(ANY_VALUE, label="value")
    _check_config(cls, {name: value})


@pytest.mark.parametrize("spec", CONFIGS)
@given(data=st.data())
def test_config_many_fields(spec: str, data: st.DataObject) -> None:
    """Several fields at once, each in range or anything: the same property."""
    cls = _load(spec)
    names = data.draw(st.lists(st.sampled_from(sorted(cls.RANGES)), unique=True, max_size=6), label="fields")
    values = {n: data.draw(st.one_of(_in_range(cls.RANGES[n]), ANY_VALUE), label=n) for n in names}
    _check_config(cls, values)


@pytest.mark.parametrize("spec", CONFIGS)
@given(data=st.data())
def test_config_in_range_is_accepted(spec: str, data: st.DataObject) -> None:
    """A value inside a field's declared range is accepted (the range says what is allowed,
    not less): building the config with it alone succeeds and keeps the value."""
    cls = _load(spec)
    name = data.draw(st.sampled_from(sorted(cls.RANGES)), label="field")
    value = data.draw(_in_range(cls.RANGES[name]), label="value")
    cfg = cls.from_dict({name: value})
    assert getattr(cfg, name) == value


# ----------------------------------------------------------------------------- CLI flags
def _numeric_flags() -> List[Tuple[str, str, Any]]:
    """(command, flag, its argparse type) for every numeric flag of every command."""
    from edge_rppg.cli.flags import NumberFlag
    from edge_rppg.cli.main import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    out = []
    for cmd, p in sub.choices.items():
        for action in p._actions:
            if isinstance(action.type, NumberFlag) or action.type in (int, float):
                out.append((cmd, (action.option_strings or [action.dest])[0], action.type))
    return out


FLAGS = _numeric_flags()


def test_every_numeric_flag_is_bounded() -> None:
    """No numeric flag of any command is a plain int/float (which would take NaN, inf, 1e400)."""
    from edge_rppg.cli.flags import NumberFlag

    assert len(FLAGS) >= 20
    plain = [(c, f) for c, f, t in FLAGS if not isinstance(t, NumberFlag)]
    assert not plain, plain


@pytest.mark.parametrize("cmd,flag_name,kind", [pytest.param(c, f, t, id=f"{c} {f}") for c, f, t in FLAGS])
@given(text=st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers().map(str),
                      st.sampled_from(["nan", "NaN", "inf", "-inf", "1e400", "-1", "0", "", "1e9", "0x10", " 5 "]),
                      st.text(max_size=6)))
def test_flag_parse(cmd: str, flag_name: str, kind: Any, text: str) -> None:
    """A flag's value is in its range or refused with ``ArgumentTypeError``; nothing else."""
    try:
        value = kind(text)
    except argparse.ArgumentTypeError as exc:
        assert "must be" in str(exc) and "\n" not in str(exc)
        return
    assert kind.range.problem(value) is None, (text, value)
    assert math.isfinite(value)


@pytest.mark.parametrize("cmd,flag_name,kind", [pytest.param(c, f, t, id=f"{c} {f}") for c, f, t in FLAGS
                                                 if f.startswith("--")])
@given(text=st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                      st.integers(min_value=-(10**20), max_value=10**20).map(str),
                      st.text(max_size=6).filter(lambda s: s != "--")))   # "--" is argparse's own separator
def test_flag_on_the_command_line(cmd: str, flag_name: str, kind: Any, text: str) -> None:
    """The whole parser: a bad value ends the command with exit code 2 and exactly one stderr line
    naming the flag; a good one is never blamed (what else the command lacks is another error)."""
    import contextlib
    import io

    from edge_rppg.cli.main import build_parser

    parser = build_parser()
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as info:
        parser.parse_args([cmd, f"{flag_name}={text}"])
        raise SystemExit(0)  # parsed: the value was accepted (and nothing else was required)
    lines = [ln for ln in err.getvalue().splitlines() if ln.strip()]
    bad = kind.range.problem(_parsed_or_none(kind, text)) is not None
    if bad:
        assert info.value.code == 2 and len(lines) == 1, err.getvalue()
        assert lines[0].startswith(f"edge-rppg {cmd}: error: argument {flag_name}"), lines
    else:
        assert not any(f"argument {flag_name}" in ln for ln in lines), lines
        assert len(lines) <= 1, lines


def _parsed_or_none(kind: Any, text: str) -> Any:
    try:
        return kind(text)
    except argparse.ArgumentTypeError:
        return None
