"""Exception hierarchy of nps_id.

Every error nps_id raises on purpose derives from :class:`NpsIdError`; where a builtin exception
fits as well (a bad value, a missing file), the subclass inherits it too, so callers may catch either.
"""

from __future__ import annotations

__all__ = [
    "NpsIdError",
    "InvalidSpectrumError",
    "SpectrumFormatError",
    "InvalidRunError",
    "RunFormatError",
    "UnknownFormatError",
    "ProcessingError",
    "PipelineFormatError",
    "LibraryError",
    "ChemistryError",
    "ModelError",
    "DeviceError",
]


class NpsIdError(Exception):
    """Base class of all errors raised by nps_id."""


class InvalidSpectrumError(NpsIdError, ValueError):
    """A spectrum's arrays or fields break the rules of :class:`nps_id.spectra.Spectrum`."""


class SpectrumFormatError(NpsIdError, ValueError):
    """A file could not be parsed; names the file and, where known, the record and line.

    Parameters
    ----------
    message : str
        What is wrong with the record.
    path : str, optional
        The file being read.
    record : int, optional
        0-based index of the record within the file.
    record_id : str, optional
        The record's own name or id, when it could be read.
    line : int, optional
        1-based line number where the record starts.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        record: int | None = None,
        record_id: str | None = None,
        line: int | None = None,
    ) -> None:
        self.reason = message
        self.path = path
        self.record = record
        self.record_id = record_id
        self.line = line
        loc = []
        if record is not None:
            loc.append(f"record {record}" + (f" ({record_id!r})" if record_id else ""))
        if line is not None:
            loc.append(f"line {line}")
        prefix = ": ".join(x for x in (path, ", ".join(loc)) if x)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class InvalidRunError(NpsIdError, ValueError):
    """A run's arrays break the rules of :class:`nps_id.runs.Run` (shapes, order, finite non-negative values)."""


class RunFormatError(NpsIdError, ValueError):
    """A GC-MS/LC-MS run (Agilent ``.D`` folder, ANDI netCDF, mzML) could not be read: missing, damaged or truncated.

    Parameters
    ----------
    message : str
        What is wrong and, where it helps, what to do.
    path : str, optional
        The run (folder or file) being read.
    """

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.reason = message
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class UnknownFormatError(NpsIdError, ValueError):
    """The file format could not be told from the extension, or is not supported."""


class ProcessingError(NpsIdError, ValueError):
    """A processing step got bad parameters, or a spectrum it cannot process (wrong kind, ...).

    The message names the step and says what to change.
    """


class PipelineFormatError(ProcessingError):
    """A pipeline text (or file) could not be parsed; names the source and the 1-based line.

    Parameters
    ----------
    message : str
        What is wrong.
    line : int, optional
        1-based line number in the text.
    source : str, optional
        The file the text came from.
    """

    def __init__(self, message: str, *, line: int | None = None, source: str | None = None) -> None:
        self.reason = message
        self.line = line
        self.source = source
        prefix = ", ".join(p for p in (source, f"line {line}" if line is not None else None) if p)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class LibraryError(NpsIdError):
    """A spectral library file is missing, damaged, of another format version, or misused."""


class ChemistryError(NpsIdError, ValueError):
    """A structure could not be parsed or processed."""


class ModelError(NpsIdError):
    """A model file is damaged, tampered with, or does not match the data it is used on."""


class DeviceError(NpsIdError, RuntimeError):
    """The requested compute device (e.g. ``"cuda"``) is not available."""
