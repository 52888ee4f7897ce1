"""Reader probes (issue 16 items 1, 4, 5, 6, 11, 12): real SWGDRUG records with one record damaged.

Every probe writes 20 real spectra with one bad record among them (or the whole file changed: BOM, CRLF, a cut
gzip), reads it with ``on_error="skip"`` and with ``on_error="raise"``, and checks that every good record came
back with its own peaks, that the bad one is one counted skip (or is read right, for benign changes), and that
``raise`` names the file and record.
"""

from __future__ import annotations

import gzip
import io
import re
from pathlib import Path

import numpy as np

from nps_id.errors import SpectrumFormatError
from nps_id.spectra.io import ReadReport, load_spectra
from nps_id.spectra.io.mgf import write_mgf
from nps_id.spectra.io.msp import write_msp
from nps_id.spectra.spectrum import Spectrum

from .common import SHARED, Group, expect

BAD_MZ = ["-1", "0", "-0", "1e8", "1e10", "1e300", "1e400", "nan", "inf", "-inf", "abc", "100000.5"]
BAD_INTENSITY = ["-5", "nan", "inf", "1e300", "abc", "-inf"]
BAD_NUM_PEAKS = ["99999999999999999999", "9" * 400, str(2**63), "-1", "abc", "1e3", "1000000000"]


def real_spectra(n: int = 20) -> list[Spectrum]:
    """The first `n` records of the real SWGDRUG/NIST file (names and peaks only)."""
    got = load_spectra(SHARED / "data" / "swgdrug_nist_ei.msp.gz", on_error="skip")[:n]
    return [Spectrum(s.mz, s.intensity, metadata={"name": s.name or f"record {i}"}) for i, s in enumerate(got)]


def _text(fmt: str, spectra: list[Spectrum]) -> str:
    buf = io.StringIO()
    (write_msp if fmt == "msp" else write_mgf)(spectra, buf)
    return buf.getvalue()


def _bad_record(fmt: str, name: str, peaks: list[str], num_peaks: str | None = None) -> str:
    if fmt == "msp":
        return f"Name: {name}\nNum Peaks: {num_peaks or len(peaks)}\n" + "\n".join(peaks) + "\n\n"
    return f"BEGIN IONS\nTITLE={name}\n" + "\n".join(peaks) + "\nEND IONS\n\n"


def _same(a: list[Spectrum], b: list[Spectrum]) -> bool:
    return len(a) == len(b) and all(
        np.allclose(x.mz, y.mz) and np.allclose(x.intensity, y.intensity, rtol=1e-6) for x, y in zip(a, b)
    )


def _read(path: Path) -> tuple[list[Spectrum], ReadReport]:
    report = ReadReport()
    return load_spectra(path, on_error="skip", report=report), report


def _check_one_bad(path: Path, good: list[Spectrum], bad_at: int) -> None:
    got, report = _read(path)
    expect(_same(got, good), f"{len(got)} spectra back, not the {len(good)} good ones unchanged")
    expect(report.n_skipped == 1, f"{report.n_skipped} skips counted for one bad record")
    try:
        load_spectra(path)
    except SpectrumFormatError as exc:
        expect(path.name in str(exc) and f"record {bad_at}" in str(exc), f"error names no file/record: {exc}")
        return
    raise AssertionError("on_error='raise' read a bad record without error")


def _check_all_read(path: Path, good: list[Spectrum], n: int, inserted_at: int | None) -> None:
    got, report = _read(path)
    expect(len(got) == n and report.n_skipped == 0, f"{len(got)} read, {report.n_skipped} skipped of {n}")
    if inserted_at is not None:
        expect(got[inserted_at].name, "the inserted record lost its name")
        got = got[:inserted_at] + got[inserted_at + 1:]
    expect(_same(got, good), "good records changed")


def groups(tmp: Path) -> list[Group]:
    """The reader probe groups, writing their files under `tmp`."""
    good = real_spectra()
    g4 = Group(4, "absurd `Num Peaks` (MSP)")
    g5 = Group(5, "negative, zero, absurd or non-numeric m/z and intensity (MSP, MGF, CSV, JCAMP-DX)")
    g6 = Group(6, "gzip cut in the middle (MSP, MGF, CSV, JCAMP-DX)")
    g11 = Group(11, "UTF-8 BOM, CRLF, NUL in a name")
    g1 = Group(1, "non-UTF-8 bytes in record names (read side)")
    g12 = Group(12, "real exports of other tools (`../shared/reader-quirks`)")
    at = 7  # the bad record's position

    def multi(fmt: str, name: str, bad: str, check: str = "one bad", raw: bytes | None = None):
        def run() -> None:
            path = tmp / f"{name}.{fmt}"
            if raw is not None:
                path.write_bytes(raw)
            else:
                path.write_text(_text(fmt, good[:at]) + bad + _text(fmt, good[at:]), encoding="utf-8")
            if check == "one bad":
                _check_one_bad(path, good, at)
            else:
                _check_all_read(path, good, len(good) + (0 if not bad else 1), at if bad else None)
        return run

    for fmt in ("msp", "mgf"):
        for v in BAD_MZ:
            for pos in ("first", "last"):
                peaks = [f"{v} 10", "41 20"] if pos == "first" else ["41 20", f"{v} 10"]
                g5.add(f"{fmt}: m/z {v} ({pos} peak)", multi(fmt, f"mz_{v}_{pos}", _bad_record(fmt, "bad", peaks)))
        for v in BAD_INTENSITY:
            g5.add(f"{fmt}: intensity {v}", multi(fmt, f"int_{v}", _bad_record(fmt, "bad", ["41 10", f"57 {v}"])))
        g11.add(f"{fmt}: NUL in a name", multi(fmt, "nul", _bad_record(fmt, "ba\x00d", ["41 10", "57 20"])))
        for b in range(0x80, 0x100):
            name = f"caf{b:02x}"
            raw = (_text(fmt, good[:at]).encode() + _bad_record(fmt, "caf@", ["41 10", "57 20"]).encode()
                   .replace(b"@", bytes([b])) + _text(fmt, good[at:]).encode())
            g1.add(f"{fmt}: byte 0x{b:02x} in a name", multi(fmt, name, "x", "all read", raw=raw))
        text = _text(fmt, good)
        g11.add(f"{fmt}: BOM", multi(fmt, "bom", "", "all read", raw=b"\xef\xbb\xbf" + text.encode()))
        g11.add(f"{fmt}: CRLF", multi(fmt, "crlf", "", "all read", raw=text.replace("\n", "\r\n").encode()))
        g11.add(f"{fmt}: BOM + CRLF", multi(fmt, "bomcrlf", "", "all read",
                                            raw=b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode()))
        for frac in (0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 0.97, 0.99, 0.999):
            g6.add(f"{fmt}.gz cut at {frac:.1%}", _cut_probe(tmp, fmt, text, good, frac))
    for v in BAD_NUM_PEAKS:
        g4.add(f"Num Peaks: {v[:24]}", multi("msp", f"np_{v[:10]}", _bad_record("msp", "bad", ["41 10", "57 20"], v)))

    for v in BAD_MZ + ["41"]:
        for kind in ("csv", "jdx"):
            g5.add(f"{kind}: m/z {v}", _single_probe(tmp, kind, v, benign=(v == "41")))
    for kind in ("csv", "jdx"):
        g11.add(f"{kind}: BOM", _single_probe(tmp, kind, "41", benign=True, bom=True))
        for frac in (0.3, 0.5, 0.7, 0.9, 0.99):
            g6.add(f"{kind}.gz cut at {frac:.0%}", _single_cut_probe(tmp, kind, frac))
    for path in sorted((SHARED / "reader-quirks").iterdir()):
        if path.suffix != ".md":
            g12.add(path.name, _quirk_probe(path))
    return [g1, g4, g5, g6, g11, g12]


def _cut_probe(tmp: Path, fmt: str, text: str, good: list[Spectrum], frac: float):
    def run() -> None:
        data = gzip.compress(text.encode(), mtime=0)
        path = tmp / f"cut{frac}.{fmt}.gz"
        path.write_bytes(data[: int(len(data) * frac)])
        got, report = _read(path)
        expect(_same(got, good[: len(got)]), "records before the cut changed")
        expect(report.n_skipped >= 1, "the cut was not counted")
        expect(any("cut" in r or "truncat" in r or "end" in r for r in report.reasons()), "no reason for the cut")
    return run


def _single_text(kind: str, v: str) -> str:
    if kind == "csv":
        return f"m/z,intensity\n41,10\n{v},20\n57,999\n"
    return ("##TITLE=probe\n##JCAMP-DX=4.24\n##DATA TYPE=MASS SPECTRUM\n##XUNITS=M/Z\n##YUNITS=RELATIVE ABUNDANCE\n"
            f"##NPOINTS=3\n##PEAK TABLE=(XY..XY)\n41,10\n{v},20\n57,999\n##END=\n")


def _single_probe(tmp: Path, kind: str, v: str, benign: bool, bom: bool = False):
    def run() -> None:
        path = tmp / f"single_{re.sub(r'[^a-z0-9]', '_', v)}{'_bom' if bom else ''}.{kind}"
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + _single_text(kind, v).encode())
        got, report = _read(path)
        if benign:
            expect(len(got) == 1 and got[0].mz.tolist() == [41.0, 57.0] or len(got[0].mz) == 3,
                   f"{len(got)} read / peaks {got[0].mz.tolist() if got else None}")
            return
        expect(not got and report.n_skipped == 1, f"{len(got)} read, {report.n_skipped} skipped for a bad m/z")
    return run


def _single_cut_probe(tmp: Path, kind: str, frac: float):
    def run() -> None:
        data = gzip.compress(_single_text(kind, "43").encode() * 40, mtime=0)
        path = tmp / f"cut{frac}.{kind}.gz"
        path.write_bytes(data[: int(len(data) * frac)])
        got, report = _read(path)
        expect(report.n_skipped >= 1, "a cut file gave no counted skip")
    return run


def _quirk_counts(path: Path) -> int:
    text = path.read_text(encoding="utf-8", errors="replace")
    pattern = {".msp": r"(?im)^[ \t]*num[ \t]*peaks[ \t]*:", ".mgf": r"(?im)^[ \t]*BEGIN IONS[ \t]*$",
               ".mzml": r"<spectrum\s"}[path.suffix]
    return len(re.findall(pattern, text))


def _quirk_probe(path: Path):
    def run() -> None:
        got, report = _read(path)
        n = _quirk_counts(path)
        expect(len(got) == n and report.n_skipped == 0, f"{len(got)} read, {report.n_skipped} skipped of {n}")
        expect(all(len(s.mz) and np.isfinite(s.mz).all() for s in got), "empty or non-finite spectrum read")
    return run
