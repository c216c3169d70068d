"""Signal processing that turns a blood-volume-pulse (BVP) signal into vital signs.

``filters`` band-passes and detrends; ``hr`` estimates heart rate from the Welch power
spectrum with a spectral signal-to-noise ratio as quality index (per analysis window
and per video, as in §4.1 of the Cluster-Phys paper); ``peaks`` finds individual
beats and inter-beat intervals; ``hrv`` derives LF/HF (normalised units) and time-
domain HRV from those beats; ``respiration`` estimates the breathing rate from the
respiratory modulation of the pulse. All settings live in :class:`SignalConfig`.
"""
from .config import SignalConfig

__all__ = ["SignalConfig"]
