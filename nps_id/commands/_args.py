"""argparse types shared by the commands: options checked while the command line is parsed, before any work.

A bad value ends the command with one line (``argument -k: 0 is not a whole number >= 1``) and exit code 2,
never a traceback after minutes of work. Like the command modules, this imports only ``argparse`` at module
level.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable


def _number(text: str, kind: type = float) -> float:
    try:
        return kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None


def probability(text: str) -> float:
    """A probability in [0, 1]."""
    v = _number(text)
    if not 0 <= v <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not a probability in [0, 1]")
    return v


def fraction(text: str) -> float:
    """A fraction in [0, 1)."""
    v = _number(text)
    if not 0 <= v < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a fraction in [0, 1) (0.01 is 1 %)")
    return v


def positive_int(text: str) -> int:
    """A whole number >= 1."""
    v = int(_number(text, int))
    if v < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a whole number >= 1")
    return v


def jobs(text: str) -> int:
    """A worker count: a whole number >= 1, or -1 for one per CPU core."""
    v = int(_number(text, int))
    if v < 1 and v != -1:
        raise argparse.ArgumentTypeError(f"{text} is not a worker count (a whole number >= 1, or -1 for one per core)")
    return v


def positive_float(text: str) -> float:
    """A finite number > 0 (a tolerance)."""
    v = _number(text)
    if not 0 < v < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a number > 0")
    return v


def output_file(*formats: str) -> Callable[[str], str]:
    """An output file whose extension names one of `formats` (see :func:`nps_id.textio.output_format`)."""

    def check(text: str) -> str:
        from nps_id.textio import output_format

        try:
            output_format(text, formats)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return text

    check.__name__ = "output file"  # argparse names the type in some messages
    return check


def not_a_folder(text: str) -> str:
    """A file to write that is not an existing folder."""
    from pathlib import Path

    if Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file name")
    return text
