"""Every ```python block of README.md runs as written (issue 12: the README's own
``from edge_rppg import estimate; estimate("face.mp4")`` once raised TypeError).

The only substitutions are the user's own inputs: ``"face.mp4"`` becomes a synthesized
face clip, and ``camera`` an iterator of ``(frame, timestamp)`` over that clip's frames.
A block that prints must print something (its numbers reached the user).
"""
from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Iterator, List, Tuple

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def python_blocks() -> List[str]:
    """The ```python fenced blocks of the README, in order."""
    return re.findall(r"^```python\n(.*?)^```", README.read_text(), flags=re.S | re.M)


@pytest.fixture(scope="module")
def face_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12 s synthetic face video (small frames, 72 bpm) standing in for face.mp4."""
    from edge_rppg.synth.video_gen import PRESETS, synth_video

    cfg = PRESETS["still"]
    cfg = type(cfg).from_dict({**cfg.to_dict(), "duration_s": 12.0, "hr_bpm": 72.0, "width": 160, "height": 120})
    path = tmp_path_factory.mktemp("readme") / "face.avi"
    synth_video(path, cfg, seed=5)
    return path


def camera_frames(path: Path) -> Iterator[Tuple[np.ndarray, float]]:
    """``(RGB frame, timestamp s)`` of a video, as a camera would deliver them."""
    from edge_rppg.frames.video import open_video

    with open_video(path) as reader:
        for i, frame in enumerate(reader):
            yield frame, i / reader.fps


def import_submodules() -> None:
    """Import every top-level submodule of ``edge_rppg`` (skipping missing optional extras)."""
    import importlib
    import pkgutil

    import edge_rppg

    for mod in pkgutil.iter_modules(edge_rppg.__path__):
        try:
            importlib.import_module(f"edge_rppg.{mod.name}")
        except ImportError:
            pass


def test_readme_has_python_blocks() -> None:
    assert len(python_blocks()) >= 2


@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_readme_block_runs(index: int, face_clip: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = python_blocks()[index].replace('"face.mp4"', repr(str(face_clip))).replace("'face.mp4'", repr(str(face_clip)))
    monkeypatch.chdir(ROOT)  # the README's paths are relative to the repository
    import_submodules()  # as a user's other code would: a submodule must not shadow a public name
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"README.md block {index}", "exec"), {"camera": camera_frames(face_clip), "__name__": "readme"})
    if re.search(r"^print\(", code, flags=re.M):
        assert out.getvalue().strip(), "the block's top-level print printed nothing"
