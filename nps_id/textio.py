"""Writing the text files users open: UTF-8 with undecodable bytes kept visible, atomic, safe in spreadsheets.

Every result file of the command line (``classify``, ``search``, ``chem classify`` CSV/JSON, the HTML report)
is written here, so that three rules hold in one place:

- **Nothing is lost to an odd byte.** Names read from files (an MGF ``TITLE``, a file name) may hold bytes that
  are not UTF-8; they reach Python as lone surrogates (``surrogateescape``) and would make a plain UTF-8 write
  fail. They are written as visible backslash escapes instead (byte ``0xE9`` -> ``\\xe9``): the file is valid
  UTF-8 and the byte can still be read off it.
- **A file is complete or absent.** Text goes to a uniquely named temporary file beside the target, then
  replaces it (:func:`write_text_atomic`); the folder is created, a failed write removes its temporary file.
- **A CSV cell is never a formula.** Text cells a spreadsheet would evaluate (starting with ``=``, ``+``, ``-``,
  ``@``, tab or carriage return, and not a plain number) get a leading single quote (:func:`csv_cell`).

The module imports the standard library only (the command modules use it while parsing arguments).
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import re
import secrets
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

__all__ = ["ERRORS", "csv_cell", "csv_text", "json_text", "output_format", "visible", "write_stdout",
           "write_text_atomic"]

#: codec error handler: characters the encoding cannot write become backslash escapes
#: (a byte kept by ``surrogateescape`` -> ``\xNN``; other characters -> ``\uXXXX``/``\UXXXXXXXX``)
ERRORS = "nps_id.visible"

_SURROGATE = re.compile("[\ud800-\udfff]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _escape(ch: str) -> str:
    o = ord(ch)
    if 0xDC80 <= o <= 0xDCFF:  # an undecodable byte kept by surrogateescape
        return f"\\x{o - 0xDC00:02x}"
    if o <= 0xFF:
        return f"\\x{o:02x}"
    if o <= 0xFFFF:
        return f"\\u{o:04x}"
    return f"\\U{o:08x}"


def _visible_errors(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    return "".join(_escape(c) for c in exc.object[exc.start:exc.end]), exc.end


codecs.register_error(ERRORS, _visible_errors)


def visible(text: str) -> str:
    """`text` with every lone surrogate (an undecodable byte) replaced by its visible escape.

    Examples
    --------
    >>> visible(b"caf\\xe9".decode("utf-8", "surrogateescape"))
    'caf\\\\xe9'
    >>> visible("café")
    'café'
    """
    return _SURROGATE.sub(lambda m: _escape(m.group()), text)


def csv_cell(value: Any) -> Any:
    """`value` made safe for a spreadsheet: text that would be evaluated as a formula gets a leading ``'``.

    Text starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is prefixed with a single quote,
    unless it is a plain number (``-1.5``, ``+3e-2``); other values are returned unchanged.

    Examples
    --------
    >>> csv_cell("=HYPERLINK(\\"http://x\\")"), csv_cell("-1.5"), csv_cell("-x"), csv_cell("cocaine"), csv_cell(3)
    ('\\'=HYPERLINK("http://x")', '-1.5', "'-x", 'cocaine', 3)
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_text(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """A CSV document (lines ending in ``\\n``): `header` then `rows`, every cell through :func:`csv_cell`.

    Values are written as :mod:`csv` writes them (``None`` as an empty field); format numbers before. A cell
    holding a line break (``\n`` or ``\r``) is quoted, so that it cannot split its row.
    """
    # csv quotes only the characters of its line terminator: write "\r\n" rows (both quoted), end them in "\n"
    lines: list[str] = []
    w = csv.writer(_Appender(lines), lineterminator="\r\n")
    w.writerow([csv_cell(v) for v in header])
    for row in rows:
        w.writerow([csv_cell(v) for v in row])
    return "".join(line[:-2] + "\n" if line.endswith("\r\n") else line for line in lines)


class _Appender:
    """A file-like sink for :func:`csv.writer` that keeps each written record as one string."""

    def __init__(self, lines: list[str]) -> None:
        self.write = lines.append


def json_text(obj: Any, *, indent: int | None = 1, default: Any = None) -> str:
    """`obj` as JSON text (non-ASCII kept as is), undecodable bytes in strings as visible escapes, ending in a newline.

    A string ``"caf\\udce9"`` (byte ``0xE9`` kept by ``surrogateescape``) is written ``"caf\\\\xe9"``, which
    reads back as the text ``caf\\xe9``: what the CSV shows, valid in every JSON reader.
    """
    text = json.dumps(obj, indent=indent, ensure_ascii=False, default=default)
    return _SURROGATE.sub(lambda m: "\\" + _escape(m.group()), text) + "\n"


def output_format(path: str | os.PathLike, formats: Sequence[str] = ("csv", "json")) -> str:
    """The format of an output file told by its extension (one of `formats`), checked before any work.

    Raises
    ------
    ValueError
        If the extension is not one of `formats` (the message names them), or `path` is a folder.
    """
    p = Path(path)
    names = " or ".join(f".{f}" for f in formats)
    if p.is_dir():
        raise ValueError(f"{visible(str(p))} is a folder; give a file name ending in {names}")
    suffix = p.suffix.lower().lstrip(".")
    if suffix not in formats:
        got = f"'.{suffix}'" if suffix else "no extension"
        raise ValueError(f"cannot write {visible(str(p))}: {got} is not an output format here; "
                         f"name the file {names}")
    return suffix


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write `text` to `path` as UTF-8 (undecodable bytes as visible escapes), atomically; return the path.

    The folder is created if needed. The text goes to a uniquely named ``.NAME.*.partial`` file in the same
    folder, which then replaces `path`: readers see the old file or the whole new one, two writers never
    share a temporary file, and a failed write leaves no temporary file behind. Line ends are written as given.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.partial")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # pragma: no cover - 32 random bits
            continue
        break
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors=ERRORS, newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def write_stdout(text: str, stream: TextIO | None = None) -> None:
    """Write `text` to standard output (or `stream`); characters its encoding cannot hold as visible escapes."""
    stream = sys.stdout if stream is None else stream
    encoding = getattr(stream, "encoding", None) or "utf-8"
    buffer = getattr(stream, "buffer", None)
    if buffer is None:  # a text-only stream (StringIO): it holds str, escape what could not be encoded
        stream.write(visible(text))
    else:
        stream.flush()
        buffer.write(text.encode(encoding, ERRORS))
        buffer.flush()
    stream.flush()
