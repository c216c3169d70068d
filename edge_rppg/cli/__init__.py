"""The ``edge-rppg`` command line: one module per sub-command, found through the
``COMMAND_MODULES`` table in :mod:`edge_rppg.cli.main`. Stage packages (training,
export, calibration, runtime) contribute their commands the same way, imported only
when the CLI starts, never by the core library."""
