"""Dataset readers on tiny fixtures in the exact on-disk layouts (built from synthetic
videos with known HR, see dataset_fixtures.py): recordings, reference PPG and HR,
layout errors, and the cached MSTmap with the reference aligned to the frames."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from dataset_fixtures import MAKERS, make_mmse, make_pure
from edge_rppg.datasets import DATASETS, DatasetReader, MMSEReader, PUREReader, UBFCReader, VIPLReader
from edge_rppg.datasets import cache as mcache
from edge_rppg.vitals.dsp.filters import bandpass
from edge_rppg.vitals.dsp.hr import hr_from_psd
from edge_rppg.errors import DatasetError

NAMES = ["ubfc", "pure", "vipl", "mmse"]


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """``{name: (root, truth)}`` for the four layouts."""
    base = tmp_path_factory.mktemp("datasets")
    return {name: (base / name, MAKERS[name](base / name)) for name in NAMES}


def test_registry():
    assert DATASETS.names() == sorted(NAMES)
    for name in NAMES:
        assert issubclass(DATASETS.get(name), DatasetReader)
    with pytest.raises(KeyError, match="ubfc"):
        DATASETS.get("nope")


@pytest.mark.parametrize("name", NAMES)
def test_recordings_match_truth(datasets, name):
    root, truth = datasets[name]
    recs = DATASETS.get(name)().list_recordings(root)
    assert sorted(r.name for r in recs) == sorted(truth)
    for r in recs:
        t = truth[r.name]
        assert r.dataset == name
        assert Path(r.video_path).exists()
        assert len(r.ppg) == t.ppg_samples
        assert r.ppg_fs == pytest.approx(t.ppg_fs, rel=0.01)
        assert r.fps == pytest.approx(t.fps, rel=0.01)
        assert r.hr_bpm == pytest.approx(t.hr_bpm, abs=1.0)          # from the HR column
        assert len(r.ppg_time_axis()) == len(r.ppg)
        assert np.all(np.diff(r.ppg_time_axis()) > 0)
        if r.frame_files is not None:
            assert len(r.frame_files) == t.frames
    # the reference HR computed from the PPG itself agrees too
    for r in DATASETS.get(name)(hr_source="ppg").list_recordings(root):
        assert r.hr_bpm == pytest.approx(truth[r.name].hr_bpm, abs=3.0)


def test_pure_frames_times_and_nested_layout(datasets, tmp_path):
    root, _ = datasets["pure"]
    rec = PUREReader().list_recordings(root)[0]
    assert rec.frame_times_s[0] == 0.0 and np.all(np.diff(rec.frame_times_s) > 0)
    assert rec.ppg_times_s[0] < 0 < rec.ppg_times_s[-1]                 # oximeter started first
    names = [p.name for p in rec.frame_files]
    assert names == sorted(names) and all(n.startswith("Image") for n in names)
    truth = make_pure(tmp_path, nested=True)
    nested = PUREReader().list_recordings(tmp_path)
    assert [r.name for r in nested] == list(truth)
    assert nested[0].video_path == tmp_path / "01-01" / "01-01"


def test_vipl_skips_nir_unless_asked(datasets):
    root, truth = datasets["vipl"]
    assert all("source4" not in r.name for r in VIPLReader().list_recordings(root))
    with_nir = VIPLReader(sources=(1, 2, 3, 4)).list_recordings(root)
    assert sum("source4" in r.name for r in with_nir) == 2
    rec = VIPLReader().list_recordings(root)[0]
    assert rec.frame_times_s is not None and rec.frame_times_s[0] == 0.0    # from time.txt
    assert [r.name for r in VIPLReader().list_recordings(root)] == ["p1_v1_source1", "p1_v1-2_source2"]


def test_mmse_numeric_frame_order_and_flat_layout(datasets, tmp_path):
    root, _ = datasets["mmse"]
    rec = MMSEReader().list_recordings(root)[0]
    assert [p.stem for p in rec.frame_files] == [str(i) for i in range(len(rec.frame_files))]
    truth = make_mmse(tmp_path, specs=(("F001/T2", 75.0, 9),), parallel_tree=False)
    flat = MMSEReader().list_recordings(tmp_path)
    assert [r.name for r in flat] == list(truth)
    assert flat[0].hr_bpm == pytest.approx(truth["F001_T2"].hr_bpm, abs=1.0)


# --------------------------------------------------------------------------- layout errors
@pytest.mark.parametrize("name", NAMES)
def test_wrong_folder_raises_dataset_error(name, tmp_path):
    reader = DATASETS.get(name)()
    with pytest.raises(DatasetError, match="not a folder"):
        reader.list_recordings(tmp_path / "missing")
    (tmp_path / "random").mkdir()
    (tmp_path / "random" / "notes.txt").write_text("hello")
    with pytest.raises(DatasetError, match="no recordings found"):
        reader.list_recordings(tmp_path)


def test_broken_files_raise_dataset_error(datasets, tmp_path):
    # UBFC: lines of different length
    ubfc = tmp_path / "ubfc"
    shutil.copytree(datasets["ubfc"][0], ubfc)
    (ubfc / "subject1" / "ground_truth.txt").write_text("1 2 3\n70 70\n0 0.03 0.06\n")
    with pytest.raises(DatasetError, match="same length"):
        UBFCReader().list_recordings(ubfc)
    (ubfc / "subject1" / "ground_truth.txt").unlink()
    with pytest.raises(DatasetError, match="ground_truth.txt"):
        UBFCReader().list_recordings(ubfc)
    # PURE: frames without the JSON
    pure = tmp_path / "pure"
    shutil.copytree(datasets["pure"][0], pure)
    (pure / "01-01.json").unlink()
    with pytest.raises(DatasetError, match="01-01.json"):
        PUREReader().list_recordings(pure)
    # VIPL: wave.csv without the Wave column
    vipl = tmp_path / "vipl"
    shutil.copytree(datasets["vipl"][0], vipl)
    (vipl / "p1" / "v1" / "source1" / "wave.csv").write_text("Pulse\n1\n2\n")
    with pytest.raises(DatasetError, match="Wave"):
        VIPLReader().list_recordings(vipl)
    # MMSE: frames without physiology
    mmse = tmp_path / "mmse"
    shutil.copytree(datasets["mmse"][0], mmse)
    shutil.rmtree(mmse / "first 10 subjects Phydata released" / "Phydata" / "F013")
    with pytest.raises(DatasetError, match="BP_mmHg"):
        MMSEReader().list_recordings(mmse)


# --------------------------------------------------------------------------- cache
class _FakeExtraction:
    def __init__(self, n: int) -> None:
        self.mstmap = np.random.default_rng(n).random((n, 63, 6)).astype(np.float32)
        self.valid = np.ones(n, bool)
        self.fps = 30.0
        self.timestamps_s = np.arange(n) / 30.0


def test_cache_hits_and_invalidates_on_change(tmp_path):
    src = tmp_path / "video.avi"
    src.write_bytes(b"x" * 100)
    calls = []

    def compute():
        calls.append(1)
        return _FakeExtraction(12)

    cdir = tmp_path / "cache"
    a, hit_a = mcache.cached_extraction(src, cdir, compute)
    b, hit_b = mcache.cached_extraction(src, cdir, compute)
    assert (hit_a, hit_b) == (False, True) and len(calls) == 1
    np.testing.assert_array_equal(a.mstmap, b.mstmap)
    assert b.mstmap.dtype == np.float32 and b.valid.dtype == bool and b.fps == 30.0
    st = os.stat(src)
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))           # touched → new key
    _, hit_c = mcache.cached_extraction(src, cdir, compute)
    assert not hit_c and len(calls) == 2
    assert mcache.cache_key(src, version="1") != mcache.cache_key(src, version="2")
    _, hit_none = mcache.cached_extraction(src, None, compute)          # caching off
    assert not hit_none and len(calls) == 3
    # a corrupt entry is recomputed, not returned
    for f in cdir.glob("*.npz"):
        f.write_bytes(b"garbage")
    _, hit_d = mcache.cached_extraction(src, cdir, compute)
    assert not hit_d and len(calls) == 4


# --------------------------------------------------------------------------- MSTmaps
@pytest.mark.parametrize("name", NAMES)
def test_load_mstmap_aligned_and_cached(datasets, name, tmp_path):
    root, truth = datasets[name]
    reader = DATASETS.get(name)()
    rec = reader.list_recordings(root)[0]
    first = reader.load_mstmap(rec, tmp_path / "cache")
    assert not first.from_cache
    t = truth[rec.name]
    assert first.mstmap.shape == (t.frames, 63, 6) and first.mstmap.dtype == np.float32
    assert first.valid.mean() > 0.95
    assert first.bvp.shape == (t.frames,) and first.timestamps_s.shape == (t.frames,)
    assert abs(float(first.bvp.mean())) < 1e-3 and float(first.bvp.std()) == pytest.approx(1.0, abs=1e-3)
    # the reference is aligned with the video: the face's green follows it frame by frame
    green = first.mstmap[:, 62, 1].astype(np.float64)
    # blood absorbs green: the skin darkens as the blood volume (the reference PPG) rises
    assert np.corrcoef(-bandpass(green, first.fps), first.bvp)[0, 1] > 0.6
    assert hr_from_psd(green, first.fps).hr_bpm == pytest.approx(t.hr_bpm, abs=3.0)
    second = reader.load_mstmap(rec, tmp_path / "cache")
    assert second.from_cache
    np.testing.assert_array_equal(first.mstmap, second.mstmap)
    np.testing.assert_array_equal(first.bvp, second.bvp)
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1
