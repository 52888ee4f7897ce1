"""Is a query like the spectra the library holds? The domain rule of the class verdict.

A spectrum whose intensity is spread evenly over very many peaks (dense random noise, an unthresholded scan of
the baseline) is unlike every reference of its technique; the class model would still give it the class of
whichever training spectrum it happens to resemble most. The rule: a query whose spectral entropy (Shannon entropy
of its normalised intensities, in nats) is above the largest entropy of the library's spectra of the same
technique, plus :data:`MARGIN`, is out of the library's domain, and its class verdict is ``unknown`` with the
reason in ``evidence``. It is decided here once, from the library in use (a user's library sets its own bound).

On the default library the largest GC-EI entropy is 5.6 (cis-chlordane, 661 peaks); 1,500 peaks of uniform
random noise have about 7.1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["MARGIN", "spectral_entropy", "entropy_bounds", "outside_domain"]

#: nats above the library's largest spectral entropy before a query is out of its domain
MARGIN = 0.5


def spectral_entropy(intensity: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Shannon entropy (nats) of each spectrum's normalised intensities; spectra ``offsets[i]:offsets[i+1]``.

    Examples
    --------
    >>> spectral_entropy(np.array([1.0, 1.0, 5.0]), np.array([0, 2, 3])).round(3).tolist()
    [0.693, 0.0]
    """
    from nps_id.spectra.search._peaks import segment_ids

    y = np.clip(np.asarray(intensity, dtype=np.float64), 0, None)
    n = np.asarray(offsets).size - 1
    seg = segment_ids(np.asarray(offsets))
    total = np.bincount(seg, weights=y, minlength=n)
    p = y / np.where(total[seg] > 0, total[seg], 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log(p), 0.0)
    return np.bincount(seg, weights=terms, minlength=n)


def entropy_bounds(library: Any, techniques: np.ndarray) -> dict[str, float]:
    """Per technique, the largest spectral entropy of the library's spectra of it plus :data:`MARGIN`."""
    h = spectral_entropy(library.intensity, library.offsets)
    return {str(t): float(h[techniques == t].max()) + MARGIN for t in np.unique(techniques) if (techniques == t).any()}


def outside_domain(entropy: float, bound: float | None) -> str | None:
    """The reason a query of spectral entropy `entropy` is out of the library's domain, or None.

    Examples
    --------
    >>> outside_domain(7.1, 6.1)
    'unlike every library spectrum of its technique (spectral entropy 7.10 > 6.10: noise or an unthresholded scan?)'
    >>> outside_domain(3.0, 6.1) is None and outside_domain(9.0, None) is None
    True
    """
    if bound is None or not np.isfinite(entropy) or entropy <= bound:
        return None
    return (f"unlike every library spectrum of its technique (spectral entropy {entropy:.2f} > {bound:.2f}: "
            "noise or an unthresholded scan?)")
