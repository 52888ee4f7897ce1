"""Small random spectra for unit checks (tests only; every accuracy or speed claim uses the real data)."""

from __future__ import annotations

import numpy as np

from nps_id.spectra import Spectrum


def random_spectra(n: int, seed: int, *, max_mz: int = 500, max_peaks: int = 40, prefix: str = "compound ") -> list[Spectrum]:
    """`n` spectra of 5 to `max_peaks` - 1 distinct integer m/z in [30, `max_mz`), named ``f"{prefix}{i}"``."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        k = int(rng.integers(5, max_peaks))
        mz = np.sort(rng.choice(np.arange(30, max_mz), size=k, replace=False)).astype(float)
        out.append(Spectrum(mz, rng.uniform(1, 999, k).round(1), metadata={"name": f"{prefix}{i}"}))
    return out
