"""Load test of the ``web`` sink on loopback (issue 27): does serving viewers cost the pipeline?

Each configuration runs in its own process: ``Pipeline`` on a 30 fps stream (a rendered
640x480 synthetic face, ``synth:``, paced in real time by ``PacedSource`` as a camera would
deliver it, the default model and face models) for ``--duration`` seconds, with

* ``baseline``: the ``null`` sink only (no web sink);
* ``web, N viewers``: the web sink and N viewers in another process, each as a browser page
  connects: one ``/events`` stream and one ``/stream.mjpg`` stream, both read as fast as they come;
* ``web, N viewers + 1 stalled``: the same plus one client that opens both streams and never
  reads a byte;
* ``web, N viewers, video at 10 fps``: ``max_fps=10`` instead of the default 5;
* ``baseline, N viewers served by another process``: the ``null`` sink only, while the same N
  viewers read the same two streams from a stand-in process (a web sink replaying 6 s of the
  pipeline's own results and frames at 30 fps). The machine then carries the viewers' load and
  the serving work as in the ``web`` runs, but outside the pipeline process: on a 2-core
  machine the viewers' 40 reader threads compete with the pipeline thread itself, which a
  kiosk's or a deployer's browser on another device would not. Both baselines are reported,
  each ratio paired by round.

Besides the process's CPU, the sink's own CPU is counted per thread (its streamer and HTTP
threads, and its ``write()`` on the pipeline thread, ``WebSink.write_cpu_s``): a shared
machine's load drifts between runs by more than the sink costs, and this number does not
take that drift in.

The pipeline process reports processed fps, CPU ms per frame (process time of all its threads,
the web server's included, over the run) and RSS (sampled every second); the
viewer process reports what each viewer received (events/s, video frames/s) and how late the
vitals events arrived (arrival time minus frame timestamp, relative to the run's earliest; p95).
Goal: fps and CPU per frame within 10 % of the baseline, RSS bounded, the stalled client does
not slow the other viewers.

    python bench/bench_web_sink.py --duration 60 --viewers 20
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FPS = 30.0
SECTION = "Web sink under load (issue 27)"
WEB_THREADS = ("edge-rppg-web-streams", "edge-rppg-web")


def _thread_ticks() -> Dict[int, int]:
    """CPU clock ticks (user + system) of each thread of this process, by native thread id."""
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        out[int(tid)] = int(fields[11]) + int(fields[12])
    return out


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# --------------------------------------------------------------------------- pipeline process
def run_pipeline(args: argparse.Namespace) -> Dict[str, Any]:
    """One configuration: build, wait for the viewers (``go`` on stdin), run, report."""
    from edge_rppg.runtime.pipeline import Pipeline
    from edge_rppg.runtime.sinks import NullSink
    from edge_rppg.runtime.sources import PacedSource, SynthSource

    synth = SynthSource(frames=int(args.duration * FPS), duration_s=6.0, width=640, height=480, seed=1)
    synth.clip()  # rendered before the clock starts (a camera delivers ready frames)
    sinks: List[Any] = [NullSink()]
    web = None
    if args.web:
        from edge_rppg.runtime.web_sink import WebSink

        web = WebSink(port=0, max_fps=args.max_fps)
        sinks.append(web)
    pipe = Pipeline.create(PacedSource(synth), sinks=sinks)
    print(f"READY {web.url if web else '-'}", flush=True)
    sys.stdin.readline()  # the viewers are connected
    rss: List[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(1.0):
            rss.append(_rss_mb())

    threading.Thread(target=sample, daemon=True).start()
    hub_stats: Dict[str, Any] = {}
    ticks: Dict[str, Dict[int, int]] = {}
    names: Dict[Optional[int], str] = {}
    if web is not None:
        orig_close = web.close

        def close() -> None:  # the hub and the threads as the stream ends, before the server stops
            ticks["end"] = _thread_ticks()
            names.update({t.native_id: t.name for t in threading.enumerate()})
            hub_stats.update(web.hub.client_stats(), frames_encoded=web.frames_encoded, http_errors=web.server.errors,
                             write_cpu_s=web.write_cpu_s)
            orig_close()

        web.close = close  # type: ignore[method-assign]
    else:
        sinks[0].close = lambda: ticks.setdefault("end", _thread_ticks())  # type: ignore[method-assign]
    rss0 = _rss_mb()
    ticks["start"] = _thread_ticks()
    cpu0 = time.process_time()
    report = pipe.run()
    cpu = time.process_time() - cpu0
    done.set()
    pipe.close()
    settled = rss[min(len(rss) - 1, 9):] or [rss0]  # after the first 10 s
    tick_ms = 1000.0 / os.sysconf("SC_CLK_TCK")
    main = threading.get_native_id()
    used = {t: n - ticks["start"].get(t, 0) for t, n in ticks["end"].items()}
    n = max(1, report.processed)
    web_ms = tick_ms * sum(v for t, v in used.items() if names.get(t, "").startswith("edge-rppg-web")) / n
    return {"sink_ms_per_frame": web_ms + 1000.0 * hub_stats.get("write_cpu_s", 0.0) / n, "fps": report.fps, "processed": report.processed, "frames_in": report.frames_in,
            "dropped": report.dropped, "cpu_ms_per_frame": 1000.0 * cpu / n,
            "pipeline_thread_ms_per_frame": tick_ms * used.get(main, 0) / n,
            "other_threads_ms_per_frame": tick_ms * sum(v for t, v in used.items() if t != main) / n,
            "web_threads_ms_per_frame": {name: round(tick_ms * used.get(tid, 0) / n, 3) for tid, name in names.items()
                                         if name.startswith("edge-rppg-web")},
            "rss_start_mb": rss0, "rss_10s_mb": settled[0], "rss_end_mb": rss[-1] if rss else rss0,
            "rss_max_mb": max(rss or [rss0]), "web": hub_stats}


# --------------------------------------------------------------------------- stand-in server process
def run_standin(args: argparse.Namespace) -> None:
    """A web sink outside the pipeline process, for the client-loaded baseline: it replays 6 s of
    the pipeline's results (computed before the clock starts) with their frames at 30 fps, so
    that the viewers get the same streams as from the pipeline's own sink."""
    from edge_rppg import EdgeRPPG
    from edge_rppg.runtime.sources import SynthSource
    from edge_rppg.runtime.web_sink import WebSink

    frames = SynthSource(frames=int(6 * FPS), duration_s=6.0, width=640, height=480, seed=1).clip()
    with EdgeRPPG("default") as rppg:
        results = [rppg.process(f, timestamp=i / FPS) for i, f in enumerate(frames)]
    web = WebSink(port=0, max_fps=args.max_fps)
    print(f"READY {web.url}", flush=True)
    sys.stdin.readline()  # the pipeline is about to start
    t0 = time.monotonic()
    for i in range(int(args.duration * FPS)):
        time.sleep(max(0.0, t0 + i / FPS - time.monotonic()))
        web.write(results[i % len(results)], frames[i % len(frames)])
    web.close()


# --------------------------------------------------------------------------- viewer process
class Viewer:
    """One page's two connections, read as fast as they come; counts and event lateness."""

    def __init__(self, host: str, port: int) -> None:
        self.addr = (host, port)
        self.events = 0
        self.frames = 0
        self.lateness: List[float] = []
        self.first = self.last = 0.0
        self.ready = threading.Barrier(3)

    def _open(self, path: str) -> Any:
        s = socket.create_connection(self.addr, timeout=120)
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {self.addr[0]}\r\n\r\n".encode())
        f = s.makefile("rb")
        while f.readline() not in (b"\r\n", b""):  # status line and headers
            pass
        return s, f

    def events_loop(self) -> None:
        s, f = self._open("/events")
        self.ready.wait()
        vitals = False
        for line in f:
            if line.startswith(b"event: "):
                vitals = line == b"event: vitals\n"
            elif vitals and line.startswith(b"data: "):
                now = time.monotonic()
                ts = json.loads(line[6:])["timestamp"]
                self.events += 1
                self.lateness.append(now - ts)
                self.first = self.first or now
                self.last = now
        s.close()

    def video_loop(self) -> None:
        s, f = self._open("/stream.mjpg")
        self.ready.wait()
        length = 0
        for line in f:
            if line.startswith(b"Content-Length: "):
                length = int(line[16:])
            elif line == b"\r\n" and length:
                f.read(length)
                self.frames += 1
                length = 0
        s.close()


def run_viewers(args: argparse.Namespace) -> None:
    host, port = args.url.split("//", 1)[1].rstrip("/").rsplit(":", 1)
    viewers = [Viewer(host, int(port)) for _ in range(args.viewers)]
    threads = []
    for v in viewers:
        threads += [threading.Thread(target=loop, daemon=True) for loop in (v.events_loop, v.video_loop)]
    for t in threads:
        t.start()
    for v in viewers:
        v.ready.wait()
    stalled = []
    for path in ["/events", "/stream.mjpg"] * args.stalled:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect((host, int(port)))
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        stalled.append(s)  # never read
    print("CONNECTED", flush=True)
    for t in threads:
        t.join()
    base = min((min(v.lateness) for v in viewers if v.lateness), default=0.0)
    out = []
    for v in viewers:
        span = max(v.last - v.first, 1e-9)
        late = sorted(x - base for x in v.lateness) or [float("nan")]
        out.append({"events_per_s": v.events / span, "frames_per_s": v.frames / span, "events": v.events,
                    "frames": v.frames, "late_p95_ms": 1000 * late[int(0.95 * (len(late) - 1))]})
    print("STATS " + json.dumps(out), flush=True)


# --------------------------------------------------------------------------- orchestration
def one(name: str, args: argparse.Namespace, web: bool, stalled: int, max_fps: float = 5.0,
        standin: bool = False) -> Dict[str, Any]:
    me = [sys.executable, str(Path(__file__).resolve())]
    pipe = subprocess.Popen(me + ["--role", "pipeline", "--duration", str(args.duration), "--max-fps", str(max_fps)]
                            + (["--web"] if web else []),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    url = pipe.stdout.readline().split()[1]  # type: ignore[union-attr]
    server: Optional[subprocess.Popen] = None
    if standin:
        server = subprocess.Popen(me + ["--role", "standin", "--duration", str(args.duration), "--max-fps",
                                        str(max_fps)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        url = server.stdout.readline().split()[1]  # type: ignore[union-attr]
    viewers: Optional[subprocess.Popen] = None
    if web or standin:
        viewers = subprocess.Popen(me + ["--role", "viewers", "--url", url, "--viewers", str(args.viewers),
                                         "--stalled", str(stalled)], stdout=subprocess.PIPE, text=True)
        assert viewers.stdout.readline().strip() == "CONNECTED"  # type: ignore[union-attr]
    for proc in (server, pipe):
        if proc is not None:
            proc.stdin.write("go\n")  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
    result = json.loads(pipe.stdout.read())  # type: ignore[union-attr]
    pipe.wait()
    if server is not None:
        server.wait()
    result["viewers"] = []
    if viewers is not None:
        line = viewers.stdout.read()  # type: ignore[union-attr]
        viewers.wait()
        result["viewers"] = json.loads(line.split("STATS ", 1)[1])
    print(f"{name}: {json.dumps({k: v for k, v in result.items() if k != 'viewers'})}", file=sys.stderr, flush=True)
    return result


def median_run(runs: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The run whose CPU per frame is the median of ``runs`` (the numbers of a row come from one run)."""
    ordered = sorted(runs, key=lambda r: r["cpu_ms_per_frame"])
    return {**ordered[(len(ordered) - 1) // 2], "all_cpu": [round(r["cpu_ms_per_frame"], 2) for r in runs]}


def paired_ratio(runs: List[Dict[str, Any]], base: List[Dict[str, Any]], key: str) -> float:
    """The median over rounds of ``key`` in a run divided by ``key`` in the same round's baseline run:
    a busy spell of the shared machine then slows both sides of each ratio."""
    return statistics.median(r[key] / b[key] for r, b in zip(runs, base))


def summarise(rows: Dict[str, Dict[str, Any]], args: argparse.Namespace) -> str:
    from bench.results import markdown_table

    base = rows["baseline (null sink)"]
    table = []
    for name, r in rows.items():
        v = r["viewers"]
        med = (lambda key: statistics.median(x[key] for x in v)) if v else (lambda key: float("nan"))
        low = (lambda key: min(x[key] for x in v)) if v else (lambda key: float("nan"))
        table.append([name, r["fps"], r["fps"] / base["fps"], r["cpu_ms_per_frame"],
                      r["cpu_ms_per_frame"] / base["cpu_ms_per_frame"], r["paired_cpu"], r["paired_loaded"],
                      f"{r['sink_ms_per_frame']:.2f} (+{100 * r['sink_share']:.1f} %)" if v and r["web"] else "–",
                      ", ".join(map(str, r["all_cpu"])),
                      f"{r['pipeline_thread_ms_per_frame']:.2f} / {r['other_threads_ms_per_frame']:.2f}",
                      " / ".join(f"{r['web_threads_ms_per_frame'].get(k, 0):.2f}" for k in WEB_THREADS) if v else "–",
                      r["dropped"],
                      f"{r['rss_10s_mb']:.0f} → {r['rss_end_mb']:.0f} (max {r['rss_max_mb']:.0f})",
                      f"{med('events_per_s'):.1f} / {low('events_per_s'):.1f}" if v else "–",
                      f"{med('frames_per_s'):.1f} / {low('frames_per_s'):.1f}" if v else "–",
                      f"{med('late_p95_ms'):.0f}" if v else "–",
                      f"{r['web'].get('dropped_messages', '–')} / {r['web'].get('max_queue', '–')}"])
    head = ["configuration", "processed fps", "× baseline", "CPU ms/frame", "× baseline",
            "CPU × same round's baseline (median)", "CPU × same round's client-loaded baseline (median)",
            "the sink's own CPU ms/frame (+ % of the same round's baseline, median)",
            "CPU ms/frame, each round",
            "pipeline thread / other threads ms/frame", "of which streamer (events, JPEG, writes) / HTTP ms/frame",
            "frames dropped",
            "RSS MB (10 s → end)", "viewer events/s (median / min)", "viewer video fps (median / min)",
            "event lateness p95 ms (median viewer)", "messages dropped for slow clients / largest queue"]
    return (f"{args.duration:g} s of a 30 fps 640x480 stream (rendered face, paced), default model and face "
            f"models, {args.viewers} viewers (one /events and one /stream.mjpg connection each) in another process; "
            "CPU is the pipeline process's (all threads: pipeline, source reader, server); each row is the run with "
            f"the median CPU of {args.repeat} rounds in which the configurations took turns (the 'each round' column); "
            "the paired column divides each round's CPU by that round's baseline and takes the median (the "
            "shared machine's load drifts between rounds more than the sink costs); the client-loaded baseline is a run "
            "without the sink while the same viewers read the same streams from a stand-in process (this 2-core "
            "machine then carries the viewers' own load in both runs: see the module doc); the sink's own CPU is "
            "what its threads (streamer, HTTP) and its write() on the pipeline thread used, counted per thread, "
            "so the machine's drift between runs does not enter it; "
            "'other threads' are the source reader's, and with the web sink its server's: the streamer thread "
            "serialises the events, draws and encodes the JPEG and writes to every viewer.\n\n"
            + markdown_table(head, table))


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=60.0, help="seconds of stream per configuration")
    p.add_argument("--viewers", type=int, default=20, help="viewers (pages) connected")
    p.add_argument("--repeat", type=int, default=3, help="rounds (configurations take turns; the median is shown)")
    p.add_argument("--no-record", action="store_true", help="do not write bench/RESULTS.md")
    p.add_argument("--role", choices=("main", "pipeline", "viewers", "standin"), default="main", help=argparse.SUPPRESS)
    p.add_argument("--web", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    p.add_argument("--stalled", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--max-fps", type=float, default=5.0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.role == "pipeline":
        print(json.dumps(run_pipeline(args)), flush=True)
        return 0
    if args.role == "viewers":
        run_viewers(args)
        return 0
    if args.role == "standin":
        run_standin(args)
        return 0
    loaded = f"baseline, {args.viewers} viewers served by another process"
    configs = {"baseline (null sink)": (False, 0, 5.0, False), loaded: (False, 0, 5.0, True),
               f"web, {args.viewers} viewers": (True, 0, 5.0, False),
               f"web, {args.viewers} viewers + 1 stalled": (True, 1, 5.0, False),
               f"web, {args.viewers} viewers, video at 10 fps": (True, 0, 10.0, False)}
    runs: Dict[str, List[Dict[str, Any]]] = {name: [] for name in configs}
    for _ in range(args.repeat):  # the configurations take turns, so that a busy spell hits them all
        for name, (web, stalled, max_fps, standin) in configs.items():
            runs[name].append(one(name, args, web=web, stalled=stalled, max_fps=max_fps, standin=standin))
    base = runs["baseline (null sink)"]
    rows = {name: {**median_run(rs), "paired_cpu": paired_ratio(rs, base, "cpu_ms_per_frame"),
                   "paired_loaded": paired_ratio(rs, runs[loaded], "cpu_ms_per_frame"),
                   "sink_share": statistics.median(r["sink_ms_per_frame"] / b["cpu_ms_per_frame"]
                                                   for r, b in zip(rs, base))}
            for name, rs in runs.items()}
    body = summarise(rows, args)
    print(body)
    if not args.no_record:
        from bench.results import record

        record(SECTION, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
