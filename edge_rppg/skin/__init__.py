"""The skin signal: the six meta-ROIs (``roi``) summed by a pluggable backend
(``roi_backends``), the light off the face (``light``), the 63-row multi-scale spatial-
temporal map (``mstmap``), the ``roi`` stage that makes a frame's
:class:`~edge_rppg.skin.stage.SkinSample`, and the ``window`` stage that resamples rows to
the model rate and cuts engine windows (``window``)."""
