"""Multi-scale spatial-temporal map (MSTmap) maths: per-ROI sums → 63 subset means → YUV.

An MSTmap row ``r`` (0..62) is the subset of the six meta-ROIs whose bitmask is ``r + 1``
(binary counting order, bit ``j`` = ROI ``j``; row 62 is the whole face), and its value is
the **pixel-count-weighted** mean colour of the union of its member ROIs (the ROIs are
disjoint in the label map, so this equals the mean over the union).  Channels are
R, G, B from the means and Y, U, V from those same means by the linear BT.601 transform
(Y = .299R + .587G + .114B, U = 128 − .168736R − .331264G + .5B,
V = 128 + .5R − .418688G − .081312B) — the conventions of the public MSTmap code (CVD)
that Cluster-Phys (§3.2.1) builds on.

Everything here is vectorised over time: one ``matmul`` turns ``[T, 6]`` ROI sums into
``[T, 63]`` subset sums, so the 63 rows cost no more than the 6 ROIs.
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

import numpy as np

from ..errors import ShapeError, UnknownNameError

N_META_ROIS = 6
N_SUBSETS = 2 ** N_META_ROIS - 1  # 63
CHANNELS = ("R", "G", "B", "Y", "U", "V")
#: The MSTmap row of all six meta-ROIs together: the whole face.
WHOLE_FACE_ROW = N_SUBSETS - 1
#: The MSTmap rows of one meta-ROI each (bitmask ``1 << j``, row ``(1 << j) - 1``): six disjoint
#: patches of skin (forehead, four cheek parts, chin; :data:`edge_rppg.skin.roi.META_ROI_NAMES` order).
SINGLE_ROI_ROWS: Tuple[int, ...] = tuple((1 << j) - 1 for j in range(N_META_ROIS))


def _subset_matrix() -> np.ndarray:
    rows = np.arange(1, N_SUBSETS + 1)[:, None]
    bits = (rows >> np.arange(N_META_ROIS)[None, :]) & 1
    m = bits.astype(np.float64)
    m.setflags(write=False)
    return m


#: ``[63, 6]`` 0/1 matrix; row ``r`` holds the bits of ``r + 1`` (bit ``j`` = meta-ROI ``j``).
SUBSET_MATRIX: np.ndarray = _subset_matrix()

#: BT.601 RGB → YUV matrix (rows Y, U, V) and offset, as in the CVD MSTmap code.
YUV_MATRIX: np.ndarray = np.array([[0.299, 0.587, 0.114],
                                   [-0.168736, -0.331264, 0.5],
                                   [0.5, -0.418688, -0.081312]], dtype=np.float64)
YUV_OFFSET: np.ndarray = np.array([0.0, 128.0, 128.0], dtype=np.float64)
YUV_MATRIX.setflags(write=False)
YUV_OFFSET.setflags(write=False)


def rgb_to_yuv(rgb: np.ndarray) -> np.ndarray:
    """Convert ``[..., 3]`` RGB values (0..255 scale) to BT.601 YUV ``[..., 3]`` (float64).

    Linear, so applying it to mean RGB equals the mean of per-pixel YUV (without the
    8-bit rounding OpenCV's ``cvtColor`` would add).
    """
    rgb = np.asarray(rgb, dtype=np.float64)
    if rgb.shape[-1] != 3:
        raise ShapeError(f"rgb_to_yuv expects [..., 3] RGB values, got shape {rgb.shape}")
    return rgb @ YUV_MATRIX.T + YUV_OFFSET


def _rgb_channels(rgb: np.ndarray) -> np.ndarray:
    """R, G, B means → R, G, B, Y, U, V (BT.601)."""
    return np.concatenate([rgb, rgb_to_yuv(rgb)], axis=-1)


def _gray_channels(gray: np.ndarray) -> np.ndarray:
    """A gray mean is its one channel (intensity, in the sensor's units)."""
    return gray


#: Per-ROI sum channels → the MSTmap channels they become (``[..., C]`` means in, channels out):
#: colour gives R, G, B, Y, U, V; a gray stream's intensity stays one channel
#: (:data:`edge_rppg.frames.color.MSTMAP_CHANNELS`).
CHANNEL_EXPANSIONS: Dict[int, Callable[[np.ndarray], np.ndarray]] = {3: _rgb_channels, 1: _gray_channels}


def combine_roi_sums(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Turn per-ROI sums into the 63 MSTmap rows.

    Parameters
    ----------
    sums: ``[..., 6, 3]`` per-ROI R,G,B pixel sums (float64 preferred), or ``[..., 6, 1]``
        intensity sums of a gray stream.
    counts: ``[..., 6]`` per-ROI pixel counts.

    Returns
    -------
    ``[..., 63, 6]`` float32 for colour (``[..., 63, 1]`` for gray).  Row ``r`` is the
    pixel-count-weighted mean over the ROIs in subset ``r + 1``, computed with ONE matmul of
    :data:`SUBSET_MATRIX` with the concatenated ``[sums | counts]``; for colour, YUV is the
    BT.601 transform of those means (:data:`CHANNEL_EXPANSIONS`).
    Rows whose member ROIs have zero pixels (and frames passed in as NaN) are NaN.
    """
    sums = np.asarray(sums, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.float64)
    ch = sums.shape[-1] if sums.ndim >= 2 else 0
    if sums.ndim < 2 or sums.shape[-2] != N_META_ROIS or ch not in CHANNEL_EXPANSIONS:
        raise ShapeError(f"sums must have shape [..., 6, 3] (colour) or [..., 6, 1] (gray); got {sums.shape}")
    if counts.shape != sums.shape[:-1]:
        raise ShapeError(f"counts must have shape {sums.shape[:-1]} ([..., 6]) to match sums; got {counts.shape}")
    packed = np.concatenate([sums, counts[..., None]], axis=-1)          # [..., 6, C + 1]
    subset = np.matmul(SUBSET_MATRIX, packed)                            # [..., 63, C + 1]
    n = subset[..., ch:ch + 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(n > 0, subset[..., :ch] / np.where(n > 0, n, 1.0), np.nan)
    return CHANNEL_EXPANSIONS[ch](means).astype(np.float32)


def face_colour(mstmap: np.ndarray) -> Optional[np.ndarray]:
    """The whole face's raw R, G, B means ``[T, 3]`` (float64) of an MSTmap ``[T, 63, C]``
    (row :data:`WHOLE_FACE_ROW`), or None when the map has no colour channels (C < 3)."""
    m = np.asarray(mstmap)
    if m.ndim != 3 or m.shape[1] != N_SUBSETS or m.shape[2] < 3:
        return None
    return m[:, WHOLE_FACE_ROW, 0:3].astype(np.float64)


def roi_means(mstmap: np.ndarray) -> Optional[np.ndarray]:
    """The six meta-ROIs' own raw means (float64, rows :data:`SINGLE_ROI_ROWS`): ``[T, 6]``
    intensities of a gray MSTmap ``[T, 63, 1]``, ``[T, 6, 3]`` R, G, B of a colour one
    ``[T, 63, C >= 3]`` (what the region check reads, :mod:`edge_rppg.vitals.regions`); None
    for anything else."""
    m = np.asarray(mstmap)
    if m.ndim != 3 or m.shape[1] != N_SUBSETS or m.shape[2] not in (1, 3, 6):
        return None
    rows = m[:, list(SINGLE_ROI_ROWS)].astype(np.float64)
    return rows[..., 0] if m.shape[2] == 1 else rows[..., 0:3]


def normalize_minmax(mstmap: np.ndarray) -> np.ndarray:
    """Min-max normalise each row/channel of a ``[T, 63, 6]`` window to [0, 1] over time.

    This is the per-clip normalisation of CVD (there scaled to 0..255, here to 0..1) that
    the paper's MSTmap follows: ``(x - min_t x) / (max_t x - min_t x)`` for every (row,
    channel).  It gives every trace the same range, so it erases the relative AC amplitude
    of R, G, B (the colour signature that separates a pulse from light or motion).  NaN
    entries are ignored when taking min/max and stay NaN in the output; a constant (or
    all-NaN) row/channel maps to 0 (all-NaN stays NaN).  Returns float32.
    """
    x = np.asarray(mstmap, dtype=np.float32)
    if x.ndim != 3:
        raise ShapeError(f"normalize_window expects [T, 63, 6]; got shape {x.shape}")
    finite = np.isfinite(x)
    lo = np.min(np.where(finite, x, np.inf), axis=0)
    hi = np.max(np.where(finite, x, -np.inf), axis=0)
    span = hi - lo
    ok = np.isfinite(span) & (span > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        y = (x - np.where(ok, lo, 0.0)) / np.where(ok, span, 1.0)
    y = np.where(ok[None], y, np.where(finite, 0.0, np.nan)).astype(np.float32)
    return y


#: clip of the AC/DC-normalised values, in units of the window's common scale
ACDC_CLIP = 6.0


def _trace_means(x: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(finite, n, mean)`` of ``[T, ...]`` traces: the finite mask, the finite samples per
    trace and the mean over them (0 for an all-NaN trace)."""
    finite = np.isfinite(x)
    n = finite.sum(axis=0)
    return finite, n, np.where(finite, x, 0.0).sum(axis=0) / np.maximum(n, 1)


def normalize_acdc(mstmap: np.ndarray) -> np.ndarray:
    """AC/DC-normalise a ``[T, 63, 6]`` window with ONE scale common to all its traces.

    Each trace (row, channel) becomes ``x / mean_t(x) - 1`` (its relative change, which
    is what a skin-reflection model predicts: an intensity change multiplies all channels
    alike, a pulse moves them along the blood-absorption direction, strongest in green);
    then the whole window is divided by one number, the RMS of the R, G, B relative
    changes of all 63 rows, and clipped to ``±ACDC_CLIP``.  Unlike :func:`normalize_minmax`
    this keeps the relative amplitudes of the channels and of the ROI rows, the
    information POS and CHROM use.  NaN entries are ignored in the means and stay NaN;
    a trace with a non-positive or undefined mean maps to 0.  Returns float32.
    """
    x = np.asarray(mstmap, dtype=np.float64)
    if x.ndim != 3:
        raise ShapeError(f"normalize_window expects [T, 63, 6]; got shape {x.shape}")
    finite, n, mean = _trace_means(x)
    ok = (n > 0) & (mean > 1e-6)
    with np.errstate(invalid="ignore", divide="ignore"):
        ac = np.where(ok[None], x / np.where(ok, mean, 1.0)[None] - 1.0, np.where(finite, 0.0, np.nan))
    rgb = ac[..., :3]
    good = np.isfinite(rgb)
    rms = float(np.sqrt(np.sum(np.where(good, rgb, 0.0) ** 2) / max(int(good.sum()), 1)))
    y = ac / rms if rms > 1e-9 else ac
    return np.clip(y, -ACDC_CLIP, ACDC_CLIP).astype(np.float32)


#: channel of an ``acdc_pos`` window that carries the per-row POS pulse (V's place)
POS_CHANNEL = 5


def normalize_acdc_pos(mstmap: np.ndarray) -> np.ndarray:
    """AC/DC window (:func:`normalize_acdc`) whose V channel is replaced by each ROI row's
    POS pulse.

    Channels 0-4 are R, G, B, Y, U exactly as in ``acdc`` (relative change, one common
    scale).  V, nearly a linear mix of R, G, B there and so redundant for the model's
    linear embedding, becomes the POS pulse of the row (``edge_rppg.pulse.methods.pos_rows`` at
    the model rate, 1.6 s windows): POS's alpha tuning cancels the strongest colour
    distortion of each short window (a lamp's own colour, an intensity change), a
    *non-linear* step the embedding cannot learn from R, G, B alone, so every row hands
    the model a distortion-cancelled candidate pulse and the network's clustering
    decides which rows, and which part of each, to trust.  The POS channel is divided by
    the RMS of all its rows (keeping their relative strength) and clipped to
    ``±ACDC_CLIP``.  Rows with a NaN frame get NaN in the POS channel.  Returns float32.
    """
    from ..pulse.methods.pos import pos_rows
    from ..model_file import MODEL_FPS

    y = normalize_acdc(mstmap)
    x = np.asarray(mstmap, dtype=np.float64)[..., :3]
    finite, _, mean = _trace_means(x)
    bad_row = ~finite.all(axis=(0, 2))
    filled = np.where(finite, x, mean[None])
    h = pos_rows(filled, MODEL_FPS, POS_WINDOW_S)
    rms = float(np.sqrt(np.mean(h[:, ~bad_row] ** 2))) if (~bad_row).any() else 0.0
    h = h / rms if rms > 1e-12 else h
    h[:, bad_row] = np.nan
    y[..., POS_CHANNEL] = np.clip(h, -ACDC_CLIP, ACDC_CLIP).astype(np.float32)
    return y


def normalize_minmax_acdc(mstmap: np.ndarray) -> np.ndarray:
    """Both views of a window: channels 0-2 are R, G, B min-max scaled per trace (the
    paper's normalisation, :func:`normalize_minmax`: every trace's waveform at full range),
    channels 3-5 are R, G, B as relative changes with one common scale
    (:func:`normalize_acdc`: the colour signature that separates a pulse from a light or
    a movement).  Y, U, V, linear mixes of R, G, B, are left out.  Returns float32."""
    y = normalize_minmax(mstmap)
    y[..., 3:6] = normalize_acdc(mstmap)[..., 0:3]
    return y


def normalize_acdc_mono(mstmap: np.ndarray) -> np.ndarray:
    """AC/DC-normalise a gray stream's ``[T, 63, 1]`` window: each ROI row's relative
    intensity change ``x / mean_t(x) - 1``, divided by one scale common to the 63 rows (their
    RMS) and clipped to ``±ACDC_CLIP`` (:func:`normalize_acdc` on the one channel).

    Why this and not min-max: with one channel there is no colour to tell a pulse from a
    light change, only the relative amplitudes of the rows (a pulse is a similar, small
    relative change on every skin ROI; sunlight and the illuminator's fall-off move some
    rows much more than others), which one common scale keeps and min-max erases. It is
    independent of the sensor's depth and gain (8, 10 or 16 bit give the same window).
    Returns float32; a window that is not 1-channel is a ``ShapeError``."""
    x = np.asarray(mstmap)
    if x.ndim != 3 or x.shape[-1] != 1:
        raise ShapeError(f"normalize_window('acdc_mono') expects a gray [T, 63, 1] window; got shape {x.shape}")
    return normalize_acdc(x)


#: window normalisations by name (``ClusterPhysConfig.input_norm``)
NORMALIZATIONS: Dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "minmax": normalize_minmax,
    "acdc": normalize_acdc,
    "acdc_pos": normalize_acdc_pos,
    "minmax_acdc": normalize_minmax_acdc,
    "acdc_mono": normalize_acdc_mono,
}
#: what a model config without an ``input_norm`` field was trained with
LEGACY_INPUT_NORM = "minmax"

#: seconds of the POS sub-windows inside an ``acdc_pos`` window (``pos_rows``' default)
POS_WINDOW_S = 1.6


def window_grid(mode: str, fs: float = 30.0) -> int:
    """Samples by which a window normalised with ``mode`` must move for its inside to be
    computed the same way again (1 = any step).

    An ``acdc_pos`` window computes its POS channel in half-overlapping
    :data:`POS_WINDOW_S` sub-windows laid from the window's own first sample, so two
    overlapping windows agree on their shared samples only when their starts differ by a
    multiple of the sub-window step (24 samples at 30 Hz). Windows that do not agree put
    differently cut POS pulses into one stitched signal: on the shared real clip, the
    model's stitched pulse lost ~1.2 dB of quality to that (``bench/real_clip_diagnosis.py``,
    issue 23). Engines step their windows by multiples of this grid
    (:func:`edge_rppg.pulse.windows.aligned_hop`)."""
    if mode != "acdc_pos":
        return 1
    from ..pulse.methods._common import window_len

    return max(1, window_len(fs, POS_WINDOW_S) // 2)


def normalize_window(mstmap: np.ndarray, mode: str = LEGACY_INPUT_NORM) -> np.ndarray:
    """Normalise a raw ``[T, 63, 6]`` window the way a model was trained (``mode`` is a key
    of :data:`NORMALIZATIONS`: ``"minmax"`` the paper's per-trace min-max,
    ``"acdc"`` AC/DC with one common scale).  Engines pass the mode stored in the
    model's config (:func:`input_norm_of`)."""
    try:
        fn = NORMALIZATIONS[mode]
    except KeyError:
        raise UnknownNameError(f"unknown window normalisation {mode!r}; expected one of {sorted(NORMALIZATIONS)}") from None
    return fn(mstmap)


def _onnx_config(path: str) -> Optional[Mapping[str, Any]]:
    """The config metadata (``edge_rppg.config`` JSON) of the ONNX file at ``path``, or None."""
    try:
        import onnx

        proto = onnx.load(str(path), load_external_data=False)
    except Exception:  # noqa: BLE001 - a missing/unreadable file just gives no answer
        return None
    meta = {p.key: p.value for p in proto.metadata_props}
    return {"edge_rppg.config": meta["edge_rppg.config"]} if "edge_rppg.config" in meta else None


def model_setting(source: Any, field: str, legacy: str) -> str:
    """A setting (``field``) of the model config that ``source`` describes, or ``legacy``.

    ``source`` may be a model config (an object or dict with the field), a
    checkpoint-style dict with ``"config"``, ONNX metadata (``"edge_rppg.config"`` JSON),
    a TensorRT sidecar (the field, or the ``"onnx_path"`` it was built from), or a model
    with ``.config``. A config without the field is a model made before it existed:
    ``legacy``. ONNX files read through a sidecar are cached by path.
    """
    if hasattr(source, "config") and not isinstance(source, Mapping):
        source = source.config
    if not isinstance(source, Mapping):
        return str(getattr(source, field, legacy))
    if field in source:
        return str(source[field])
    for key in ("config", "edge_rppg.config"):
        if key in source:
            cfg = source[key]
            if isinstance(cfg, str):
                try:
                    cfg = json.loads(cfg)
                except ValueError:
                    cfg = {}
            return str(cfg.get(field, legacy)) if isinstance(cfg, Mapping) else legacy
    if "onnx_path" in source:
        found = _cached_onnx_config(str(source["onnx_path"]))
        if found is not None:
            return model_setting(found, field, legacy)
    return legacy


def input_norm_of(source: Any) -> str:
    """The window normalisation a model expects (:func:`model_setting` ``input_norm``; a config
    without it was trained before it existed: :data:`LEGACY_INPUT_NORM`)."""
    return model_setting(source, "input_norm", LEGACY_INPUT_NORM)


def color_space_of(source: Any) -> str:
    """The colour family a model reads (:func:`model_setting` ``color_space``: ``"rgb"``, a
    ``[T, 63, 6]`` window, or ``"gray"``, ``[T, 63, 1]``; models made before it: ``"rgb"``)."""
    return model_setting(source, "color_space", "rgb")


@lru_cache(maxsize=32)
def _cached_onnx_config(path: str) -> Optional[Mapping[str, Any]]:
    return _onnx_config(path)


def _interp_rows(x: np.ndarray, t_in: np.ndarray, t_out: np.ndarray) -> np.ndarray:
    """Linear interpolation of ``x [T, ...]`` sampled at ``t_in`` onto ``t_out`` (inside the range)."""
    idx = np.searchsorted(t_in, t_out, side="right") - 1
    idx = np.clip(idx, 0, len(t_in) - 2)
    t0, t1 = t_in[idx], t_in[idx + 1]
    w = np.clip((t_out - t0) / (t1 - t0), 0.0, 1.0)
    w = w.reshape((-1,) + (1,) * (x.ndim - 1))
    x0 = x[idx].astype(np.float64)
    x1 = x[idx + 1].astype(np.float64)
    # exact copies at the sample points avoid NaN*0 leaking from a NaN neighbour
    return np.where(w == 0.0, x0, np.where(w == 1.0, x1, x0 + w * (x1 - x0)))


def resample_times(mstmap: np.ndarray, timestamps_s: np.ndarray, fps_out: float) -> np.ndarray:
    """Resample frames taken at (possibly irregular) ``timestamps_s`` onto a uniform grid.

    The grid starts at ``timestamps_s[0]`` with step ``1 / fps_out`` and stops at the last
    timestamp; values are linearly interpolated between the two neighbouring frames
    (NaN propagates to outputs that depend on a NaN frame: call :func:`fill_invalid`
    first).  Works for any ``[T, ...]`` array; returns float32.
    """
    x = np.asarray(mstmap)
    t = np.asarray(timestamps_s, dtype=np.float64)
    if t.ndim != 1 or len(t) != len(x):
        raise ShapeError(f"timestamps_s must be [T={len(x)}]; got shape {t.shape}")
    if not fps_out > 0:
        raise ValueError(f"fps_out must be > 0, got {fps_out}")
    if len(t) > 1 and not np.all(np.diff(t) > 0):
        raise ValueError("timestamps_s must be strictly increasing")
    if len(t) < 2:
        return x.astype(np.float32, copy=True)
    n_out = int(np.floor((t[-1] - t[0]) * fps_out + 1e-6)) + 1
    t_out = t[0] + np.arange(n_out, dtype=np.float64) / fps_out
    return _interp_rows(x, t, t_out).astype(np.float32)


def resample(mstmap: np.ndarray, fps_in: float, fps_out: float) -> np.ndarray:
    """Resample a uniformly sampled ``[T, ...]`` array from ``fps_in`` to ``fps_out``.

    Linear interpolation onto ``k / fps_out`` for ``k`` up to the last input time
    ``(T - 1) / fps_in``; used to bring MSTmaps to the model's 30 Hz.  Equal rates
    return a float32 copy.
    """
    if not fps_in > 0 or not fps_out > 0:
        raise ValueError(f"frame rates must be > 0; got fps_in={fps_in}, fps_out={fps_out}")
    x = np.asarray(mstmap)
    if fps_in == fps_out:
        return x.astype(np.float32, copy=True)
    return resample_times(x, np.arange(len(x), dtype=np.float64) / fps_in, fps_out)


def resample_valid(valid: np.ndarray, timestamps_s: np.ndarray, fps_out: float) -> np.ndarray:
    """Companion of :func:`resample_times` for a ``[T]`` bool mask: an output sample is valid
    only when both input frames it is interpolated from are valid."""
    v = np.asarray(valid, dtype=bool)
    t = np.asarray(timestamps_s, dtype=np.float64)
    if len(t) < 2:
        return v.copy()
    n_out = int(np.floor((t[-1] - t[0]) * fps_out + 1e-6)) + 1
    t_out = t[0] + np.arange(n_out, dtype=np.float64) / fps_out
    as_float = np.where(v, 0.0, np.nan)
    return np.isfinite(_interp_rows(as_float, t, t_out))


def fill_invalid(mstmap: np.ndarray, valid: Optional[np.ndarray] = None) -> np.ndarray:
    """Fill invalid frames (``valid == False``) and non-finite entries by linear interpolation
    over time between the nearest good samples; before the first / after the last good
    sample the edge value is held.  A row/channel with no good sample at all stays NaN.

    Returns a float32 copy of the ``[T, ...]`` array.
    """
    x = np.array(mstmap, dtype=np.float32, copy=True)
    T = len(x)
    good = np.isfinite(x)
    if valid is not None:
        v = np.asarray(valid, dtype=bool)
        if v.shape != (T,):
            raise ShapeError(f"valid must be [T={T}] bool; got shape {v.shape}")
        good &= v.reshape((T,) + (1,) * (x.ndim - 1))
    if good.all():
        return x
    t = np.arange(T, dtype=np.float64)
    flat = x.reshape(T, -1)
    gflat = good.reshape(T, -1)
    frame_good = gflat.all(axis=1)
    # fast path: columns whose bad samples are exactly the bad frames share one interpolation
    same = (gflat == frame_good[:, None]).all(axis=0)
    if frame_good.any() and same.any():
        idx = np.flatnonzero(frame_good)
        cols = np.flatnonzero(same)
        bad = np.flatnonzero(~frame_good)
        for_bad = np.empty((len(bad), len(cols)), dtype=np.float64)
        pos = np.searchsorted(idx, bad)
        lo = idx[np.clip(pos - 1, 0, len(idx) - 1)]
        hi = idx[np.clip(pos, 0, len(idx) - 1)]
        span = np.where(hi > lo, hi - lo, 1)
        w = np.where(hi > lo, (bad - lo) / span, 0.0)[:, None]
        a = flat[lo][:, cols].astype(np.float64)
        b = flat[hi][:, cols].astype(np.float64)
        for_bad[:] = a + w * (b - a)
        flat[np.ix_(bad, cols)] = for_bad
        gflat = gflat.copy()
        gflat[:, cols] = True
    for c in np.flatnonzero(~gflat.all(axis=0)):
        g = gflat[:, c]
        if g.any():
            flat[~g, c] = np.interp(t[~g], t[g], flat[g, c])
    return flat.reshape(x.shape)
