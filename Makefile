# Fresh machine:  make demo   (sets up .venv, synthesises a face video, estimates its HR)
#                 make test   (sets up .venv with test extras, runs the test suite)
# `pip install edge-rppg` alone is the inference core; the .venv here gets the [dev] extra, which
# brings what the demo ([synth], [plot]) and the tests ([train], [export]) need. torch is pinned
# first so that pip keeps that build (the CPU wheel on disk) instead of choosing another.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup demo test test-fast bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	@if pkg-config --exists gobject-introspection-1.0 cairo 2>/dev/null; then \
	  echo "GStreamer dev packages found: installing the [gstreamer] extra"; \
	  $(PY) -m pip install -q -e ".[dev,gstreamer]"; fi
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(VENV)/bin/edge-rppg demo --out out/demo

test: setup
	$(PY) -m pytest -q -p no:cacheprovider -n auto

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
	rm -rf $(VENV) out .pytest_cache
