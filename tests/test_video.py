"""Video and image-folder I/O: lossless round trips, error types, no silent format conversion."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge_rppg.errors import FrameFormatError, VideoReadError, VideoWriteError
from edge_rppg.frames.video import iter_frames_checked, open_video, write_video


def _frames(n: int = 8, h: int = 48, w: int = 64, seed: int = 0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    # tiny per-frame changes, like an rPPG signal: must survive the codec exactly
    return [np.clip(base.astype(np.int16) + (i % 3) - 1, 0, 255).astype(np.uint8) for i in range(n)]


@pytest.mark.parametrize("name", ["clip.avi", "clip.mkv", "clip_frames"])
def test_lossless_round_trip(tmp_path, name):
    frames = _frames()
    path = tmp_path / name
    assert write_video(path, iter(frames), fps=25.0) == len(frames)
    with open_video(path, fps=None if path.suffix else 25.0) as reader:
        assert reader.size == (64, 48)
        assert reader.fps == pytest.approx(25.0)
        assert reader.frame_count == len(frames)
        got = list(iter_frames_checked(reader))
    assert len(got) == len(frames)
    for a, b in zip(frames, got):
        assert b.dtype == np.uint8 and b.shape == (48, 64, 3)
        np.testing.assert_array_equal(a, b)          # bit-exact, channel order RGB


def test_rgb_order_is_preserved(tmp_path):
    red = np.zeros((32, 32, 3), np.uint8)
    red[..., 0] = 200
    write_video(tmp_path / "red.avi", [red] * 2, fps=30)
    with open_video(tmp_path / "red.avi") as r:
        first = next(iter(r))
    assert first[..., 0].min() == 200 and first[..., 1:].max() == 0


def test_mp4_is_lossy_and_warns(tmp_path):
    with pytest.warns(UserWarning, match="lossy"):
        write_video(tmp_path / "c.mp4", _frames(3), fps=30)
    with open_video(tmp_path / "c.mp4") as r:
        assert len(list(r)) == 3


def test_write_errors(tmp_path):
    with pytest.raises(ValueError, match="suffix"):
        write_video(tmp_path / "x.gif", _frames(2), fps=30)
    with pytest.raises(VideoWriteError, match="no frames"):
        write_video(tmp_path / "x.avi", [], fps=30)
    with pytest.raises(FrameFormatError):
        write_video(tmp_path / "y.avi", [np.zeros((32, 32), np.uint8)], fps=30)
    with pytest.raises(FrameFormatError, match="like the first"):
        write_video(tmp_path / "z.avi", [np.zeros((32, 32, 3), np.uint8), np.zeros((40, 32, 3), np.uint8)], fps=30)


def test_missing_file(tmp_path):
    with pytest.raises(VideoReadError, match="nope.avi"):
        open_video(tmp_path / "nope.avi")


def test_text_file_renamed_avi(tmp_path):
    p = tmp_path / "notes.avi"
    p.write_text("this is not a video\n" * 20)
    with pytest.raises(VideoReadError, match="notes.avi") as e:
        open_video(p)
    assert "\n" not in str(e.value)


def test_zero_frame_video(tmp_path):
    p = tmp_path / "empty.avi"
    w = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*"HFYU"), 30, (64, 48))
    w.release()
    assert p.exists()
    with pytest.raises(VideoReadError, match="empty.avi"):
        open_video(p)


def test_empty_folder_and_bad_image(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(VideoReadError, match="empty"):
        open_video(tmp_path / "empty")
    d = tmp_path / "broken"
    d.mkdir()
    (d / "0001.png").write_bytes(b"not a png")
    with pytest.raises(VideoReadError, match="0001.png"):
        open_video(d)


@pytest.mark.parametrize("kind", ["uint16", "rgba", "gray"])
def test_png_folder_formats_are_not_converted(tmp_path, kind):
    img = {"uint16": np.full((32, 32, 3), 40000, np.uint16),
           "rgba": np.full((32, 32, 4), 100, np.uint8),
           "gray": np.full((32, 32), 100, np.uint8)}[kind]
    d = tmp_path / kind
    d.mkdir()
    for i in range(2):
        assert cv2.imwrite(str(d / f"Image{i:03d}.png"), img)
    with open_video(d, fps=30) as r:
        raw = next(iter(r))
    assert raw.dtype == img.dtype and raw.shape == img.shape       # delivered as stored
    with open_video(d, fps=30) as r, pytest.raises(FrameFormatError):
        list(iter_frames_checked(r))


def test_grayscale_video_is_rejected(tmp_path):
    p = tmp_path / "gray.mkv"
    w = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*"FFV1"), 30, (64, 48), isColor=False)
    for _ in range(3):
        w.write(np.full((48, 64), 90, np.uint8))
    w.release()
    with open_video(p) as r, pytest.raises(FrameFormatError, match="grayscale"):
        list(iter_frames_checked(r))


@pytest.mark.parametrize("bad", [None, "frame", np.zeros((32, 32), np.uint8), np.zeros((32, 32, 1), np.uint8),
                                 np.zeros((32, 32, 4), np.uint8), np.zeros((32, 32, 3), np.uint16),
                                 np.zeros((32, 32, 3), np.float32)])
def test_iter_frames_checked_rejects(bad):
    ok = np.zeros((32, 32, 3), np.uint8)
    it = iter_frames_checked([ok, bad])
    assert next(it) is ok
    with pytest.raises(FrameFormatError):
        next(it)


def test_folder_frames_are_sorted_naturally(tmp_path):
    d = tmp_path / "seq"
    d.mkdir()
    for i in [10, 1, 2]:
        cv2.imwrite(str(d / f"Image{i}.png"), np.full((16, 16, 3), i * 10, np.uint8))
    with open_video(d, fps=30) as r:
        assert r.fps == 30 and len(r) == 3
        assert [int(f[0, 0, 0]) for f in r] == [10, 20, 100]       # natural order: 1, 2, 10
    with open_video(d) as r:
        assert r.fps is None           # an image folder has no intrinsic rate


# ------------------------------------------------------------------ decode thread
def _decode_threads():
    import threading
    return [t for t in threading.enumerate() if t.name.startswith("decode:")]


@pytest.mark.parametrize("prefetch", [0, 1, 3, 8])
def test_threaded_decode_yields_the_same_frames(tmp_path, prefetch):
    frames = _frames(12)
    write_video(tmp_path / "c.avi", frames, fps=25.0)
    with open_video(tmp_path / "c.avi", prefetch=prefetch) as r:
        got = list(r)
    assert len(got) == 12
    for a, b in zip(frames, got):
        np.testing.assert_array_equal(a, b)
    assert _decode_threads() == []


def test_early_exit_stops_the_decode_thread(tmp_path):
    write_video(tmp_path / "c.avi", _frames(40), fps=25.0)
    with open_video(tmp_path / "c.avi", prefetch=2) as r:
        for i, _ in enumerate(r):
            if i == 3:
                assert len(_decode_threads()) == 1
                break
    assert _decode_threads() == []
    # close() while a generator is still suspended mid-stream also joins the thread
    r = open_video(tmp_path / "c.avi", prefetch=2)
    it = iter(r)
    next(it), next(it)
    assert len(_decode_threads()) == 1
    r.close()
    assert _decode_threads() == []
    it.close()


def test_decode_queue_is_bounded(tmp_path, monkeypatch):
    import time

    import edge_rppg.frames.video as video

    d = tmp_path / "frames"
    write_video(d, _frames(30), fps=25.0)
    decoded = []
    real = video._read_image
    monkeypatch.setattr(video, "_read_image", lambda p: decoded.append(p) or real(p))
    with open_video(d, fps=25, prefetch=4) as r:
        it = iter(r)
        next(it), next(it)       # the thread is running now
        for _ in range(200):     # wait (bounded) until the producer blocks on the full queue
            if r._decoder is not None and r._decoder._queue.full():
                break
            time.sleep(0.01)
        assert r._decoder is not None and r._decoder._queue.full()
        # 1 (first, read at open) + 1 consumed + 4 queued + at most 1 waiting to be put
        assert len(decoded) <= 1 + 1 + 4 + 1
        assert len(list(it)) == 28
    assert _decode_threads() == []


def test_error_in_decode_thread_surfaces_in_consumer(tmp_path):
    d = tmp_path / "frames"
    write_video(d, _frames(6), fps=25.0)
    (d / "frame_000003.png").write_bytes(b"not a png")
    with open_video(d, fps=25, prefetch=4) as r:
        got = []
        with pytest.raises(VideoReadError, match="frame_000003"):
            for f in r:
                got.append(f)
    assert len(got) == 3            # frames before the broken one arrive, in order
    assert _decode_threads() == []


def test_prefetch_must_not_be_negative(tmp_path):
    write_video(tmp_path / "c.avi", _frames(2), fps=25.0)
    with pytest.raises(ValueError, match="prefetch"):
        open_video(tmp_path / "c.avi", prefetch=-1)


def test_abandoned_iteration_does_not_leak_the_decode_thread(tmp_path):
    import gc

    write_video(tmp_path / "c.avi", _frames(30), fps=25.0)
    r = open_video(tmp_path / "c.avi", prefetch=2)
    it = iter(r)
    next(it), next(it)
    assert len(_decode_threads()) == 1
    del it, r            # never closed, never exhausted
    gc.collect()
    assert _decode_threads() == []
