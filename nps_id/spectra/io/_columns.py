"""Parsing blocks of ``x intensity`` text lines into arrays, vectorised, with exact error locations.

Shared by the MGF and CSV readers. The fast path checks the whole block with one regular expression
(exactly two fields on every line) and converts all fields with one numpy call; only when that fails does
a line-by-line pass run, to name the first bad line and say what is wrong with it.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["ColumnError", "parse_columns", "first_line_of_value"]

_TWO_PER_LINE = re.compile(r"(?:[ \t]*[^\s]+[ \t]+[^\s]+[ \t]*\n)*[ \t]*[^\s]+[ \t]+[^\s]+[ \t]*\n?")
_COMMA_DECIMAL = re.compile(r"^[+-]?\d*,\d+(?:[eE][+-]?\d+)?$")


class ColumnError(Exception):
    """A bad line in a block of peak lines.

    Parameters
    ----------
    reason : str
        What is wrong.
    line : int or None
        0-based index of the offending line within the block, when known.
    """

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


def _to_float(token: str, k: int, comma_hint: str) -> float:
    try:
        return float(token)
    except ValueError:
        pass
    if _COMMA_DECIMAL.match(token):
        raise ColumnError(f"value {token[:20]!r} uses a comma as decimal separator; {comma_hint}", k) from None
    raise ColumnError(f"value {token[:20]!r} is not a number", k) from None


def parse_columns(
    text: str,
    *,
    allow_extra: bool = False,
    comment_chars: str = "",
    comma_hint: str = "write numbers with '.' as decimal separator",
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, str]]]:
    """Parse lines of ``x intensity`` (whitespace-separated) into two float64 arrays.

    Parameters
    ----------
    text : str
        The lines, ``\\n``-separated; blank lines are ignored.
    allow_extra : bool, default False
        Accept further fields after the first two on a line (e.g. MGF fragment charges or annotations);
        they are returned, not dropped. Otherwise a line with more than two fields is an error.
    comment_chars : str, default ""
        Lines whose first non-blank character is one of these are skipped.
    comma_hint : str
        Advice appended to the error for a comma decimal separator.

    Returns
    -------
    x, y : numpy.ndarray
        float64 arrays, in the order of the lines (not sorted, not checked for NaN).
    extra : list of (int, str)
        (index of the value, the further fields as written) for lines with more than two fields.

    Raises
    ------
    ColumnError
        Naming the first bad line (0-based within `text`): fewer than two fields, a field that is not a
        number (a comma decimal separator is named as such), or more than two fields when not allowed.
    """
    body = text.strip("\n")
    if body and _TWO_PER_LINE.fullmatch(body):
        try:
            flat = np.array(body.split(), dtype=np.float64)
        except ValueError:
            pass  # a field that is not a number: the slow path names it
        else:
            pairs = flat.reshape(-1, 2)
            return pairs[:, 0].copy(), pairs[:, 1].copy(), []
    xs: list[float] = []
    ys: list[float] = []
    extra: list[tuple[int, str]] = []
    for k, line in enumerate(text.split("\n")):
        stripped = line.strip()
        if not stripped or (comment_chars and stripped[0] in comment_chars):
            continue
        fields = stripped.split(None, 2)
        if len(fields) < 2:
            if "," in fields[0]:
                raise ColumnError(f"line {stripped[:40]!r} holds commas, not two blank-separated numbers; {comma_hint}", k)
            raise ColumnError(f"line {stripped[:40]!r} does not hold two numbers (x and intensity)", k)
        x = _to_float(fields[0], k, comma_hint)
        y = _to_float(fields[1], k, comma_hint)
        if len(fields) == 3:
            if not allow_extra:
                raise ColumnError(f"line {stripped[:40]!r} holds more than two values (x and intensity)", k)
            extra.append((len(xs), fields[2]))
        xs.append(x)
        ys.append(y)
    return np.array(xs, dtype=np.float64), np.array(ys, dtype=np.float64), extra


def first_line_of_value(text: str, value_index: int, comment_chars: str = "") -> int:
    """Return the 0-based line (within `text`) that holds the `value_index`-th parsed row."""
    seen = -1
    for k, line in enumerate(text.split("\n")):
        stripped = line.strip()
        if not stripped or (comment_chars and stripped[0] in comment_chars):
            continue
        seen += 1
        if seen == value_index:
            return k
    return 0
