"""Frames in: decoding video files and image folders (``video``), checking what a caller hands
in (``validation``), the ``input`` stage that makes a checked RGB
:class:`~edge_rppg.frames.input.Frame`, and the stream clock that skips repeated or out-of-
order frames and restarts on a clock that jumps back (``clock``)."""
