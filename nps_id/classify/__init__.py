"""Classify case spectra: for each query, what it is, how sure, and why.

This is the user-facing answer path behind ``python -m nps_id classify`` and :func:`classify`::

    >>> import nps_id                                                  # doctest: +SKIP
    >>> table = nps_id.classify("case_2024_117/")                       # doctest: +SKIP
    >>> table.to_csv("results.csv")                                     # doctest: +SKIP

For every query spectrum (:mod:`.core`):

1. its technique (GC-EI, MS/MS, full scan) from its metadata (:mod:`nps_id.spectra.technique`);
2. the search of the library's references of that technique, the query processed as the library was (GC-EI on
   nominal mass) (:mod:`nps_id.spectra.search.routed`);
3. the calibrated probability that the best hit is the query's compound, and that it is the compound or an
   isomer of it (:mod:`nps_id.models.identity`);
4. the class model's probabilities and substructure evidence;
5. the verdict (:mod:`.verdict`): ``identified``, ``isomer`` ("X, or an isomer of it"), ``classified`` or
   ``unknown``, with the class and control status that follow from it.

Nothing a user gives is dropped: a file that cannot be read, a record that cannot be parsed, a spectrum
that cannot be processed or searched each keep a row with ``status="skipped"`` and the reason in ``error``.

Modules: :mod:`.inputs` (files and GC-MS runs -> records), :mod:`.resources` (library, index and models, once per process),
:mod:`.core` (one batch), :mod:`.verdict` (the decision), :mod:`.table` (rows, CSV/JSON), :mod:`.run` (the run).
"""

from __future__ import annotations

import sys
import types
from typing import Any

from nps_id.classify.core import ClassifyOptions, classify_batch
from nps_id.classify.inputs import MEMORY_SOURCE, expand_inputs, iter_stubs
from nps_id.classify.resources import Resources, ResourceSpec, get_resources, load_count
from nps_id.classify.run import classify
from nps_id.classify.table import FIELDS, VERDICTS, QueryDetail, ResultTable
from nps_id.classify.verdict import CONTROLLED_STATUSES, VerdictSettings, decide, is_controlled

__all__ = [
    "FIELDS",
    "VERDICTS",
    "CONTROLLED_STATUSES",
    "ClassifyOptions",
    "MEMORY_SOURCE",
    "QueryDetail",
    "ResourceSpec",
    "Resources",
    "ResultTable",
    "VerdictSettings",
    "classify",
    "classify_batch",
    "decide",
    "expand_inputs",
    "get_resources",
    "is_controlled",
    "iter_stubs",
    "load_count",
]


class _CallableModule(types.ModuleType):
    """Lets ``nps_id.classify(...)`` call :func:`classify` although ``nps_id.classify`` is also this package."""

    def __call__(self, *args: Any, **kwargs: Any) -> ResultTable:
        return classify(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
