"""Command modules of ``python -m nps_id``; see :mod:`nps_id.cli`."""
