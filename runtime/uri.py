"""Source URIs → :class:`~edge_rppg.runtime.source_base.Source` objects (:func:`open_source`);
the table of schemes is in :mod:`edge_rppg.runtime.sources`."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple
from urllib.parse import parse_qsl

from edge_rppg.config import Range, number_from_text
from edge_rppg.errors import ConfigError, SourceError
from edge_rppg.registry import Registry

from .cv_source import CvSource
from .gst_source import GstSource, gst_available, quote
from .source_base import FallbackSource, IterSource, ReconnectingSource, Source
from .synthetic_sources import PatternSource, SynthSource

__all__ = ["SOURCES", "BACKENDS", "open_source"]

#: ``backend=`` values of :func:`open_source`.
BACKENDS = ("auto", "gst", "opencv")


def _params(query: str) -> Dict[str, str]:
    return {k.replace("-", "_"): v for k, v in parse_qsl(query, keep_blank_values=True)}


#: Allowed values of the numeric URI parameters (``?width=640&fps=30``), checked before a source is built.
PARAM_RANGES: Dict[str, Range] = {
    "width": Range(16, 8192, integer=True), "height": Range(16, 8192, integer=True), "fps": Range(1.0, 1000.0),
    "frames": Range(-1, 10**9, integer=True), "num_buffers": Range(-1, 10**9, integer=True),
    "duration": Range(0.0, 600.0, low_open=True, unit="s"), "hr": Range(30.0, 220.0),
    "seed": Range(0, 2**32 - 1, integer=True), "latency": Range(0, 60_000, integer=True),
}


def _num(p: Dict[str, str], name: str, default: Any) -> Any:
    """URI parameter ``name`` as a number in its :data:`PARAM_RANGES` range, else ``ConfigError``
    naming it (``?width=abc`` was a bare ``ValueError``)."""
    if name not in p:
        return default
    text = p[name]
    value = number_from_text(text)
    why = PARAM_RANGES[name].problem(value)
    if why:
        raise ConfigError(f"source parameter {name} {why.replace(repr(value), repr(text))}")
    return PARAM_RANGES[name].coerce(value)


def _caps(p: Dict[str, str], raw: bool = True) -> str:
    fields = []
    if "width" in p:
        fields.append(f"width={_num(p, 'width', None)}")
    if "height" in p:
        fields.append(f"height={_num(p, 'height', None)}")
    if "fps" in p:
        fields.append(f"framerate={int(_num(p, 'fps', None))}/1")
    return ("video/x-raw," + ",".join(fields)) if fields and raw else ""


def _with_caps(launch: str, p: Dict[str, str]) -> str:
    caps = _caps(p)
    return f"{launch} ! videoconvert ! videoscale ! {caps}" if caps else launch


#: ``?format=`` of a v4l2/CSI URI: GStreamer raw formats, and the V4L2 FOURCC names of the mono
#: ones (``Y8``/``GREY`` → GRAY8, ``Y16`` → GRAY16_LE: a 10/12-bit sensor in 16-bit words).
RAW_FORMATS: Dict[str, str] = {
    "GRAY8": "GRAY8", "GRAY16_LE": "GRAY16_LE", "Y8": "GRAY8", "GREY": "GRAY8", "Y800": "GRAY8",
    "Y16": "GRAY16_LE", "RGB": "RGB", "BGR": "BGR", "BGRX": "BGRx", "YUY2": "YUY2", "UYVY": "UYVY", "NV12": "NV12",
}


def _raw_format(p: Dict[str, str], default: Optional[str] = None) -> Optional[str]:
    """The GStreamer format ``?format=`` names (:data:`RAW_FORMATS`), else ``default``; an
    unknown one is a ``ConfigError`` listing the known ones."""
    if "format" not in p:
        return default
    name = p["format"].strip().upper()
    if name not in RAW_FORMATS:
        raise ConfigError(f"source parameter format={p['format']!r} is not one of {', '.join(RAW_FORMATS)}")
    return RAW_FORMATS[name]


def _choose(backend: str) -> str:
    if backend not in BACKENDS:
        raise ConfigError(f"source backend must be auto, gst or opencv; got {backend!r}")
    if backend == "auto":
        return "gst" if gst_available() is None else "opencv"
    if backend == "gst" and gst_available() is not None:
        raise SourceError(f"GStreamer backend requested but not available ({gst_available()})")
    return backend


def _v4l2(rest: str, p: Dict[str, str], backend: str) -> Source:
    dev = rest[2:] if rest.startswith("//") else rest
    if not dev.strip():
        raise ConfigError("a v4l2 source names no device; expected v4l2:///dev/video0 (or v4l2:0)")
    if dev.isdigit():
        dev = f"/dev/video{dev}"
    if _choose(backend) == "gst":
        fmt = _raw_format(p)
        raw = f" ! video/x-raw,format={fmt}" if fmt else ""  # a mono camera: Y8/Y16 straight to the appsink
        return GstSource(_with_caps(f"v4l2src device={quote(dev)}{raw} ! decodebin", p), live=True, name=dev)
    _raw_format(p)  # still checked: OpenCV opens the camera's own format
    import cv2

    size = (_num(p, "width", None), _num(p, "height", None)) if "width" in p and "height" in p else None
    return CvSource(dev, live=True, api=cv2.CAP_V4L2, name=dev, size=size)


def _csi(rest: str, p: Dict[str, str], backend: str) -> Source:
    sensor_text = rest.strip("/") or "0"
    if not sensor_text.isdigit() or int(sensor_text) > 15:
        raise ConfigError(f"a CSI source names sensor 0..15 (csi://0), got {sensor_text!r}")
    sensor = int(sensor_text)
    w, h, fps = _num(p, "width", 1280), _num(p, "height", 720), int(_num(p, "fps", 30))
    if _choose(backend) != "gst":
        raise SourceError("a Jetson CSI camera (nvarguscamerasrc) needs the GStreamer backend")
    launch = (f"nvarguscamerasrc sensor-id={sensor} ! video/x-raw(memory:NVMM),width={w},height={h},"
              f"framerate={fps}/1 ! nvvidconv ! video/x-raw,format={_raw_format(p, 'BGRx')}")
    return GstSource(launch, live=True, name=f"csi{sensor}", fps=float(fps))


def _rtsp(uri: str, p: Dict[str, str], backend: str) -> Source:
    if _choose(backend) == "gst":
        latency = _num(p, "latency", 200)
        return GstSource(f"rtspsrc location={quote(uri)} latency={latency} ! decodebin", live=True, name=uri)
    return CvSource(uri, live=True, name=uri)


def _gst_launch(rest: str, p: Dict[str, str], backend: str) -> Source:
    if _choose("gst" if backend == "auto" else backend) != "gst":
        raise SourceError("a gst: source needs the GStreamer backend")
    live = any(k in rest for k in ("v4l2src", "nvarguscamerasrc", "rtspsrc", "is-live=true", "udpsrc"))
    return GstSource(rest, live=live, name="gst")


def _test(rest: str, p: Dict[str, str], backend: str) -> Source:
    frames = _num(p, "frames", _num(p, "num_buffers", 300))
    w, h, fps = _num(p, "width", 640), _num(p, "height", 480), float(_num(p, "fps", 30))
    live = p.get("live", "false").lower() in ("1", "true", "yes")
    if backend != "opencv" and gst_available() is None:
        pattern = p.get("pattern", "ball")
        launch = (f"videotestsrc num-buffers={frames} pattern={pattern} is-live={'true' if live else 'false'} ! "
                  f"video/x-raw,width={w},height={h},framerate={int(fps)}/1")
        return GstSource(launch, live=live, name="videotestsrc", fps=fps)
    return PatternSource(frames, w, h, fps, live)


def _synth(rest: str, p: Dict[str, str], backend: str) -> Source:
    return SynthSource(frames=_num(p, "frames", -1), duration_s=float(_num(p, "duration", 6.0)),
                       width=_num(p, "width", 640), height=_num(p, "height", 480),
                       fps=float(_num(p, "fps", 30)), hr_bpm=float(_num(p, "hr", 72.0)), seed=_num(p, "seed", 0),
                       motion=p.get("motion", "still"),
                       live=p.get("live", "false").lower() in ("1", "true", "yes"))


def _file(path: str, p: Dict[str, str], backend: str) -> Source:
    if not Path(path).exists():
        raise SourceError(f"video file not found: {path}")
    if Path(path).is_dir():
        raise SourceError(f"{path} is a folder; run reads a video file, a camera or a stream "
                          f"(a folder of frames: edge-rppg estimate FOLDER --fps N)")
    cv = CvSource(path, live=False, name=Path(path).name)
    if _choose(backend) == "opencv":
        return cv
    gst = GstSource(f"filesrc location={quote(os.path.abspath(path))} ! decodebin", live=False,
                    name=Path(path).name)
    return gst if backend == "gst" else FallbackSource([gst, cv])


#: URI scheme → builder ``(rest_of_uri, params, backend) -> Source``.
SOURCES: Registry[Callable[[str, Dict[str, str], str], Source]] = Registry("source scheme")
SOURCES.add("v4l2", _v4l2)
SOURCES.add("csi", _csi)
SOURCES.add("nvargus", _csi)
SOURCES.add("rtsp", lambda rest, p, b: _rtsp("rtsp:" + rest, p, b))
SOURCES.add("rtsps", lambda rest, p, b: _rtsp("rtsps:" + rest, p, b))
SOURCES.add("gst", _gst_launch)
SOURCES.add("test", _test)
SOURCES.add("synth", _synth)
SOURCES.add("file", lambda rest, p, b: _file(file_path(rest), p, b))


def file_path(rest: str) -> str:
    """The path of a ``file:`` URI's rest (``file://x`` and ``file:x`` both name ``x``)."""
    return rest[2:] if rest.startswith("//") else rest


def local_file(uri: Any) -> Optional[str]:
    """The local file a source URI names (a bare path or ``file:``), or None for any other source."""
    if not isinstance(uri, (str, os.PathLike)):
        return None
    scheme, rest, _ = _parse(os.fspath(uri))
    return file_path(rest) if scheme == "file" else None


def _configured(source: Source, fps: Optional[float], color_space: str) -> Source:
    """Give a user's frame rate (when given) and the stream's colour space to ``source`` and to
    each alternative of a fallback source."""
    for s in [source, *getattr(source, "sources", [])]:
        if fps is not None:
            s.fps = float(fps)
        s.color_space = color_space
    return source


def _parse(uri: str) -> Tuple[str, str, Dict[str, str]]:
    """``scheme:rest?query`` → (scheme, rest, params); a bare path → ("file", path, {})."""
    text = uri.strip()
    if text.isdigit():
        return "camera", text, {}
    if text.startswith("gst:"):
        return "gst", text[4:].strip(), {}
    scheme, sep, rest = text.partition(":")
    if not sep or len(scheme) < 2 or os.path.exists(text) or "/" in scheme or "\\" in scheme:
        return "file", text, {}
    scheme = scheme.lower()
    rest, _, query = rest.partition("?")
    if scheme in ("rtsp", "rtsps"):
        return scheme, rest + (f"?{query}" if query else ""), {}
    return scheme, rest, _params(query)


def open_source(uri: Any, backend: str = "auto", *, reconnect: bool = False, max_retries: Optional[int] = 10,
                backoff_s: float = 0.5, log: Optional[Callable[[str], None]] = None,
                fps: Optional[float] = None, color_space: str = "rgb") -> Source:
    """Build the :class:`Source` for ``uri`` (see the module table); a Source is returned
    as is, an iterable becomes an :class:`IterSource`. ``reconnect`` wraps it in a
    :class:`ReconnectingSource` (each re-made source gets ``fps`` too). ``fps``: the frame
    rate to time frames by instead of the source's own (``--fps``). ``color_space``: the frames
    to deliver (``EdgeRPPGOptions.color_space``; ``"gray"``: a GStreamer source negotiates
    GRAY16_LE/GRAY8, OpenCV gives a gray file's or a mono camera's one channel). Unknown schemes raise ``KeyError`` naming the known ones;
    an empty ``uri`` raises ``ConfigError``; a missing file or a folder raises ``SourceError``. A
    camera or stream that does not open is not an error here: its source ends at once with
    ``failed`` and the reason (:meth:`Pipeline.run` then reports ``opened=False``)."""
    if isinstance(uri, Source):
        return uri
    if not isinstance(uri, (str, os.PathLike)):
        return IterSource(uri)
    if not os.fspath(uri).strip():
        raise ConfigError("the source is empty; expected v4l2:///dev/video0, csi://0, rtsp://..., gst:<launch>, "
                          "test:, synth:, a video file or a camera index")
    scheme, rest, params = _parse(os.fspath(uri))

    def build() -> Source:
        if scheme == "camera":
            import cv2

            return CvSource(int(rest), live=True, name=f"camera {rest}", api=cv2.CAP_ANY)
        return SOURCES.get(scheme)(rest, params, backend)

    def make() -> Source:
        return _configured(build(), fps, color_space)

    if reconnect:
        return ReconnectingSource(make, max_retries=max_retries, backoff_s=backoff_s, log=log)
    return make()
