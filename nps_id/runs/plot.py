"""Plots of runs: the total ion chromatogram with the deconvolved components marked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nps_id.runs.run import Run

__all__ = ["plot_tic"]

_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")


def _rt_of(component: Any) -> float:
    rt = getattr(component, "rt", None)
    if rt is not None:
        return float(rt)
    meta = getattr(component, "metadata", {}) or {}
    if "retention_time_min" in meta:
        return float(meta["retention_time_min"])
    return float(meta["retention_time"]) / 60.0


def plot_tic(run: Run, components: Sequence[Any] | None = None, ax: Any = None, *, label_top: int = 15) -> Any:
    """Draw a run's total ion chromatogram with its components marked.

    Parameters
    ----------
    run : Run
        The run.
    components : ComponentTable, sequence of Component, or sequence of Spectrum, optional
        Components to mark: a numbered marker at each apex; for :class:`~nps_id.runs.components.Component`
        objects also the deconvolved contribution of each (its profile times its summed apex abundance),
        filled under the TIC. Spectra are placed by ``metadata["retention_time_min"]`` (or
        ``retention_time`` in seconds).
    ax : matplotlib Axes, optional
        Axes to draw into; a new figure (no pyplot, so no display is needed) is made if None.
    label_top : int, default 15
        Number the largest this many components (by area share, else all).

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(9.0, 3.4), dpi=90)
        ax = fig.add_subplot(1, 1, 1)
    tic = run.tic
    ax.plot(run.rt, tic, color="#333333", linewidth=0.8, label="TIC")
    comps = list(components or [])
    shares = np.array([float(getattr(c, "area_share", None) or (getattr(c, "metadata", {}) or {}).get("area_share", 0.0))
                       for c in comps])
    labelled = set(np.argsort(-shares)[:label_top].tolist()) if comps else set()
    for k, comp in enumerate(comps):
        colour = _COLOURS[k % len(_COLOURS)]
        rt = _rt_of(comp)
        profile = getattr(comp, "profile", None)
        profile_rt = getattr(comp, "profile_rt", None)
        if profile is not None and profile_rt is not None and len(profile_rt) == len(profile):
            ax.fill_between(profile_rt, 0, np.asarray(profile) * float(comp.height), color=colour, alpha=0.35,
                            linewidth=0)
        y = float(np.interp(rt, run.rt, tic)) if run.n_scans else 0.0
        ax.plot([rt], [y], marker="v", color=colour, markersize=5, linestyle="none")
        if k in labelled:
            number = getattr(comp, "number", None) or (getattr(comp, "metadata", {}) or {}).get("component", k + 1)
            ax.annotate(str(number), (rt, y), xytext=(0, 4), textcoords="offset points", ha="center", fontsize=7,
                        color=colour)
    ax.set_xlabel("retention time (min)")
    ax.set_ylabel("total ion abundance")
    if run.n_scans:
        ax.set_xlim(float(run.rt[0]), float(run.rt[-1]))
    ax.set_ylim(bottom=0)
    ax.ticklabel_format(axis="y", style="sci", scilimits=(0, 3))
    return ax
