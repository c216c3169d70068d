"""Tests of the CUDA ROI-averaging kernel (``edge_rppg.runtime.cuda_roi``) and of the core's
ROI-backend registry (``edge_rppg.skin.roi_backends``) it registers into.

The CPU path and the backend selection are tested everywhere. The kernel tests need a
CUDA GPU with CuPy or PyCUDA and are skipped with the reason otherwise; where they run,
the kernel's per-ROI sums must equal the CPU ``bincount`` path exactly (integer sums)
and the 63x6 MSTmap rows within 1e-4 relative.
"""
from __future__ import annotations

import numpy as np
import pytest

from edge_rppg.skin.mstmap import combine_roi_sums
from edge_rppg.skin.roi import roi_sums
from edge_rppg.runtime.cuda_roi import (CUDA_SOURCE, CpuRoiSummer, available_backends, make_roi_summer,
                              unavailable_reasons)

GPU_BACKENDS = [b for b in available_backends() if b != "cpu"]
GPU_WHY = "; ".join(f"{k}: {v}" for k, v in unavailable_reasons().items()) or "no GPU backend"


def _row(summer, frame, labels, offset):
    """The [63, 6] MSTmap row of one frame through ``summer`` (the maths of the roi stage)."""
    return combine_roi_sums(*summer.sums(frame, labels, offset))


def _scene(h: int, w: int, seed: int = 0) -> tuple:
    """A random frame and a label map with six blobs (labels 1..6) inside a face box."""
    rng = np.random.default_rng(seed)
    frame = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    labels = np.zeros((h, w), np.uint8)
    y0, x0, y1, x1 = h // 5, w // 4, 4 * h // 5, 3 * w // 4
    yy, xx = np.mgrid[y0:y1, x0:x1]
    labels[y0:y1, x0:x1] = (1 + ((yy // 7 + xx // 11) % 6)).astype(np.uint8)
    labels[y0:y0 + 5, x0:x1] = 0  # some background inside the box
    return frame, labels, (x0, y0, x1, y1)


def test_cpu_summer_on_crop_equals_full_frame() -> None:
    frame, labels, (x0, y0, x1, y1) = _scene(240, 320)
    full_s, full_c = roi_sums(frame, labels)
    s, c = CpuRoiSummer().sums(frame, labels[y0:y1, x0:x1], (x0, y0))
    np.testing.assert_array_equal(s, full_s)
    np.testing.assert_array_equal(c, full_c)
    row = _row(CpuRoiSummer(), frame, labels[y0:y1, x0:x1], (x0, y0))
    np.testing.assert_allclose(row, combine_roi_sums(full_s, full_c), rtol=1e-6)
    with pytest.raises(ValueError, match="does not fit"):
        CpuRoiSummer().sums(frame, labels[y0:y1, x0:x1], (x1, y1))


def test_backend_selection() -> None:
    backends = available_backends()
    assert backends[-1] == "cpu"
    assert make_roi_summer("cpu").backend == "cpu"
    assert make_roi_summer("auto").backend == backends[0]
    for name, why in unavailable_reasons().items():
        with pytest.raises(RuntimeError, match=name):
            make_roi_summer(name)
        assert why
    with pytest.raises(KeyError):
        make_roi_summer("opencl")


def test_kernel_source_has_both_kernels() -> None:
    assert 'extern "C" __global__ void roi_sums_kernel' in CUDA_SOURCE
    assert 'extern "C" __global__ void subset_means_kernel' in CUDA_SOURCE
    assert "__shfl_down_sync" in CUDA_SOURCE and "atomicAdd" in CUDA_SOURCE


@pytest.mark.gpu
@pytest.mark.skipif(not GPU_BACKENDS, reason=f"needs a CUDA GPU with CuPy or PyCUDA ({GPU_WHY})")
@pytest.mark.parametrize("backend", GPU_BACKENDS or ["none"])
@pytest.mark.parametrize("size", [(480, 640), (1080, 1920), (37, 53)])
def test_kernel_equals_cpu(backend: str, size: tuple) -> None:
    h, w = size
    frame, labels, (x0, y0, x1, y1) = _scene(h, w, seed=h)
    cpu_s, cpu_c = roi_sums(frame, labels)
    summer = make_roi_summer(backend)
    # host frame, face-box crop of the labels at an offset
    s, c = summer.sums(frame, labels[y0:y1, x0:x1], (x0, y0))
    np.testing.assert_array_equal(c, cpu_c)
    np.testing.assert_allclose(s, cpu_s, rtol=1e-12)  # exact integer sums
    row_gpu = _row(summer, frame, labels[y0:y1, x0:x1], (x0, y0))
    row_cpu = combine_roi_sums(cpu_s, cpu_c)
    np.testing.assert_allclose(row_gpu, row_cpu, rtol=1e-4)
    # full-frame labels give the same answer
    s2, c2 = summer.sums(frame, labels)
    np.testing.assert_array_equal(c2, cpu_c)
    np.testing.assert_allclose(s2, cpu_s, rtol=1e-12)


@pytest.mark.gpu
@pytest.mark.skipif("cupy" not in GPU_BACKENDS, reason=f"needs CuPy and a CUDA GPU ({GPU_WHY})")
def test_cupy_device_frame_and_device_row() -> None:
    import cupy as cp

    frame, labels, (x0, y0, x1, y1) = _scene(480, 640, seed=5)
    cpu_row = combine_roi_sums(*roi_sums(frame, labels))
    summer = make_roi_summer("cupy")
    d_frame = cp.asarray(frame)  # the frame already lives on the GPU
    s, c = summer.sums(d_frame, labels[y0:y1, x0:x1], (x0, y0))
    np.testing.assert_array_equal(c, roi_sums(frame, labels)[1])
    d_row = summer.device_row(d_frame, labels[y0:y1, x0:x1], (x0, y0))
    np.testing.assert_allclose(cp.asnumpy(d_row), cpu_row, rtol=1e-4, equal_nan=True)
    # a subset with no pixels is NaN on both paths
    empty = labels.copy()
    empty[empty == 1] = 0
    d_row = cp.asnumpy(summer.device_row(d_frame, empty))
    ref = combine_roi_sums(*roi_sums(frame, empty))
    assert np.isnan(d_row[0]).all() and np.isnan(ref[0]).all()
    np.testing.assert_allclose(d_row, ref, rtol=1e-4, equal_nan=True)


def test_roi_stage_uses_requested_backend() -> None:
    from edge_rppg.skin.stage import RoiStage

    assert RoiStage("cpu").backend == "cpu"
    assert RoiStage("auto").backend == available_backends()[0]


# In a fresh interpreter: the core (API, processor, stages, ROI backends) imports nothing from
# runtime/, importing edge_rppg.runtime.cuda_roi registers nothing, and the GPU backends are
# registered lazily (the same for EdgeRPPG and `edge-rppg run`) the first time a list is needed.
LAYERING_CHECK = r"""
import sys
import edge_rppg.api, edge_rppg.processor.stream, edge_rppg.skin.stage
from edge_rppg.skin.roi_backends import ROI_BACKENDS, auto_order, available_backends, make_roi_summer
from edge_rppg.errors import EdgeRPPGError
leaked = sorted(m for m in sys.modules if m == "edge_rppg.runtime" or m.startswith("edge_rppg.runtime."))
assert not leaked, leaked
import edge_rppg.runtime.cuda_roi
assert ROI_BACKENDS.names() == ["cpu"], ROI_BACKENDS.names()
assert edge_rppg.runtime.cuda_roi.BACKENDS is ROI_BACKENDS
assert auto_order() == ("cupy", "pycuda", "cpu"), auto_order()
from edge_rppg.skin.stage import RoiStage
assert RoiStage("auto").backend == available_backends()[0]
if available_backends() == ["cpu"]:
    try:
        make_roi_summer("cupy")
        raise SystemExit("cupy is not usable on a machine without a GPU")
    except EdgeRPPGError as exc:
        assert "cupy" in str(exc), exc
print("ok")
"""


def test_core_never_imports_runtime_and_runtime_registers_gpu_backends() -> None:
    import subprocess
    import sys
    from pathlib import Path

    res = subprocess.run([sys.executable, "-c", LAYERING_CHECK], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[1])
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr[-2000:]


# --------------------------------------------------------------------------- CPU emulation of the kernel
# Without a GPU the CUDA C source is still compiled and executed: a small C++ shim maps the
# CUDA built-ins onto std::thread (one thread per CUDA thread, a std::barrier for
# __syncthreads and for the warp shuffles, std::atomic_ref for atomicAdd) and runs the
# exact text of CUDA_SOURCE with a multi-block grid, so indexing, the grid-stride loop and
# the warp/block/global reduction are checked against the CPU path on every machine.
SHIM = r"""
#include <atomic>
#include <barrier>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>
struct dim { int x = 0, y = 0, z = 0; };
static thread_local dim threadIdx, blockIdx;
static dim blockDim, gridDim;
static std::barrier<>* g_bar = nullptr;
static unsigned long long g_shfl[1024];
#define __global__
#define __shared__ static
#define __restrict__
#define __syncthreads() g_bar->arrive_and_wait()
static inline unsigned long long __shfl_down_sync(unsigned, unsigned long long v, int off) {
    int t = threadIdx.x, lane = t & 31;
    g_shfl[t] = v; g_bar->arrive_and_wait();
    unsigned long long r = (lane + off < 32) ? g_shfl[t + off] : v;
    g_bar->arrive_and_wait();
    return r;
}
template <class T> static inline T atomicAdd(T* p, T v) { return std::atomic_ref<T>(*p).fetch_add(v); }
static inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
"""

DRIVER = r"""
template <class F> static void launch(int grid, int block, F f) {
    gridDim.x = grid; blockDim.x = block;
    for (int b = 0; b < grid; ++b) {
        std::barrier<> bar(block); g_bar = &bar;
        std::vector<std::thread> ts;
        for (int t = 0; t < block; ++t) ts.emplace_back([=] { threadIdx.x = t; blockIdx.x = b; f(); });
        for (auto& th : ts) th.join();
    }
}
int main(int argc, char** argv) {
    int H, W, x0, y0, w, h, grid, block;
    FILE* in = std::fopen(argv[1], "rb");
    std::fread(&H, 4, 1, in); std::fread(&W, 4, 1, in); std::fread(&x0, 4, 1, in); std::fread(&y0, 4, 1, in);
    std::fread(&w, 4, 1, in); std::fread(&h, 4, 1, in); std::fread(&grid, 4, 1, in); std::fread(&block, 4, 1, in);
    std::vector<unsigned char> frame((size_t)H * W * 3), labels((size_t)h * w);
    std::fread(frame.data(), 1, frame.size(), in); std::fread(labels.data(), 1, labels.size(), in);
    std::vector<double> subset(63 * 6), ym(9), yo(3);
    std::fread(subset.data(), 8, subset.size(), in); std::fread(ym.data(), 8, 9, in); std::fread(yo.data(), 8, 3, in);
    std::fclose(in);
    std::vector<unsigned long long> out(24, 0);
    launch(grid, block, [&] { roi_sums_kernel(frame.data(), (long long)W * 3, labels.data(), (long long)w,
                                              x0, y0, w, h, out.data()); });
    std::vector<float> rows(63 * 6);
    launch(1, 64, [&] { subset_means_kernel(out.data(), subset.data(), ym.data(), yo.data(), 63, rows.data()); });
    FILE* o = std::fopen(argv[2], "wb");
    std::fwrite(out.data(), 8, 24, o); std::fwrite(rows.data(), 4, rows.size(), o); std::fclose(o);
    return 0;
}
"""


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory):
    import shutil
    import subprocess

    cxx = shutil.which("g++") or shutil.which("clang++")
    if cxx is None:
        pytest.skip("no C++ compiler (g++/clang++) to build the CPU emulation of the CUDA kernel")
    d = tmp_path_factory.mktemp("cuda_emu")
    src = d / "emu.cpp"
    src.write_text(SHIM + CUDA_SOURCE + DRIVER)
    exe = d / "emu"
    res = subprocess.run([cxx, "-std=c++20", "-O1", "-pthread", str(src), "-o", str(exe)],
                         capture_output=True, text=True)
    if res.returncode != 0 and "barrier" in res.stderr:
        pytest.skip(f"{cxx} lacks C++20 <barrier>: {res.stderr.strip()[:200]}")
    assert res.returncode == 0, res.stderr  # the kernel source must compile as C++ too

    def run(frame: np.ndarray, labels: np.ndarray, offset: tuple, grid: int, block: int) -> tuple:
        from edge_rppg.skin.mstmap import SUBSET_MATRIX, YUV_MATRIX, YUV_OFFSET

        H, W = frame.shape[:2]
        h, w = labels.shape
        blob = (np.array([H, W, offset[0], offset[1], w, h, grid, block], np.int32).tobytes()
                + np.ascontiguousarray(frame).tobytes() + np.ascontiguousarray(labels).tobytes()
                + np.ascontiguousarray(SUBSET_MATRIX, np.float64).tobytes()
                + np.ascontiguousarray(YUV_MATRIX, np.float64).tobytes()
                + np.ascontiguousarray(YUV_OFFSET, np.float64).tobytes())
        (d / "in.bin").write_bytes(blob)
        subprocess.run([str(exe), str(d / "in.bin"), str(d / "out.bin")], check=True, timeout=60)
        raw = (d / "out.bin").read_bytes()
        acc = np.frombuffer(raw[:192], np.uint64).reshape(6, 4)
        rows = np.frombuffer(raw[192:], np.float32).reshape(63, 6)
        return acc[:, :3].astype(np.float64), acc[:, 3].astype(np.int64), rows

    return run


@pytest.mark.parametrize("grid,block", [(1, 32), (3, 64), (7, 96)])
def test_kernel_source_on_cpu_emulator_equals_cpu_path(emulator, grid: int, block: int) -> None:
    frame, labels, (x0, y0, x1, y1) = _scene(61, 83, seed=grid)
    cpu_s, cpu_c = roi_sums(frame, labels)
    s, c, rows = emulator(frame, labels[y0:y1, x0:x1], (x0, y0), grid, block)
    np.testing.assert_array_equal(c, cpu_c)
    np.testing.assert_array_equal(s, cpu_s)
    np.testing.assert_allclose(rows, combine_roi_sums(cpu_s, cpu_c), rtol=1e-4)
    # an ROI with no pixels: its subsets are NaN, like the CPU path
    empty = labels.copy()
    empty[empty == 3] = 0
    s, c, rows = emulator(frame, empty, (0, 0), grid, block)
    ref = combine_roi_sums(*roi_sums(frame, empty))
    assert c[2] == 0 and np.isnan(rows[3]).all()
    np.testing.assert_allclose(rows, ref, rtol=1e-4, equal_nan=True)
