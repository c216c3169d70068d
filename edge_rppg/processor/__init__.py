"""The chain that joins the parts: its options (``options``), the front built in one place
(``front``), the stream processor (``stream``) with its per-frame result (``results``), the
whole-clip back end (``clip``), a file's front recorded into an MSTmap (``extract``) and
``estimate()`` (``estimation``)."""
