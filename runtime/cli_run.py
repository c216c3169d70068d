"""``edge-rppg run``: a camera, stream or file in, vitals out, continuously.

Examples::

    edge-rppg run --source v4l2:///dev/video0 --engine model.onnx --sink json
    edge-rppg run --source clip.avi --sink csv --out hr.csv
    edge-rppg run --source "gst:rtspsrc location=rtsp://cam/1 ! decodebin" --reconnect --sink video --out a.avi
    edge-rppg run --source synth: --max-frames 900 --sink json --every window
    edge-rppg run --source v4l2:///dev/video0 --sink web --port 8080     # live page on http://127.0.0.1:8080/
    edge-rppg run --source clip.avi --realtime --sink web --sink json:hr.jsonl

Heavy imports (GStreamer, MediaPipe, engines) happen inside :func:`run` (the modules
imported at the top are light: MediaPipe and ONNX Runtime load on first use).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List

from edge_rppg.cli.flags import Flag, add_flags, add_landmark_flags, flag, landmark_options, values_of
from edge_rppg.config import Range
from edge_rppg.frames.color import COLOR_SPACES
from edge_rppg.processor.options import BaseOptions, EdgeRPPGOptions
from edge_rppg.pulse.engines.registry import DELEGATES

#: The processor options ``run`` takes as flags (named, typed and defaulted by the dataclass).
OPTION_FLAGS = (
    Flag("window", "engine window T in samples (default: the engine's, else 300)"),
    Flag("engine_hop_s", "seconds between engine windows (a new HR each; a model whose input has a window grid steps a multiple of it: the shipped model's 1 s default runs every 0.8 s)"),
    Flag("model_fps", "model rate in Hz"),
    Flag("bridge_s", "longest face loss / frame gap bridged"),
    Flag("roi_backend", "auto | cpu | a registered GPU backend (cupy, pycuda)"),
    Flag("color_space", "the camera's frames: rgb, bgr, or gray (a mono / near-infrared camera, 8 or 16 bit; "
                        "GStreamer negotiates GRAY16_LE/GRAY8)", choices=tuple(COLOR_SPACES)),
)

DROP_POLICIES = ("auto", "always", "never")  # edge_rppg.runtime.pipeline.DROP_POLICIES (not imported for --help)

HELP = "run the streaming pipeline on a camera, stream or file (JSON lines / CSV / annotated video / web page out)"
DESCRIPTION = (
    "Stream frames from --source through landmarks → ROI averaging → MSTmap window → engine → "
    "HR/HRV/RF and write results to the sinks. Sources: v4l2:///dev/video0, csi://0, rtsp://..., "
    "gst:<launch string>, test:, synth:, a video file, or a camera index. The stream ends cleanly "
    "on EOS, an unplugged camera or a decode error (with the reason on stderr); --reconnect retries "
    "(one stderr line per retry). A source that never delivers a frame (no such camera, refused stream, "
    "empty source, folder) is one error line naming it, exit code 2.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``run``; each processor flag is its :class:`~edge_rppg.processor.options.EdgeRPPGOptions`
    field with ``-`` for ``_`` (``--bridge-s`` → ``bridge_s``)."""
    p.add_argument("--source", required=True, help="v4l2:///dev/video0 | csi://0 | rtsp://... | gst:<launch> | "
                                                   "test: | synth: | FILE | camera index")
    p.add_argument("--model", "--engine", dest="model", default=BaseOptions.model,
                   help="pos, chrom, ..., MODEL.onnx, MODEL.engine, or default (--engine is the old name)")
    p.add_argument("--delegate", choices=DELEGATES, default=BaseOptions.delegate,
                   help="ONNX Runtime execution provider of an .onnx model")
    p.add_argument("--sink", action="append", default=None,
                   help="json | csv | video | window | web | null, or KIND:PATH; repeat for several (default json); "
                        "web serves a live page and an event stream (GET /events) on --host/--port")
    p.add_argument("--out", default=None, help="output path for the sinks that name none (json/csv: stdout if absent)")
    p.add_argument("--every", choices=("frame", "window"), default="frame",
                   help="write every frame, or only frames with a new HR")
    p.add_argument("--host", default="127.0.0.1",
                   help="web sink: address to listen on (127.0.0.1: this machine only; 0.0.0.0: the network, "
                        "with no authentication)")
    p.add_argument("--port", type=flag(Range(0, 65535, integer=True)), default=8080,
                   help="web sink: TCP port (0: any free one, printed on stderr)")
    p.add_argument("--web-max-fps", type=flag(Range(0.1, 60.0)), default=5.0,
                   help="web sink: most video frames a second sent (a preview for aiming the camera; each "
                        "frame is a write to every viewer, the sink's main cost: raise it for a smoother view)")
    p.add_argument("--web-video-width", type=flag(Range(16, 7680, integer=True)), default=320,
                   help="web sink: the video's width in pixels at most (wider frames are scaled down)")
    p.add_argument("--realtime", action="store_true",
                   help="deliver a file's (or synth:'s) frames at the pace of their timestamps, as a camera would "
                        "(frames are then dropped, not waited for, when processing falls behind)")
    p.add_argument("--backend", choices=("auto", "gst", "opencv"), default="auto", help="frame source backend")
    p.add_argument("--reconnect", action="store_true", help="re-open a failed source with exponential backoff")
    p.add_argument("--max-retries", type=flag(Range(-1, 1_000_000, integer=True)), default=10,
                   help="consecutive failed re-opens before giving up (-1: never); each retry is one line on stderr")
    p.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
    p.add_argument("--fps", type=float, default=None,
                   help="frame rate of a file source (1..1000); needed when its header gives none or an absurd one")
    defaults = EdgeRPPGOptions()
    add_flags(p, defaults, OPTION_FLAGS)
    add_landmark_flags(p, defaults.landmarks)
    p.add_argument("--queue-size", type=int, default=4, help="frames buffered between source and processing")
    p.add_argument("--drop", choices=DROP_POLICIES, default="auto",
                   help="drop frames under backpressure (auto: only for live sources)")
    p.add_argument("--quiet", action="store_true", help="no summary on stderr")


def _log(msg: str) -> None:
    print(f"edge-rppg run: {msg}", file=sys.stderr, flush=True)


def options_from_args(args: argparse.Namespace) -> EdgeRPPGOptions:
    """The processor options the flags describe (one flag per options field)."""
    return EdgeRPPGOptions(base_options=BaseOptions(model=args.model, delegate=args.delegate),
                           landmarks=landmark_options(args), landmark_model=args.landmark_model,
                           **values_of(args, OPTION_FLAGS))


def check_counts(args: argparse.Namespace) -> None:
    """Refuse the pipeline's count flags outside their range (``--max-frames -1`` ran forever) with a
    one-line ``ConfigError`` naming the flag (the processor's flags are checked by their options'
    ``RANGES`` while parsing)."""
    from edge_rppg.cli.main import checked_number

    limits = {"--max-frames": (args.max_frames, 1, math.inf), "--queue-size": (args.queue_size, 1, 10_000)}
    for name, (value, low, high) in limits.items():
        checked_number(name, value, low, high, low_open=False)


def check_file_rate(args: argparse.Namespace) -> None:
    """A file source must have a usable frame rate before anything runs: ``--fps`` (bounded
    1..1000) or its own header (a missing or absurd one is a one-line ``VideoReadError``
    asking for ``--fps``), the same rule as ``edge-rppg estimate``; and its first frame must
    be of ``--color-space`` (a colour file with ``--color-space gray``, a GRAY8 file without
    it: a one-line ``FrameColorSpaceError``)."""
    from edge_rppg.frames.validation import check_frame
    from edge_rppg.frames.video import check_fps, open_video

    from .uri import local_file

    if args.fps is not None:
        check_fps(args.fps, "--fps")
    path = local_file(args.source)
    if path is not None and Path(path).is_file():
        with open_video(path, fps=args.fps, prefetch=0) as reader:
            check_frame(next(iter(reader)), args.color_space)


def make_sinks(args: argparse.Namespace, make_sink: Callable[..., Any]) -> List[Any]:
    """The sinks the ``--sink`` flags name (closing those made so far when one fails, e.g. a
    web port in use); the web sink's address is logged."""
    sinks: List[Any] = []
    try:
        for spec in args.sink or ["json"]:
            kind = spec.split(":", 1)[0]
            opts: Dict[str, Any] = {"every": args.every}
            path = args.out
            if kind == "video":
                opts["fps"] = args.model_fps
            elif kind == "web":
                opts.update(host=args.host, port=args.port, max_fps=args.web_max_fps,
                            video_width=args.web_video_width, log=None if args.quiet else _log)
                path = None
            sinks.append(make_sink(spec, path, **opts))
            if kind == "web":
                _log(f"web view on {sinks[-1].url} (events: {sinks[-1].url}events)")
    except BaseException:
        for sink in sinks:
            sink.close()
        raise
    return sinks


def run(args: argparse.Namespace) -> int:
    """Build the source, processor and sinks, run until the stream ends; 0 on a clean end."""
    from edge_rppg.errors import FrameFormatError, SourceError
    from edge_rppg.processor.stream import StreamProcessor

    from .pipeline import Pipeline
    from .sinks import make_sink
    from .source_base import reason_text
    from .sources import PacedSource, open_source

    check_counts(args)
    check_file_rate(args)
    options = options_from_args(args)
    retries = None if args.max_retries is not None and args.max_retries < 0 else args.max_retries
    source = open_source(args.source, backend=args.backend, reconnect=args.reconnect, max_retries=retries,
                         log=None if args.quiet else _log, fps=args.fps, color_space=args.color_space)
    if args.realtime:
        source = PacedSource(source)
    try:
        sinks = make_sinks(args, make_sink)
    except BaseException:
        source.close()
        raise
    try:
        processor = StreamProcessor(options)
    except BaseException:  # a bad model, Ctrl-C while it loads: the sinks (a web server) and source go too
        for sink in sinks:
            sink.close()
        source.close()
        raise
    pipe = Pipeline(processor, source=source, sinks=sinks, queue_size=args.queue_size, drop=args.drop)
    try:
        report = pipe.run(max_frames=args.max_frames)
    finally:
        pipe.close()
    if not report.opened:  # nothing ever came: one line a deployer can act on, exit 2, no summary
        raise SourceError(f"cannot open source {args.source!r}: {reason_text(report.end_reason)}")
    if report.processed == 0 and report.dropped_bad > 0:  # every frame refused: another colour space or depth
        raise FrameFormatError(f"no frame of {args.source!r} could be used ({report.dropped_bad} refused): "
                               f"{report.last_error}")
    if not args.quiet:
        last = report.last_result
        hr = "n/a" if last is None or last.hr_bpm is None else f"{last.hr_bpm:.1f} bpm (valid={last.valid})"
        _log(f"ended: {report.end_reason}; {report.frames_in} frames read, {report.processed} processed, "
             f"{report.dropped} dropped (queue {report.dropped_queue}, bad {report.dropped_bad}, "
             f"repeated timestamps {report.dropped_skipped}, source {report.dropped_source}); "
             f"{report.fps:.1f} fps; last HR {hr}")
        if report.last_error:
            _log(f"last dropped frame: {report.last_error}")
        _log("stage ms (mean/p99): " + json.dumps(
            {k: [round(v["mean_ms"], 2), round(v["p99_ms"], 2)] for k, v in report.stage_ms.items()}))
    return 0 if report.ok else 1
