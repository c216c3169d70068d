"""Fault soak: a long stream from a camera that misbehaves, through the real runtime.

A rendered face (constant heart rate, so every reading has one truth) is served by a
camera-like source through ``runtime.Pipeline`` and ``ReconnectingSource``, and the camera
misbehaves at random times (seeded): it **stalls** (2 s without frames), **disconnects**
(the connection fails; the reconnection's timestamps restart at 0), **renegotiates its
resolution** (two seconds of frames at twice the size), and its **clock glitches** (a step
back of 0.5 s, a jump forward of 0.3 s, a burst of duplicated timestamps). Reported:
frames, readings, valid readings, **wrong valid readings** (valid and more than 3 bpm from
the truth: must be 0), resets by reason, invalid readings by reason, reconnects, and the
process's resident memory (RSS) over the run (it must stay flat).

    python bench/bench_fault_soak.py --minutes 3
"""
from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from results import add_output_flags, finish, markdown_table  # noqa: E402

FPS = 30.0
HR = 72.0
FAULTS = ("stall", "disconnect", "resize", "step_back", "jump", "duplicates")


def rss_mb() -> float:
    """Resident memory of this process (MB), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


class Camera:
    """The face clip as a camera: one shared stream of frames (time passes for the face
    whether or not the camera delivers), served connection by connection with faults."""

    def __init__(self, minutes: float, seed: int, every_s: float) -> None:
        import dataclasses

        from edge_rppg.synth.video_gen import PRESETS, render_frames

        cfg = dataclasses.replace(PRESETS["still"], duration_s=60.0 * minutes, width=320, height=240, hr_bpm=HR,
                                  hrv=0.0, hr_trend_bpm=0.0)
        self.frames = render_frames(cfg, seed)
        self.n = int(round(cfg.duration_s * FPS))
        rng = np.random.default_rng(seed)
        at = np.arange(every_s, cfg.duration_s - 1.0, every_s)
        at = at + rng.uniform(-0.2, 0.2, size=at.size) * every_s
        self.schedule = {int(round(t * FPS)): str(rng.choice(FAULTS)) for t in at}
        self.i = 0                         # frames consumed from the face
        self.done: List[str] = []

    def connection(self) -> Any:
        """A new connection (a runtime Source) that serves frames until a disconnect."""
        from edge_rppg.errors import SourceError
        from edge_rppg.runtime.sources import IterSource

        cam = self

        def serve() -> Iterator[Any]:
            t0, offset, big = cam.i, 0.0, 0
            while cam.i < cam.n:
                i = cam.i
                fault = cam.schedule.pop(i, None)
                frame = next(cam.frames)
                cam.i += 1
                if fault:
                    cam.done.append(fault)
                if fault == "disconnect":
                    raise SourceError("camera disconnected")
                if fault == "stall":        # 2 s without frames: the face goes on
                    for _ in range(int(2 * FPS)):
                        next(cam.frames, None)
                        cam.i += 1
                    continue
                if fault == "step_back":
                    offset -= 0.5
                elif fault == "jump":
                    offset += 0.3
                elif fault == "resize":
                    big = int(2 * FPS)
                ts = (cam.i - 1 - t0) / FPS + offset
                if big:
                    import cv2

                    frame, big = cv2.resize(frame, (640, 480)), big - 1
                yield frame, ts
                if fault == "duplicates":
                    for _ in range(3):
                        yield frame, ts

        return IterSource(serve(), fps=FPS, name="faulty camera")


class Tally:
    """A sink that counts what the stream said."""

    name = "tally"
    every = "frame"

    def __init__(self) -> None:
        self.frames = self.readings = self.valid = 0
        self.wrong: List[Any] = []
        self.resets: collections.Counter = collections.Counter()
        self.invalid: collections.Counter = collections.Counter()
        self.rss: List[float] = []
        self.written = 0

    def wants(self, result: Any) -> bool:
        return True

    def write(self, result: Any, frame: Optional[np.ndarray] = None) -> None:
        self.frames += 1
        if result.reset_reason:
            self.resets[result.reset_reason] += 1
        if result.hr_updated:
            self.readings += 1
            if result.valid:
                self.valid += 1
                if abs(result.hr_bpm - HR) > 3.0:
                    self.wrong.append((round(result.timestamp, 2), round(result.hr_bpm, 1)))
            else:
                self.invalid[result.invalid_reason] += 1
        if self.frames % 300 == 1:
            self.rss.append(rss_mb())

    def close(self) -> None:
        pass


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--every", type=float, default=12.0, help="seconds between faults (jittered)")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--model", default="default", help="engine (default: the shipped model)")
    add_output_flags(ap)
    args = ap.parse_args(argv)
    from edge_rppg import EdgeRPPGOptions, StreamProcessor
    from edge_rppg.processor.options import BaseOptions
    from edge_rppg.runtime.pipeline import Pipeline
    from edge_rppg.runtime.sources import ReconnectingSource

    cam = Camera(args.minutes, args.seed, args.every)
    tally = Tally()
    logs: List[str] = []
    proc = StreamProcessor(EdgeRPPGOptions(base_options=BaseOptions(model=args.model), roi_backend="cpu"))
    source = ReconnectingSource(cam.connection, max_retries=3, backoff_s=0.01, log=logs.append)
    t0 = time.perf_counter()
    report = Pipeline(proc, source=source, sinks=[tally], drop="never").run()
    proc.close()
    wall = time.perf_counter() - t0
    rss = tally.rss or [float("nan")]
    numbers: Dict[str, Any] = {
        "minutes": args.minutes, "faults": collections.Counter(cam.done), "end_reason": report.end_reason,
        "frames": tally.frames, "readings": tally.readings, "valid_readings": tally.valid,
        "wrong_valid_readings": len(tally.wrong), "wrong": tally.wrong[:10], "resets": dict(tally.resets),
        "invalid": dict(tally.invalid), "reconnects": report.reconnects, "rss_mb_start": rss[0],
        "rss_mb_after_1_min": rss[min(6, len(rss) - 1)], "rss_mb_max": max(rss), "rss_mb_end": rss[-1],
        "wall_s": wall}
    rows = [[k, v] for k, v in numbers.items() if k != "wrong"]
    table = markdown_table(["measure", "value"], rows)
    warm = rss[min(6, len(rss) - 1)]
    verdict = (f"wrong valid readings: **{len(tally.wrong)}** (must be 0); RSS {warm:.0f} MB after the first minute, "
               f"{rss[-1]:.0f} MB at the end (max {max(rss):.0f}; {rss[0]:.0f} at the first frame, before the models "
               f"loaded)")
    finish(args, f"{table}\n{verdict}", numbers if args.json else None,
           "Fault soak (a camera that stalls, disconnects, resizes and glitches)",
           f"{args.minutes:g} min of a rendered still face at {HR:g} bpm through runtime.Pipeline + ReconnectingSource, "
           f"a fault every ~{args.every:g} s (seed {args.seed}), engine `{args.model}`.\n\n{table}\n\n{verdict}")
    if args.json:
        import json

        print(json.dumps(numbers, default=str))
    return 0 if not tally.wrong else 1


if __name__ == "__main__":
    sys.exit(main())
