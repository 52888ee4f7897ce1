"""Library search: score batches of query spectra against a whole library and keep the top-k hits.

- :class:`SearchIndex` (built once per library, stored beside its HDF5 file as ``LIB.search/``) and
  :func:`search`, the two-stage engine (dense 1-Da-bin matrix products in torch, then exact re-scoring);
- :mod:`~nps_id.spectra.search.exact`: cosine (matchms CosineGreedy), entropy (ms_entropy), NIST composite
  match factor, reverse search; pairwise helpers :func:`cosine_greedy`, :func:`entropy_similarity`,
  :func:`nist_match_factor`.
"""

from __future__ import annotations

from typing import Any

from nps_id.spectra.search.exact import METRICS, cosine_greedy, entropy_similarity, nist_match_factor
from nps_id.spectra.search.index import MODES, SearchIndex, SearchResult, index_path

__all__ = [
    "METRICS",
    "MODES",
    "SearchIndex",
    "SearchResult",
    "cosine_greedy",
    "entropy_similarity",
    "index_path",
    "nist_match_factor",
    "search",
]


def search(queries: Any, library: Any, k: int = 10, **options: Any) -> SearchResult:
    """Search `queries` against `library` (a :class:`SearchIndex`, or a library whose stored index is opened or
    built); see :meth:`SearchIndex.search` for the options.
    """
    index = library if isinstance(library, SearchIndex) else SearchIndex.open(library)
    return index.search(queries, k=k, **options)
