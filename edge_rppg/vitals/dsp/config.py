"""Settings of the pulse → vital-signs path (band-pass, Welch PSD, windows, validity).

Defaults are chosen for a consumer SDK (40–180 bpm, 10 s windows every second);
:meth:`SignalConfig.paper` reproduces the evaluation protocol of the Cluster-Phys
paper (§4.1: 1st-order Butterworth, 0.75–2.5 Hz, plain PSD argmax).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Tuple

from ...config import Config, Range
from ...errors import ConfigError


#: What a valid :class:`SignalConfig` satisfies: rule text → check (all are tested, all failures named).
_RULES: Dict[str, Callable[["SignalConfig"], bool]] = {
    "band_hz (low, high) with 0 < low < high <= 30 Hz": lambda c: 0.0 < c.band_hz[0] < c.band_hz[1] <= 30.0,
}


@dataclass
class SignalConfig(Config):
    """How a BVP becomes a heart rate.

    band_hz: pass band of the Butterworth filter and of the PSD peak search.
        (0.67, 3.0) Hz covers 40–180 bpm (rest to hard exercise).
    order: Butterworth order *per direction*; the filter is applied forwards and
        backwards (zero phase), so the magnitude response is squared. 2 gives a
        -24 dB/octave zero-phase roll-off, enough to suppress respiration
        (0.1–0.5 Hz) and head-motion drift below 0.67 Hz without the long edge
        transients (and ringing in 10 s windows) of higher orders. The paper uses 1.
    window_s, hop_s: analysis window length and step of :func:`~edge_rppg.vitals.dsp.hr.windowed_hr`.
    min_snr_db: a reading is valid only if its spectral SNR (fundamental ±
        ``snr_halfwidth_hz`` plus first harmonic, against the rest of the band) reaches
        this. Noise alone is not at -∞: the band-passed spectrum of noise still has a
        highest peak, and a 10 s Hann window leaks part of even a pure tone outside
        ±0.1 Hz, capping a clean pulse near 10.5 dB. Measured on 10 s windows at 30 Hz
        (2000 draws each): at 1 dB, white noise alone is accepted in 0.3 % of windows,
        pink (1/f) in 1.5 %, brown (1/f²) in 5.5 %; a unit-amplitude tone with a 0.3
        harmonic in white noise of std 1 (per-sample SNR -2.6 dB) is accepted in 97 % of
        windows (median error 0.3 bpm), in noise of std 2 in 33 %, with no accepted error
        above 3 bpm. At -3 dB, 29 % of white-noise windows would pass. 1 dB is the
        default trade-off.
    welch_seg_s, welch_overlap: Welch segment length (s) and overlap fraction; a
        window no longer than one segment is a single Hann-windowed periodogram.
    freq_res_bpm: frequency grid of the zero-padded FFT, in bpm (0.1 bpm default);
        parabolic interpolation refines the peak further.
    snr_halfwidth_hz: half width of the signal bins around the fundamental and the
        first harmonic in the SNR.
    harmonic_ratio: harmonic guard of the peak pick. A pulse's second harmonic can
        outgrow its fundamental in one window (a sharp systolic upstroke, a weak
        compressed pulse), and the highest in-band peak is then twice the heart rate.
        When the highest peak at F has a local maximum within ± ``snr_halfwidth_hz`` of
        F/2, inside the band, holding at least this fraction of the peak's power, the
        reading is taken at F/2. Below 80 bpm F/2 lies under the 40 bpm band edge, so
        the guard never acts there. 0 disables it (:meth:`paper` does, to reproduce
        the paper's plain argmax).
    min_coverage: a window needs at least this fraction of valid, finite
        frames; the few invalid frames of an accepted window are interpolated.
    min_duration_s: shortest signal :func:`windowed_hr` accepts (about three beats at
        40 bpm); shorter input raises ``ClipTooShortError``.
    """

    band_hz: Tuple[float, float] = (0.67, 3.0)
    order: int = 2
    window_s: float = 10.0
    hop_s: float = 1.0
    min_snr_db: float = 1.0
    welch_seg_s: float = 10.0
    welch_overlap: float = 0.5
    freq_res_bpm: float = 0.1
    snr_halfwidth_hz: float = 0.1
    harmonic_ratio: float = 0.5
    min_coverage: float = 0.9
    min_duration_s: float = 4.0

    #: What each numeric setting may be (one place: checked here and by the CLI flags).
    RANGES = {
        "order": Range(1, 8, integer=True), "window_s": Range(0.0, 600.0, low_open=True, unit="s"),
        "hop_s": Range(0.0, 600.0, low_open=True, unit="s"), "min_snr_db": Range(-100.0, 100.0, unit="dB"),
        "welch_seg_s": Range(0.0, 600.0, low_open=True, unit="s"), "welch_overlap": Range(0.0, 1.0, high_open=True),
        "freq_res_bpm": Range(0.001, 10.0), "snr_halfwidth_hz": Range(0.0, 1.0, low_open=True, unit="Hz"),
        "harmonic_ratio": Range(0.0, 10.0), "min_coverage": Range(0.0, 1.0, low_open=True),
        "min_duration_s": Range(0.0, 600.0, low_open=True, unit="s"),
    }

    def __post_init__(self) -> None:
        self.check_ranges()
        try:
            lo, hi = (float(v) for v in self.band_hz)
        except (TypeError, ValueError):
            raise ConfigError(f"SignalConfig.band_hz must be two numbers (low, high) in Hz, got {self.band_hz!r}") from None
        self.band_hz = (lo, hi)
        self.require({rule: ok(self) for rule, ok in _RULES.items()})

    @classmethod
    def paper(cls) -> "SignalConfig":
        """The Cluster-Phys evaluation protocol: 1st-order Butterworth, 0.75–2.5 Hz (45–150 bpm)."""
        return cls(band_hz=(0.75, 2.5), order=1, harmonic_ratio=0.0)
