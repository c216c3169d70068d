"""Per-ROI colour sums on the GPU: one CUDA pass over a frame in GPU memory.

Why: at 1080p the CPU ``np.bincount`` path spends milliseconds per frame on what is a
memory-bound reduction; on a Jetson or a dGPU the frame is often already in device
memory (NVMM/zero-copy buffers, a decoder output), so the reduction belongs there.

The CUDA C source below (:data:`CUDA_SOURCE`) has two kernels:

``roi_sums_kernel``
    reads each pixel of the face rectangle once (grid-stride loop, one pixel per thread
    per step), adds R, G, B and 1 into per-thread register accumulators selected by the
    pixel's label (0 = background, 1..6 = meta-ROI), reduces them across the warp with
    shuffles, then across the block in shared memory, and finally issues one 64-bit
    ``atomicAdd`` per (ROI, channel) per block into the global ``[6, 4]`` result. The
    sums are exact integers, so the result equals the CPU ``roi_sums`` exactly.
``subset_means_kernel``
    turns the ``[6, 4]`` sums into the ``[63, 6]`` MSTmap row on the device with the
    :data:`~edge_rppg.skin.mstmap.SUBSET_MATRIX` and the BT.601 matrix of
    :mod:`edge_rppg.skin.mstmap` (passed in, not re-typed), for pipelines that keep the
    MSTmap on the GPU (a TensorRT engine, say).

The source is compiled at run time: CuPy ``RawModule`` (NVRTC) where CuPy is installed,
PyCUDA ``SourceModule`` (nvcc) on Jetson. :func:`register_backends` registers the two as
``"cupy"`` and ``"pycuda"`` in the core's :data:`edge_rppg.skin.roi_backends.ROI_BACKENDS`;
the core calls it the first time a backend list is needed, through this package's entry point
in the group :data:`edge_rppg.skin.roi_backends.ENTRY_POINT_GROUP` (pyproject.toml), and
importing this module registers nothing, so
:func:`make_roi_summer` with ``"auto"`` picks them when they work and falls back to the
CPU path (:class:`CpuRoiSummer`, :func:`edge_rppg.skin.roi.roi_sums`). The CPU summer and the
selection functions live in :mod:`edge_rppg.skin.roi_backends` and are re-exported here so
existing imports keep working. :func:`available_backends` lists what works on this machine.
"""
from __future__ import annotations

from typing import Any, Callable, Tuple

import numpy as np

from edge_rppg.skin.mstmap import N_META_ROIS, SUBSET_MATRIX, YUV_MATRIX, YUV_OFFSET
from edge_rppg.skin.roi_backends import ROI_BACKENDS, CpuRoiSummer, RoiSummer, available_backends
from edge_rppg.skin.roi_backends import check_rect as _check_rect
from edge_rppg.skin.roi_backends import make_roi_summer, unavailable_reasons

__all__ = ["CUDA_SOURCE", "BACKENDS", "RoiSummer", "CpuRoiSummer", "CupyRoiSummer", "PycudaRoiSummer",
           "available_backends", "unavailable_reasons", "make_roi_summer", "register_backends"]

N_ACC = N_META_ROIS * 4  # R, G, B, count per ROI
BLOCK = 256

CUDA_SOURCE = r"""
#define N_ROI 6
#define N_ACC (N_ROI * 4)
typedef unsigned long long u64;

// Per-ROI R,G,B sums and pixel counts of the rectangle (x0, y0, width, height) of an
// interleaved 8-bit RGB frame (row pitch in bytes), labels given for that rectangle
// (uint8, row pitch in bytes, 0 = background, 1..6 = ROI). out: u64[N_ROI * 4], zeroed
// by the caller, laid out as [roi][r, g, b, count].
extern "C" __global__ void roi_sums_kernel(
    const unsigned char* __restrict__ frame, const long long frame_pitch,
    const unsigned char* __restrict__ labels, const long long label_pitch,
    const int x0, const int y0, const int width, const int height,
    u64* __restrict__ out)
{
    __shared__ u64 block_acc[N_ACC];
    const int tid = threadIdx.x;
    for (int i = tid; i < N_ACC; i += blockDim.x) block_acc[i] = 0ULL;
    __syncthreads();

    unsigned int acc[N_ACC];
#pragma unroll
    for (int i = 0; i < N_ACC; ++i) acc[i] = 0u;

    const int n = width * height;
    const int stride = gridDim.x * blockDim.x;
    for (int p = blockIdx.x * blockDim.x + tid; p < n; p += stride) {
        const int y = p / width;
        const int x = p - y * width;
        const unsigned int lab = labels[(long long)y * label_pitch + x];
        if (lab == 0u || lab > N_ROI) continue;
        const unsigned char* px = frame + (long long)(y + y0) * frame_pitch + (long long)(x + x0) * 3;
        const unsigned int r = px[0], g = px[1], b = px[2];
#pragma unroll
        for (int k = 0; k < N_ROI; ++k) {
            const unsigned int m = (lab == (unsigned int)(k + 1)) ? 1u : 0u;
            acc[4 * k + 0] += m * r;
            acc[4 * k + 1] += m * g;
            acc[4 * k + 2] += m * b;
            acc[4 * k + 3] += m;
        }
    }

    // warp reduction (64-bit so that 32 lanes of large per-thread sums cannot overflow)
    const int lane = tid & 31;
#pragma unroll
    for (int i = 0; i < N_ACC; ++i) {
        u64 v = (u64)acc[i];
        for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
        if (lane == 0 && v != 0ULL) atomicAdd(&block_acc[i], v);
    }
    __syncthreads();
    // block result → global, one atomic per accumulator per block
    for (int i = tid; i < N_ACC; i += blockDim.x) {
        const u64 v = block_acc[i];
        if (v != 0ULL) atomicAdd(&out[i], v);
    }
}

// [63, 6] MSTmap row from the per-ROI sums: row r = union of the ROIs selected by
// subset[r, :] (the SUBSET_MATRIX, float64 [63, 6]); channels R, G, B means and
// Y, U, V = yuv_m @ rgb + yuv_off (float64 [3, 3] and [3]). Rows with no pixels → NaN.
extern "C" __global__ void subset_means_kernel(
    const u64* __restrict__ sums, const double* __restrict__ subset,
    const double* __restrict__ yuv_m, const double* __restrict__ yuv_off,
    const int n_rows, float* __restrict__ out)
{
    const int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= n_rows) return;
    double s[4] = {0.0, 0.0, 0.0, 0.0};
    for (int j = 0; j < N_ROI; ++j) {
        const double w = subset[r * N_ROI + j];
        for (int c = 0; c < 4; ++c) s[c] += w * (double)sums[4 * j + c];
    }
    float* o = out + r * 6;
    if (s[3] <= 0.0) {
        const float nan = __int_as_float(0x7fc00000);
        for (int c = 0; c < 6; ++c) o[c] = nan;
        return;
    }
    const double rgb[3] = {s[0] / s[3], s[1] / s[3], s[2] / s[3]};
    for (int c = 0; c < 3; ++c) {
        o[c] = (float)rgb[c];
        o[3 + c] = (float)(yuv_m[3 * c + 0] * rgb[0] + yuv_m[3 * c + 1] * rgb[1]
                           + yuv_m[3 * c + 2] * rgb[2] + yuv_off[c]);
    }
}
"""


def _split(acc: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """``u64 [6*4]`` kernel output → ``(sums [6,3] float64, counts [6] int64)``."""
    a = np.asarray(acc, dtype=np.uint64).reshape(N_META_ROIS, 4)
    return a[:, :3].astype(np.float64), a[:, 3].astype(np.int64)


def _grid(n_pixels: int, sm_count: int) -> int:
    """Enough blocks to fill the GPU a few times over, never more than one per 256 pixels."""
    return max(1, min((n_pixels + BLOCK - 1) // BLOCK, sm_count * 8))


class CupyRoiSummer:
    """The kernels through CuPy ``RawModule`` (NVRTC), for dGPUs and any CuPy install."""

    backend = "cupy"

    def __init__(self) -> None:
        from edge_rppg.extras import require
        require("cupy", "cuda")  # missing: one line naming the extra to install
        import cupy as cp

        self._cp = cp
        self._mod = cp.RawModule(code=CUDA_SOURCE)
        self._sums_k = self._mod.get_function("roi_sums_kernel")
        self._means_k = self._mod.get_function("subset_means_kernel")
        self._sm = int(cp.cuda.Device().attributes["MultiProcessorCount"])
        self._subset = cp.asarray(np.ascontiguousarray(SUBSET_MATRIX, dtype=np.float64))
        self._yuv_m = cp.asarray(np.ascontiguousarray(YUV_MATRIX, dtype=np.float64))
        self._yuv_off = cp.asarray(np.ascontiguousarray(YUV_OFFSET, dtype=np.float64))

    def device_sums(self, frame: Any, labels: Any, offset: Tuple[int, int] = (0, 0)) -> Any:
        """Launch ``roi_sums_kernel``; returns the device ``u64 [24]`` accumulator (no sync)."""
        cp = self._cp
        x0, y0 = _check_rect(tuple(frame.shape), labels, offset)
        f = frame if isinstance(frame, cp.ndarray) else cp.asarray(np.ascontiguousarray(frame))
        lab = labels if isinstance(labels, cp.ndarray) else cp.asarray(np.ascontiguousarray(labels, dtype=np.uint8))
        if f.dtype != cp.uint8 or f.strides[2] != 1 or f.strides[1] != 3:
            f = cp.ascontiguousarray(f, dtype=cp.uint8)
        if lab.strides[1] != 1:
            lab = cp.ascontiguousarray(lab)
        h, w = lab.shape
        out = cp.zeros(N_ACC, dtype=cp.uint64)
        self._sums_k((_grid(h * w, self._sm),), (BLOCK,),
                     (f, np.int64(f.strides[0]), lab, np.int64(lab.strides[0]),
                      np.int32(x0), np.int32(y0), np.int32(w), np.int32(h), out))
        return out

    def sums(self, frame: Any, labels: Any, offset: Tuple[int, int] = (0, 0)) -> Tuple[np.ndarray, np.ndarray]:
        """Sums and counts (host arrays). A host frame is uploaded crop-only."""
        if isinstance(frame, np.ndarray):
            x0, y0 = _check_rect(frame.shape, np.asarray(labels), offset)
            h, w = labels.shape[:2]
            frame, offset = frame[y0:y0 + h, x0:x0 + w], (0, 0)
        return _split(self.device_sums(frame, labels, offset).get())

    def device_row(self, frame: Any, labels: Any, offset: Tuple[int, int] = (0, 0)) -> Any:
        """The ``[63, 6]`` MSTmap row computed and left on the device (float32 cupy array)."""
        cp = self._cp
        acc = self.device_sums(frame, labels, offset)
        out = cp.empty((SUBSET_MATRIX.shape[0], 6), dtype=cp.float32)
        n = SUBSET_MATRIX.shape[0]
        self._means_k((1,), (64,), (acc, self._subset, self._yuv_m, self._yuv_off, np.int32(n), out))
        return out


class PycudaRoiSummer:
    """The kernels through PyCUDA ``SourceModule`` (nvcc at run time), the Jetson path.

    Uses the device's primary context, pushed around every call, so the object may be
    created in one thread and used in another (never in two at once).
    """

    backend = "pycuda"

    def __init__(self, device: int = 0) -> None:
        from edge_rppg.extras import require
        require("pycuda", "jetson")  # missing: one line naming the extra to install
        import pycuda.driver as cuda
        from pycuda.compiler import SourceModule

        cuda.init()
        self._cuda = cuda
        self._ctx = cuda.Device(device).retain_primary_context()
        self._ctx.push()
        try:
            self._mod = SourceModule(CUDA_SOURCE, no_extern_c=True)
            self._sums_k = self._mod.get_function("roi_sums_kernel")
            self._means_k = self._mod.get_function("subset_means_kernel")
            self._sm = int(cuda.Context.get_device().get_attribute(cuda.device_attribute.MULTIPROCESSOR_COUNT))
        finally:
            self._ctx.pop()

    def sums(self, frame: Any, labels: np.ndarray, offset: Tuple[int, int] = (0, 0)) -> Tuple[np.ndarray, np.ndarray]:
        """Sums and counts. ``frame``: host array (crop uploaded) or a pycuda ``GPUArray``."""
        import pycuda.gpuarray as gpuarray  # present: __init__ required pycuda

        labels = np.ascontiguousarray(labels, dtype=np.uint8)
        x0, y0 = _check_rect(tuple(frame.shape), labels, offset)
        h, w = labels.shape
        self._ctx.push()
        try:
            if isinstance(frame, np.ndarray):
                f = gpuarray.to_gpu(np.ascontiguousarray(frame[y0:y0 + h, x0:x0 + w]))
                x0 = y0 = 0
            else:
                f = frame
            lab = gpuarray.to_gpu(labels)
            out = gpuarray.zeros(N_ACC, dtype=np.uint64)
            self._sums_k(f.gpudata, np.int64(f.strides[0]), lab.gpudata, np.int64(lab.strides[0]),
                         np.int32(x0), np.int32(y0), np.int32(w), np.int32(h), out.gpudata,
                         block=(BLOCK, 1, 1), grid=(_grid(h * w, self._sm), 1))
            return _split(out.get())
        finally:
            self._ctx.pop()


def _probe_cupy() -> bool:
    from edge_rppg.extras import require
    require("cupy", "cuda")  # missing: one line naming the extra to install
    import cupy as cp

    return cp.cuda.runtime.getDeviceCount() > 0


def _probe_pycuda() -> bool:
    from edge_rppg.extras import require
    require("pycuda", "jetson")  # missing: one line naming the extra to install
    import pycuda.driver as cuda

    cuda.init()
    return cuda.Device.count() > 0


#: The core's ROI-backend registry (name → ``RoiBackend(factory, probe, rank)``), under its old name.
BACKENDS = ROI_BACKENDS


def register_backends(register: Callable[[str, Callable[[], RoiSummer], Callable[[], bool], int], None]) -> None:
    """Register ``"cupy"`` (rank 0) and ``"pycuda"`` (rank 1) through ``register(name,
    factory, probe, rank)``; "auto" tries CuPy, then PyCUDA, then the CPU (ranked last)."""
    register("cupy", CupyRoiSummer, _probe_cupy, 0)
    register("pycuda", PycudaRoiSummer, _probe_pycuda, 1)
