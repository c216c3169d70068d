"""Meta-ROI polygons and the one-pass label-map sums (checked against the naive 63-mask path)."""
from __future__ import annotations

import numpy as np
import pytest
import skimage.data

from edge_rppg.errors import ShapeError
from edge_rppg.skin.mstmap import SUBSET_MATRIX, combine_roi_sums
from edge_rppg.skin.roi import (META_ROI_NAMES, META_ROI_POLYGONS, frame_roi_sums, rasterize_label_map, roi_box,
                           roi_sums, roi_sums_naive_63)


@pytest.fixture(scope="module")
def astronaut():
    """(frame, landmarks) of skimage's astronaut, landmarks from MediaPipe FaceMesh."""
    from edge_rppg.face.mediapipe_landmarker import MediaPipeLandmarker
    from edge_rppg.face.options import LandmarkerOptions

    img = skimage.data.astronaut()
    with MediaPipeLandmarker(LandmarkerOptions(static_image_mode=True)) as lmk:
        faces = lmk.detect(img, 0)
    assert len(faces) == 1
    return img, faces[0].landmarks


def test_names_and_polygons():
    assert META_ROI_NAMES == ("forehead", "left_upper_cheek", "left_lower_cheek",
                              "right_upper_cheek", "right_lower_cheek", "chin")
    assert set(META_ROI_POLYGONS) == set(META_ROI_NAMES)
    for name, idx in META_ROI_POLYGONS.items():
        assert len(idx) >= 3 and all(0 <= i < 468 for i in idx), name
        assert len(set(idx)) == len(idx), name


def test_label_map_values_and_all_rois_present(astronaut):
    img, lm = astronaut
    label = rasterize_label_map(lm, *img.shape[:2])
    assert label.shape == img.shape[:2] and label.dtype == np.uint8
    assert set(np.unique(label).tolist()) == set(range(7))
    counts = np.bincount(label.ravel(), minlength=7)
    assert (counts[1:] > 100).all()          # each ROI covers a real patch at 512x512


def test_roi_geometry_on_face(astronaut):
    img, lm = astronaut
    label = rasterize_label_map(lm, *img.shape[:2])
    ys, xs = np.indices(label.shape)
    cy = [ys[label == j + 1].mean() for j in range(6)]
    cx = [xs[label == j + 1].mean() for j in range(6)]
    fh, lu, ll, ru, rl, ch = range(6)
    assert cy[fh] < min(cy[lu], cy[ru]) < max(cy[ll], cy[rl]) < cy[ch]   # forehead above cheeks above chin
    assert cy[lu] < cy[ll] and cy[ru] < cy[rl]                           # upper above lower cheek
    # subject's left is the image's right in this unmirrored photo
    assert cx[lu] > cx[fh] > cx[ru] and cx[ll] > cx[ch] > cx[rl]


def test_roi_means_are_skin_coloured(astronaut):
    img, lm = astronaut
    sums, counts = frame_roi_sums(img, lm)
    means = sums / counts[:, None]
    for name, (r, g, b) in zip(META_ROI_NAMES, means):
        assert r > g > b, (name, r, g, b)             # skin: R > G > B
        assert 120 < r < 250 and r - b > 25, (name, r, g, b)


def test_roi_sums_match_direct_masked_sums(astronaut):
    img, lm = astronaut
    label = rasterize_label_map(lm, *img.shape[:2])
    sums, counts = roi_sums(img, label)
    assert sums.shape == (6, 3) and sums.dtype == np.float64
    assert counts.shape == (6,) and counts.dtype == np.int64
    for j in range(6):
        m = label == j + 1
        assert counts[j] == m.sum()
        np.testing.assert_allclose(sums[j], img[m].astype(np.float64).sum(0), rtol=1e-12)


def test_cropped_box_equals_full_frame(astronaut):
    img, lm = astronaut
    h, w = img.shape[:2]
    box = roi_box(lm, h, w)
    full = rasterize_label_map(lm, h, w)
    crop = rasterize_label_map(lm, h, w, box=box)
    x0, y0, x1, y1 = box
    np.testing.assert_array_equal(crop, full[y0:y1, x0:x1])
    assert (full > 0).sum() == (crop > 0).sum()        # nothing outside the box
    s_full, c_full = roi_sums(img, full)
    s_crop, c_crop = roi_sums(img, crop, box=box)
    np.testing.assert_array_equal(c_full, c_crop)
    np.testing.assert_allclose(s_full, s_crop, rtol=1e-12)


def test_label_map_path_equals_naive_63_masks(astronaut):
    img, lm = astronaut
    rng = np.random.default_rng(0)
    frame = np.clip(img.astype(np.int16) + rng.integers(-20, 21, img.shape), 0, 255).astype(np.uint8)
    sums, counts = frame_roi_sums(frame, lm)
    fast = combine_roi_sums(sums, counts).astype(np.float64)
    naive_means, naive_counts = roi_sums_naive_63(frame, lm)
    np.testing.assert_array_equal(naive_counts, SUBSET_MATRIX @ counts)
    np.testing.assert_allclose(fast[:, :3], naive_means, rtol=1e-6)


def test_partially_outside_face_and_nan_landmarks(astronaut):
    img, lm = astronaut
    shifted = lm + np.array([-230.0, 0.0], np.float32)         # right half of the face off-frame
    sums, counts = frame_roi_sums(img, shifted)
    assert counts.min() == 0 and counts.max() > 0
    out = combine_roi_sums(sums, counts)
    assert np.isnan(out).any() and np.isfinite(out[62]).all()
    bad = lm.copy()
    bad[10] = np.nan
    with pytest.raises(ShapeError):
        rasterize_label_map(bad, 512, 512)
    with pytest.raises(ShapeError):
        rasterize_label_map(lm[:400], 512, 512)


# ------------------------------------------------------------ per-ROI rectangle path
def _whole_map_sums(frame, label):
    """The one-bincount path: a plain ndarray label map has no ROI rectangles."""
    return roi_sums(frame, np.asarray(label).copy())


@pytest.mark.parametrize("shift", [(0.0, 0.0), (0.3, -0.7), (-150.0, 20.0), (250.0, 260.0)])
def test_boxed_roi_sums_are_bit_identical_to_the_whole_map_path(astronaut, shift):
    """Each ROI summed in its own rectangle equals one bincount over the whole label map,
    bit for bit — also with the face partly outside the frame (clipped rectangles)."""
    from edge_rppg.skin.roi import LabelMap

    img, lm = astronaut
    rng = np.random.default_rng(3)
    for _ in range(5):
        moved = lm + np.asarray(shift, np.float32) + rng.normal(0, 0.4, lm.shape).astype(np.float32)
        box = roi_box(moved, *img.shape[:2])
        label = rasterize_label_map(moved, *img.shape[:2], box=box)
        if label.size == 0:
            continue
        assert isinstance(label, LabelMap) and label.roi_boxes is not None and len(label.roi_boxes) == 6
        crop = img[box[1]:box[3], box[0]:box[2]]
        got, got_n = roi_sums(crop, label)
        want, want_n = _whole_map_sums(crop, label)
        np.testing.assert_array_equal(got_n, want_n)
        np.testing.assert_array_equal(got, want)
        # and the colour means are those of the full-resolution, full-frame path
        full_s, full_n = roi_sums(img, np.asarray(rasterize_label_map(moved, *img.shape[:2])).copy())
        ok = full_n > 0
        np.testing.assert_array_equal(full_n, got_n)
        assert np.all(np.abs(got[ok] / got_n[ok, None] - full_s[ok] / full_n[ok, None])
                      <= 1e-3 * full_s[ok] / full_n[ok, None])


def test_slices_of_a_label_map_drop_the_rectangles(astronaut):
    img, lm = astronaut
    label = rasterize_label_map(lm, *img.shape[:2])
    assert label.roi_boxes is not None
    part = label[10:, 5:]
    assert part.roi_boxes is None          # its coordinates would be wrong: whole-map path
    s, n = roi_sums(img[10:, 5:], part)
    s2, n2 = _whole_map_sums(img[10:, 5:], part)
    np.testing.assert_array_equal(s, s2)
    np.testing.assert_array_equal(n, n2)


def test_boxed_path_on_synthetic_face_video_frames(synth_videos):
    """On the synthetic face videos (the project's ground-truth clips), with real FaceMesh
    landmarks: the fast path's colour means equal the full-resolution path's."""
    from edge_rppg.face.options import LandmarkerOptions
    from edge_rppg.face.mediapipe_landmarker import MediaPipeLandmarker
    from edge_rppg.frames.video import open_video

    with open_video(synth_videos["moderate_motion"]) as r, MediaPipeLandmarker(LandmarkerOptions()) as lmk:
        for i, frame in enumerate(r):
            if i >= 40:
                break
            faces = lmk.detect(frame, 1000.0 * i / 30)
            assert faces
            got, got_n = frame_roi_sums(frame, faces[0].landmarks)
            want, want_n = _whole_map_sums(frame, rasterize_label_map(faces[0].landmarks, *frame.shape[:2]))
            np.testing.assert_array_equal(got_n, want_n)
            np.testing.assert_array_equal(got, want)
