"""Gray frames from the camera runtime's sources: GStreamer negotiates GRAY16_LE/GRAY8 for a
gray stream (real GStreamer; skipped where PyGObject is missing), the V4L2/CSI URIs take a
``format=``, and the OpenCV source gives a GRAY8 file's one channel."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge_rppg.errors import ConfigError
from edge_rppg.frames.video import write_video
from edge_rppg.runtime.gst_source import APPSINK_FORMATS, GstSource, gst_available
from edge_rppg.runtime.uri import RAW_FORMATS, open_source

GST_WHY = gst_available()
needs_gst = pytest.mark.skipif(GST_WHY is not None, reason=f"GStreamer via PyGObject not importable: {GST_WHY}")


def test_gray_appsink_caps_ask_for_gray16_or_gray8() -> None:
    src = GstSource("videotestsrc num-buffers=3")
    assert "format=RGB" in src.description()
    src.color_space = "gray"
    desc = src.description()
    assert "GRAY16_LE" in desc and "GRAY8" in desc and "format=RGB" not in desc


@needs_gst
@pytest.mark.parametrize("fmt, dtype", [("GRAY16_LE", np.uint16), ("GRAY8", np.uint8)])
def test_gstreamer_delivers_gray_frames_at_their_depth(fmt: str, dtype: type) -> None:
    src = open_source(f"gst:videotestsrc num-buffers=4 pattern=gradient ! video/x-raw,format={fmt},width=64,height=48",
                      color_space="gray")
    frames = [f for f, _ in src.frames()]
    assert len(frames) == 4 and src.end_reason == "eos"
    assert frames[0].shape == (48, 64) and frames[0].dtype == dtype
    assert int(frames[0].max()) > (255 if dtype == np.uint16 else 0)


def test_v4l2_uri_takes_a_format() -> None:
    assert RAW_FORMATS["Y16"] == "GRAY16_LE" and RAW_FORMATS["Y8"] == "GRAY8"
    with pytest.raises(ConfigError, match="format"):
        open_source("v4l2:///dev/video0?format=Y99", backend="opencv")
    src = open_source("v4l2:///dev/video0?format=Y16", backend="opencv", color_space="gray")
    assert src.color_space == "gray"


@needs_gst
def test_v4l2_gray16_launch_line() -> None:
    src = open_source("v4l2:///dev/video0?format=Y16", backend="gst", color_space="gray")
    desc = src.description()
    assert "v4l2src" in desc and "format=GRAY16_LE" in desc and APPSINK_FORMATS["gray"] in desc


def test_opencv_source_gives_a_gray8_files_channel(tmp_path: Path) -> None:
    frames = [np.random.default_rng(i).integers(0, 256, (48, 64), dtype=np.uint8) for i in range(5)]
    path = tmp_path / "g.avi"
    write_video(path, frames, 30.0, color_space="gray")
    gray = [f for f, _ in open_source(str(path), backend="opencv", color_space="gray").frames()]
    rgb = [f for f, _ in open_source(str(path), backend="opencv").frames()]
    assert len(gray) == 5 and gray[0].shape == (48, 64)
    for a, b in zip(gray, frames):
        np.testing.assert_array_equal(a, b)
    assert rgb[0].shape == (48, 64, 3)   # the colour stream gets what OpenCV decodes: its check then refuses it
