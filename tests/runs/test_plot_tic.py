"""The TIC plot with components marked (no display needed)."""

from __future__ import annotations

import io

from nps_id.runs import find_components, plot_tic
from nps_id.runs.synthetic import make_run
from nps_id.spectra import Spectrum


def test_plot_tic(rng) -> None:
    spec = Spectrum([41.0, 91.0, 120.0], [300.0, 999.0, 200.0])
    other = Spectrum([55.0, 105.0, 180.0], [999.0, 400.0, 300.0])
    run, _ = make_run([spec, other], [60.0, 100.0], 2.5, n_scans=160, mz_range=(40, 200), rng=rng)
    table = find_components(run)
    ax = plot_tic(run, table)
    assert ax.get_xlabel() == "retention time (min)"
    assert len(ax.collections) >= len(table)  # one filled profile per component
    labels = [t.get_text() for t in ax.texts]
    assert labels == [str(c.number) for c in table]
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png")
    assert buf.getvalue()[:4] == b"\x89PNG"
    # spectra (from extract_components) work as well, and into given axes
    from matplotlib.figure import Figure

    target = Figure().add_subplot(1, 1, 1)
    assert plot_tic(run, table.spectra, ax=target) is target
    assert len(target.texts) == len(table)
    assert plot_tic(run) is not None
