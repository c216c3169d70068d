"""Vital signs: signal processing (``dsp``: filters, HR from the spectrum, beats, HRV,
respiration), the stitching of window pulses into one signal (``stitch``), the readings of a
stream and of a clip (``readings``), what makes them valid (``validity``: the artefact gate,
the steady run, the clip rule), and the ``vitals`` stage (``stage``) of a stream."""
