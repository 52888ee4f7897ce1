"""``ClippedStandardScaler``: standardisation with bounded output, for the classifiers' sparse spectral features."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.preprocessing import StandardScaler

__all__ = ["ClippedStandardScaler"]


class ClippedStandardScaler(StandardScaler):
    """:class:`~sklearn.preprocessing.StandardScaler` whose output is clipped to ``[-clip, clip]``.

    Most binned-spectrum and neutral-loss features are zero in nearly every spectrum; standardised, the
    rare non-zero values become huge (a bin present in 1 of 3,000 spectra scales to about 55) and dominate
    a linear model or a perceptron. Clipping bounds every feature's influence.

    Parameters
    ----------
    clip : float or None, default 3.0
        Bound of the standardised values (None: no clipping, a plain StandardScaler).
    copy, with_mean, with_std : bool
        As in StandardScaler.
    """

    def __init__(
        self, *, clip: float | None = 3.0, copy: bool = True, with_mean: bool = True, with_std: bool = True
    ) -> None:
        super().__init__(copy=copy, with_mean=with_mean, with_std=with_std)
        self.clip = clip

    def transform(self, X: Any, copy: bool | None = None) -> np.ndarray:
        """Standardise, then clip to ``[-clip, clip]``."""
        out = super().transform(X, copy=copy)
        if self.clip is not None:
            np.clip(out, -float(self.clip), float(self.clip), out=out)
        return out

