# Fresh machine:  make demo   (sets up .venv, synthesises a face video, estimates its HR)
#                 make test   (sets up .venv with test extras, runs the test suite)
#                 make test-newest (the suite's fast tests on the newest stack, .venv-newest)
# `pip install edge-rppg` alone is the inference core; the .venv here gets the [dev] extra, which
# brings what the demo ([synth], [plot]) and the tests ([train], [export]) need. torch is pinned
# first so that pip keeps that build (the CPU wheel on disk) instead of choosing another.
# Two stacks (issue 26): .venv is the oldest supported one (numpy 1.x, OpenCV 4.x: the [mediapipe]
# reference in [dev] holds numpy below 2, so pip picks an OpenCV < 4.12); .venv-newest is the newest
# (numpy 2.x, OpenCV 5.x, no mediapipe). `make test` runs the whole suite on the first; `make
# test-newest` runs it without the slow tests on the second (the slow ones exercise the same code paths
# on longer clips); CI runs both, and `make check-floor` (the bare install at every requirement's floor).
# `make stacks` prints what pip chose in each.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NEWEST := .venv-newest
NPY    := $(NEWEST)/bin/python
NSTAMP := $(NEWEST)/.installed
# the suite's versions line: numpy, OpenCV, SciPy, ONNX Runtime, mediapipe (or none)
STACK  := import importlib.util as u, importlib.metadata as m, sys, numpy, cv2, scipy, onnxruntime as o; \
          mp = u.find_spec("mediapipe") and m.version("mediapipe"); \
          print(f"python {sys.version.split()[0]}, numpy {numpy.__version__}, opencv {cv2.__version__}, " \
                f"scipy {scipy.__version__}, onnxruntime {o.__version__}, mediapipe {mp or None}")

.PHONY: setup setup-newest stacks demo test test-newest check-floor test-fast bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]" "numpy<2"
	@if pkg-config --exists gobject-introspection-1.0 cairo 2>/dev/null; then \
	  echo "GStreamer dev packages found: installing the [gstreamer] extra"; \
	  $(PY) -m pip install -q -e ".[dev,gstreamer]" "numpy<2"; fi
	touch $(STAMP)

setup: $(STAMP)

# Each venv names its stack's numpy (and the newest its OpenCV) so that it fails to build rather than
# silently testing another stack if a dependency ever moves (.venv: "numpy<2", which [mediapipe]
# holds today anyway).
$(NSTAMP): pyproject.toml
	$(PYTHON) -m venv $(NEWEST)
	$(NPY) -m pip install -q --upgrade pip
	$(NPY) -m pip install -q torch==2.13.0
	$(NPY) -m pip install -q -e ".[test]" "numpy>=2" "opencv-contrib-python>=5"
	@if pkg-config --exists gobject-introspection-1.0 cairo 2>/dev/null; then \
	  echo "GStreamer dev packages found: installing the [gstreamer] extra"; \
	  $(NPY) -m pip install -q -e ".[test,gstreamer]" "numpy>=2" "opencv-contrib-python>=5"; fi
	touch $(NSTAMP)

setup-newest: $(NSTAMP)

stacks: setup setup-newest
	@printf "oldest (%s): " $(VENV); $(PY) -c '$(STACK)'
	@printf "newest (%s): " $(NEWEST); $(NPY) -c '$(STACK)'

demo: setup
	$(VENV)/bin/edge-rppg demo --out out/demo

test: setup
	@$(PY) -c '$(STACK)'
	$(PY) -m pytest -q -p no:cacheprovider -n auto

test-newest: setup-newest
	@$(NPY) -c '$(STACK)'
	$(NPY) -m pytest -q -p no:cacheprovider -n auto -m "not slow"

# the core at the floor of every requirement (numpy 1.24, OpenCV 4.8, SciPy 1.10, ONNX Runtime 1.17, ...):
# a fresh .venv-floor with the bare install, `edge-rppg estimate` on a clip with known HR
check-floor: setup
	$(VENV)/bin/edge-rppg synth out/floor/clip.avi --hr 75 --duration 12 --seed 5 --set width=320 --set height=240 >/dev/null
	$(PY) tools/floor_stack.py out/floor/clip.avi --venv .venv-floor

test-fast: setup
	$(PY) -m pytest -q -p no:cacheprovider -m "not slow"

bench: setup
	$(PY) bench/bench_roi_averaging.py
	$(PY) bench/bench_end_to_end.py
	$(PY) bench/bench_runtime.py throughput
	$(PY) bench/bench_model_complexity.py
	$(PY) bench/bench_engines.py --checkpoint edge_rppg/assets/cluster_phys_default.pt
	$(PY) bench/bench_model_vs_classic.py edge_rppg/assets/cluster_phys_default.pt
	$(PY) bench/bench_realistic.py
	$(PY) bench/bench_landmark_schedule.py
	$(PY) bench/bench_live_cpu.py
	$(PY) bench/bench_web_sink.py

clean:
	rm -rf $(VENV) $(NEWEST) .venv-floor out .pytest_cache
