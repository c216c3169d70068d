"""The camera runtime: source → bounded queue → stages → sinks.

A :class:`Pipeline` is declared as a list of stage objects (:mod:`edge_rppg.stages`), or
parsed from a GStreamer-style launch line::

    source uri=test: ! landmarks ! roi ! window T=160 hop=30 ! engine model=pos ! vitals ! sink json

A reader thread pulls frames from the source into a bounded queue; the calling thread
takes them out, runs the stages and hands each :class:`~edge_rppg.api.VitalsResult`
to the sinks. Backpressure: for live sources (cameras, RTSP) a full queue drops its
oldest frame and counts it, so memory stays bounded and processing always works on
recent frames; files and iterators block instead (nothing is lost). A bad frame
(``FrameFormatError``) is counted as dropped and the stream goes on. The run ends on
the source's EOS/error/stall, ``max_frames``, :meth:`Pipeline.stop` or Ctrl-C, and
returns a :class:`RunReport` with the reason, counts and per-stage timing.

Importing this module imports :mod:`edge_rppg.runtime.cuda_roi`, which registers the CUDA ROI
backends (``"cupy"``, ``"pycuda"``) in the core's ROI-backend registry, so a ``roi``
stage built here with ``"auto"`` uses the GPU when one works.
"""
from __future__ import annotations

import shlex
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, List, Optional, Sequence, Tuple

from edge_rppg.api import VitalsResult, result_from_packet
from edge_rppg.errors import FrameFormatError
from edge_rppg.stages import (DEFAULT_CLASSIC_T, STAGES, EngineStage, InputStage, Packet, Stage, StageTimer,
                              build_stages, run_stages)

from . import cuda_roi  # noqa: F401  (registers the "cupy"/"pycuda" ROI backends)
from .sinks import Sink, make_sink
from .sources import Source, open_source

_END = object()


class FrameQueue:
    """Bounded FIFO between the source thread and the processing thread.

    ``leaky=True``: a put into a full queue drops the oldest frame (counted in
    ``dropped``); ``leaky=False``: the put waits for room (or for ``stop``).
    """

    def __init__(self, maxsize: int = 4, leaky: bool = True) -> None:
        if maxsize < 1:
            raise ValueError(f"queue size must be >= 1, got {maxsize}")
        self.maxsize = int(maxsize)
        self.leaky = bool(leaky)
        self.dropped = 0
        self.high_water = 0
        self._q: Deque[Any] = deque()
        self._cv = threading.Condition()

    def put(self, item: Any, stop: Optional[threading.Event] = None) -> None:
        """Enqueue ``item`` following the drop policy."""
        with self._cv:
            if self.leaky:
                while len(self._q) >= self.maxsize:
                    self._q.popleft()
                    self.dropped += 1
            else:
                while len(self._q) >= self.maxsize and not (stop is not None and stop.is_set()):
                    self._cv.wait(0.05)
            self._q.append(item)
            self.high_water = max(self.high_water, len(self._q))
            self._cv.notify_all()

    def put_end(self) -> None:
        """Enqueue the end marker (never dropped, never blocks)."""
        with self._cv:
            self._q.append(_END)
            self._cv.notify_all()

    def get(self) -> Any:
        """Next item (blocks); the end marker once the source is done."""
        with self._cv:
            while not self._q:
                self._cv.wait(0.1)
            item = self._q.popleft()
            self._cv.notify_all()
            return item

    def __len__(self) -> int:
        with self._cv:
            return len(self._q)


@dataclass
class RunReport:
    """Outcome of :meth:`Pipeline.run`.

    end_reason: ``eos``, ``max_frames``, ``stopped``, ``interrupted``, ``stalled: ...`` or
    ``error: ...``; ok: False for errors and stalls. frames_in: frames the source
    delivered; processed: frames that went through the stages; dropped_queue /
    dropped_bad / dropped_skipped: frames dropped by backpressure, as ill-formed, or for
    a non-increasing timestamp; dropped_source: frames the source itself lost (a live
    GStreamer appsink, counted from PTS gaps). stage_ms: per-stage timing summaries.
    """

    end_reason: str
    ok: bool
    frames_in: int
    processed: int
    dropped_queue: int
    dropped_bad: int
    dropped_skipped: int
    elapsed_s: float
    stage_ms: Dict[str, Dict[str, float]]
    last_result: Optional[VitalsResult] = None
    last_error: Optional[str] = None
    reconnects: int = 0
    queue_high_water: int = 0
    dropped_source: int = 0
    hr_history: List[Tuple[float, Optional[float], bool]] = field(default_factory=list)  # last 10k (t, HR, valid)

    @property
    def dropped(self) -> int:
        """All dropped frames."""
        return self.dropped_queue + self.dropped_bad + self.dropped_skipped + self.dropped_source

    @property
    def fps(self) -> float:
        """Processed frames per second of wall time."""
        return self.processed / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_dict(self) -> Dict[str, Any]:
        """JSON-able summary (no per-frame data)."""
        return {"end_reason": self.end_reason, "ok": self.ok, "frames_in": self.frames_in,
                "processed": self.processed, "dropped": self.dropped, "dropped_queue": self.dropped_queue,
                "dropped_bad": self.dropped_bad, "dropped_skipped": self.dropped_skipped,
                "dropped_source": self.dropped_source,
                "elapsed_s": round(self.elapsed_s, 3), "fps": round(self.fps, 2), "reconnects": self.reconnects,
                "queue_high_water": self.queue_high_water,
                "last_hr_bpm": None if self.last_result is None or self.last_result.hr_bpm is None
                else round(self.last_result.hr_bpm, 2),
                "stage_ms": {k: {m: round(v, 3) for m, v in d.items()} for k, d in self.stage_ms.items()}}


class Pipeline:
    """Source → bounded queue → stages → sinks.

    ``stages``: stage objects in order (an :class:`InputStage` is put first if missing).
    ``source``: a :class:`Source`, a URI for :func:`open_source`, or an iterable of frames.
    ``drop``: ``"auto"`` (drop under backpressure only for live sources), ``"always"``,
    ``"never"``. ``fps``: the model rate (for ``VitalsResult.bvp_fs``).
    One :meth:`run` per pipeline; stages keep their state across runs unless reset.
    """

    def __init__(self, stages: Sequence[Stage], source: Any = None, sinks: Sequence[Sink] = (),
                 queue_size: int = 4, drop: str = "auto", fps: float = 30.0,
                 log: Optional[Callable[[str], None]] = None) -> None:
        if drop not in ("auto", "always", "never"):
            raise ValueError(f"drop must be auto, always or never; got {drop!r}")
        stages = list(stages)
        if not stages or not isinstance(stages[0], InputStage):
            stages.insert(0, InputStage("rgb"))
        self.stages: List[Stage] = stages
        self.source: Optional[Source] = None if source is None else open_source(source)
        self.sinks: List[Sink] = list(sinks)
        self.queue_size = int(queue_size)
        self.drop = drop
        self.fps = float(fps)
        self.log = log or (lambda _msg: None)
        self._stop = threading.Event()
        self.source_timer = StageTimer()  # time inside the source per frame (decode), reader thread

    # -- construction
    @classmethod
    def default(cls, source: Any, engine: Any = "pos", sinks: Sequence[Sink] = (), queue_size: int = 4,
                drop: str = "auto", **stage_options: Any) -> "Pipeline":
        """The standard chain of :func:`edge_rppg.stages.build_stages` (same as ``EdgeRPPG``)."""
        fps = float(stage_options.get("fps", 30.0))
        return cls(build_stages(engine, **stage_options), source=source, sinks=sinks, queue_size=queue_size,
                   drop=drop, fps=fps)

    @classmethod
    def from_string(cls, text: str, *, source: Any = None, sinks: Sequence[Sink] = (), fps: float = 30.0,
                    queue_size: int = 4, drop: str = "auto", **source_options: Any) -> "Pipeline":
        """Parse a launch line (see :func:`parse_launch`); ``source``/``sinks`` given here
        are used when the line has no ``source`` / adds to its ``sink`` elements."""
        elements = parse_launch(text)
        src_spec: Any = source
        sink_objs: List[Sink] = list(sinks)
        stage_elems: List[Tuple[str, Dict[str, Any]]] = []
        for name, pos, props in elements:
            if name == "source":
                uri = props.pop("uri", None) or props.pop("location", None) or (pos[0] if pos else None)
                if uri is None:
                    if src_spec is None:
                        raise ValueError("the launch line's source has no uri= and no source was given")
                    continue
                opts = {**source_options, **{k: props[k] for k in ("backend", "reconnect") if k in props}}
                src_spec = open_source(str(uri), **opts)
            elif name == "sink":
                kind = props.pop("type", None) or (pos[0] if pos else "json")
                path = props.pop("path", None) or props.pop("location", None) or (pos[1] if len(pos) > 1 else None)
                sink_objs.append(make_sink(str(kind), None if path is None else str(path), **props))
            else:
                if pos:
                    raise ValueError(f"launch element {name!r}: unexpected argument(s) {pos}; use key=value")
                stage_elems.append((name, props))
        stages = build_stages_from_elements(stage_elems, fps=fps)
        if src_spec is None:
            raise ValueError("no source: put 'source uri=...' in the launch line or pass source=")
        return cls(stages, source=src_spec, sinks=sink_objs, queue_size=queue_size, drop=drop, fps=fps)

    # -- running
    def stop(self) -> None:
        """End the run soon (thread-safe); the report says ``stopped``."""
        self._stop.set()
        if self.source is not None:
            self.source.stop()

    def run(self, max_frames: Optional[int] = None,
            on_result: Optional[Callable[[VitalsResult, Packet], None]] = None) -> RunReport:
        """Run until the source ends, ``max_frames`` frames were read, or :meth:`stop`."""
        src = self.source
        if src is None:
            raise ValueError("Pipeline has no source")
        leaky = self.drop == "always" or (self.drop == "auto" and src.live)
        q = FrameQueue(self.queue_size, leaky=leaky)
        state: Dict[str, Any] = {"frames_in": 0, "max_hit": False, "error": None}

        def reader() -> None:
            try:
                frames = iter(src.frames())
                while True:
                    t_read = time.perf_counter()
                    try:
                        frame, ts = next(frames)
                    except StopIteration:
                        break
                    self.source_timer.add((time.perf_counter() - t_read) * 1e3)
                    q.put((frame, ts), self._stop)
                    state["frames_in"] += 1
                    if self._stop.is_set():
                        src.stop()
                        break
                    if max_frames is not None and state["frames_in"] >= max_frames:
                        state["max_hit"] = True
                        src.stop()
                        break
            except Exception as exc:  # the source failed: end the stream cleanly, with the reason
                state["error"] = f"{type(exc).__name__}: {exc}"
            finally:
                q.put_end()

        processed = bad = skipped = 0
        last: Optional[VitalsResult] = None
        last_error: Optional[str] = None
        history: Deque[Tuple[float, Optional[float], bool]] = deque(maxlen=10_000)  # bounded for days-long runs
        interrupted = False
        t0 = time.perf_counter()
        thread = threading.Thread(target=reader, name="edge-rppg-source", daemon=True)
        thread.start()
        try:
            index = 0
            while True:
                item = q.get()
                if item is _END:
                    break
                frame, ts = item
                packet = Packet(frame=frame, timestamp=float(ts), index=index,
                                dropped_frames=q.dropped + bad + skipped + src.dropped)
                index += 1
                try:
                    run_stages(self.stages, packet)
                except FrameFormatError as exc:
                    bad += 1
                    last_error = str(exc)
                    continue
                if packet.skipped:
                    skipped += 1
                packet.dropped_frames = q.dropped + bad + skipped + src.dropped
                last = result_from_packet(packet, self.fps)
                processed += 1
                if last.hr_updated:
                    history.append((last.timestamp, last.hr_bpm, last.valid))
                for sink in self.sinks:
                    sink.write(last, packet.frame)
                    if getattr(sink, "closed_by_user", False):
                        self.stop()
                if on_result is not None:
                    on_result(last, packet)
        except KeyboardInterrupt:
            interrupted = True
            self.stop()
        finally:
            self._stop.set()
            src.stop()
            thread.join(timeout=5.0)
            for sink in self.sinks:
                sink.close()
        elapsed = time.perf_counter() - t0
        if interrupted:
            reason = "interrupted"
        elif state["error"] is not None:
            reason = f"error: {state['error']}"
        elif state["max_hit"]:
            reason = "max_frames"
        else:
            reason = src.end_reason or "eos"
        ok = not (reason.startswith("error") or reason.startswith("stalled"))
        return RunReport(end_reason=reason, ok=ok, frames_in=state["frames_in"], processed=processed,
                         dropped_queue=q.dropped, dropped_bad=bad, dropped_skipped=skipped, elapsed_s=elapsed,
                         stage_ms=self.stage_timing(), last_result=last, last_error=last_error,
                         reconnects=int(getattr(src, "reconnects", 0)), queue_high_water=q.high_water,
                         dropped_source=int(src.dropped),
                         hr_history=list(history))

    def stage_timing(self) -> Dict[str, Dict[str, float]]:
        """Per-stage timing summaries (ms); ``source`` is the time spent reading/decoding a
        frame in the reader thread (it overlaps with the stages)."""
        return {"source": self.source_timer.summary(), **{s.name: s.timer.summary() for s in self.stages}}

    def close(self) -> None:
        """Close stages and the source (idempotent)."""
        for s in self.stages:
            s.close()
        if self.source is not None:
            self.source.close()

    def __enter__(self) -> "Pipeline":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------- launch lines
def _value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def parse_launch(text: str) -> List[Tuple[str, List[str], Dict[str, Any]]]:
    """Split a launch line into ``(element, positional_args, properties)`` triples.

    Elements are separated by a stand-alone ``!``; properties are ``key=value`` (numbers
    and true/false are converted); quote values that contain spaces or ``!``
    (``source uri="gst:videotestsrc ! videoconvert"``).
    """
    tokens = shlex.split(text)
    groups: List[List[str]] = [[]]
    for tok in tokens:
        if tok == "!":
            groups.append([])
        else:
            groups[-1].append(tok)
    out = []
    for g in groups:
        if not g:
            raise ValueError(f"empty element in launch line {text!r}")
        name, args = g[0].lower(), g[1:]
        pos = [a for a in args if "=" not in a]
        props = {}
        for a in args:
            if "=" in a:
                k, _, v = a.partition("=")
                props[k.strip().replace("-", "_")] = _value(v)
        out.append((name, pos, props))
    return out


#: launch-line property aliases per stage: ``window bridge=0.5`` → ``bridge_s``.
PROP_ALIASES: Dict[str, Dict[str, str]] = {
    "input": {"color": "color_order", "format": "color_order"},
    "landmarks": {"max_num_faces": "max_faces", "face": "select"},
    "engine": {"model": "engine", "spec": "engine"},
    "window": {"bridge": "bridge_s", "t": "T", "size": "T"},
    "vitals": {"history": "bvp_history_s", "history_s": "bvp_history_s"},
    "roi": {},
}


def build_stages_from_elements(elements: Sequence[Tuple[str, Dict[str, Any]]], fps: float = 30.0) -> List[Stage]:
    """Stage objects for parsed ``(name, properties)`` elements (engine built first so that
    the window's ``T`` defaults to the engine's and a contradiction is an error)."""
    resolved = []
    for name, props in elements:
        aliases = PROP_ALIASES.get(name, {})
        resolved.append((name, {aliases.get(k, k if k != "t" else "T"): v for k, v in props.items()}))
    engine_stage: Optional[EngineStage] = None
    for name, props in resolved:
        if name == "engine":
            engine_stage = EngineStage(str(props.get("engine", "pos")), fps=float(props.get("fps", fps)))
    stages: List[Stage] = []
    for name, props in resolved:
        if name == "engine":
            assert engine_stage is not None
            stages.append(engine_stage)
            continue
        if name in ("window", "vitals"):
            props.setdefault("fps", fps)
        if name == "window":
            T_eng = engine_stage.T if engine_stage is not None else None
            if "T" not in props:
                props["T"] = int(T_eng) if T_eng else DEFAULT_CLASSIC_T
            elif T_eng and int(props["T"]) != int(T_eng):
                name_eng = engine_stage.engine.info.name  # type: ignore[union-attr]
                raise ValueError(f"window T={props['T']} but engine {name_eng} needs T={T_eng}")
        try:
            stages.append(STAGES.get(name)(**props))
        except TypeError as exc:
            raise ValueError(f"launch element {name!r}: {exc}") from None
    return stages
