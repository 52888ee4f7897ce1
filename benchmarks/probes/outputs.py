"""Probes of what users run and what they get (issue 16 items 1, 7, 8, 13, 14): result files with odd text,
formula-like cells, large query batches, the command line's options and odd inputs."""

from __future__ import annotations

import csv
import io
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np

from nps_id.spectra.io.mgf import write_mgf

from .common import ROOT, SHARED, Group, cli, cli_outcome, expect
from .readers import real_spectra

FORMULAS = ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "=cmd|' /C calc'!A0", "\t=1", "\r=1", "=HYPERLINK(\"x\")",
            "+", "-", "@", "==", "=\u00e9"]


def _mgf(path: Path, titles: list[bytes]) -> None:
    """Real spectra under the given raw titles (bytes, so that non-UTF-8 names can be written)."""
    buf = io.StringIO()
    spectra = real_spectra(len(titles))
    write_mgf(spectra, buf)
    text = buf.getvalue().encode()
    for s, t in zip(spectra, titles):
        text = text.replace(b"TITLE=" + s.name.encode() + b"\n", b"TITLE=" + t + b"\n", 1)
    path.write_bytes(text)


def groups(tmp: Path, lib: Path, model: Path | None) -> list[Group]:
    """The output and command-line probe groups; `lib` a small library, `model` the default model folder."""
    g1 = Group(1, "non-UTF-8 bytes in titles and file names, written to CSV, JSON and HTML")
    g7 = Group(7, "CSV formula injection in names")
    g8 = Group(8, "search memory with large query batches (6 GB address-space limit)")
    g13 = Group(13, "command-line options, outputs and messages")
    g14 = Group(14, "noise, locked libraries, stale temporary files, FIFOs, devices")

    for b in range(0x80, 0x100):
        g1.add(f"API: title byte 0x{b:02x}", _api_outputs(tmp, lib, bytes([b])))
    for b in (0xE9, 0xFF, 0x80):
        g1.add(f"CLI: title byte 0x{b:02x}", _cli_outputs(tmp, lib, bytes([b]), in_name=False))
        g1.add(f"CLI: file name byte 0x{b:02x}", _cli_outputs(tmp, lib, bytes([b]), in_name=True))
    for f in FORMULAS:
        g7.add(f"name {f!r}", _formula(tmp, lib, f))
    g8.add("200 queries of 10,000 peaks", _big_batch(tmp, lib, 200, 10_000))
    g8.add("20 queries of 100,000 peaks", _big_batch(tmp, lib, 20, 100_000))

    q = tmp / "q.mgf"
    _mgf(q, [b"q1", b"q2"])
    bad = {
        "search --metric entropy --mode reverse": ["search", q, "-l", lib, "--metric", "entropy", "--mode", "reverse"],
        "search --mode identity on EI": ["search", q, "-l", lib, "--mode", "identity"],
        "search -k 0": ["search", q, "-l", lib, "-k", "0"],
        "search -o h.xlsx": ["search", q, "-l", lib, "-o", tmp / "h.xlsx"],
        "search missing library": ["search", q, "-l", tmp / "none.h5"],
        "search a library that is not HDF5": ["search", q, "-l", q],
        "classify --min-identity-probability 5000": ["classify", q, "-l", lib, "--min-identity-probability", "5000"],
        "classify --min-probability 2": ["classify", q, "-l", lib, "--min-probability", "2"],
        "classify --min-probability nan": ["classify", q, "-l", lib, "--min-probability", "nan"],
        "classify -o x.xlsx": ["classify", q, "-l", lib, "-o", tmp / "x.xlsx"],
        "classify -j 0": ["classify", q, "-l", lib, "-j", "0"],
        "classify --top-k -1": ["classify", q, "-l", lib, "--top-k", "-1"],
        "classify missing input": ["classify", tmp / "nothing.mgf", "-l", lib],
        "classify empty folder": ["classify", _empty(tmp), "-l", lib],
        "library build of nothing": ["library", "build", _empty(tmp), "-o", tmp / "e.h5"],
        "library info of a text file": ["library", "info", q],
        "train with a missing library": ["train", "-l", tmp / "none.h5", "-o", tmp / "m"],
    }
    for name, argv in bad.items():
        g13.add(name, _must_fail(argv))
    g13.add("search -o into a new folder", _writes(["search", q, "-l", lib, "-o", tmp / "new1" / "h.csv"],
                                                   tmp / "new1" / "h.csv"))
    g13.add("chem classify -o into a new folder",
            _writes(["chem", "classify", "CCO", "-o", tmp / "new2" / "c.csv"], tmp / "new2" / "c.csv"))
    g13.add("classify -o into a new folder",
            _writes(["classify", q, "-l", lib, "--no-model", "-o", tmp / "new3" / "r.json"], tmp / "new3" / "r.json"))
    g13.add("search counts unreadable records", _search_counts(tmp, lib))

    if model is not None:
        g14.add("dense random noise (1,500 peaks) -> unknown", _noise(tmp, model))
    g14.add("a library another process holds locked", _locked(tmp, lib))
    g14.add("stale .partial beside the output", _stale_partial(tmp))
    g14.add("FIFO and device in an input folder", _fifo(tmp, lib))
    g14.add("/dev/zero as input", _must_fail(["classify", "/dev/zero", "-l", lib, "--no-model"]))
    return [g1, g7, g8, g13, g14]


def _empty(tmp: Path) -> Path:
    d = tmp / "empty"
    d.mkdir(exist_ok=True)
    return d


def _check_outputs(csv_path: Path, json_path: Path, html_path: Path | None, escape: str) -> None:
    for p in (csv_path, json_path) + ((html_path,) if html_path else ()):
        expect(p.exists(), f"{p.name} not written")
        text = p.read_bytes().decode("utf-8")  # raises if not UTF-8: counted as a crash
        expect(escape in text, f"the escaped byte {escape!r} is not visible in {p.name}")
    rows = list(csv.DictReader(open(csv_path, encoding="utf-8")))
    expect(len(rows) == 3, f"{len(rows)} rows for 3 queries")
    json.loads(json_path.read_text(encoding="utf-8"))


def _api_outputs(tmp: Path, lib: Path, byte: bytes):
    def run() -> None:
        from nps_id.classify import classify

        path = tmp / "latin.mgf"
        _mgf(path, [b"a", b"caf" + byte, b"c"])
        t = classify(path, library=lib, model=False, progress=False)
        t.to_csv(tmp / "latin.csv")
        t.to_json(tmp / "latin.json")
        t.to_html(tmp / "latin.html")
        _check_outputs(tmp / "latin.csv", tmp / "latin.json", tmp / "latin.html", f"\\x{byte[0]:02x}")
    return run


def _cli_outputs(tmp: Path, lib: Path, byte: bytes, in_name: bool):
    def run() -> tuple[str, str]:
        d = tmp / f"cli{byte.hex()}{int(in_name)}"
        d.mkdir(exist_ok=True)
        name = os.fsdecode(b"case" + (byte if in_name else b"") + b".mgf")
        _mgf(d / name, [b"a", b"x" if in_name else b"caf" + byte, b"c"])
        r = cli("classify", name, "-l", lib, "--no-model", "-o", "r.csv", "--report", "r.html", cwd=d)
        out = cli_outcome(r)
        r2 = cli("classify", name, "-l", lib, "--no-model", "-o", "r.json", cwd=d)
        cli_outcome(r2)
        s = cli("search", name, "-l", lib, "-o", "s.csv", cwd=d)
        cli_outcome(s)
        _check_outputs(d / "r.csv", d / "r.json", d / "r.html", f"\\x{byte[0]:02x}")
        expect((d / "s.csv").read_bytes().decode("utf-8"), "search CSV empty")
        return out
    return run


def _formula(tmp: Path, lib: Path, text: str):
    def run() -> None:
        from nps_id.classify import classify

        path = tmp / "formula.mgf"
        _mgf(path, [b"a", text.replace("\r", "").encode() or b"x", b"c"])
        t = classify(path, library=lib, model=False, progress=False)
        t.to_csv(tmp / "f.csv")
        t.to_json(tmp / "f.json")
        for row in csv.reader(open(tmp / "f.csv", encoding="utf-8")):
            for cell in row:
                expect(not cell[:1] in ("=", "+", "@", "\t", "\r") and not (cell[:1] == "-" and not _number(cell)),
                       f"a cell a spreadsheet would evaluate: {cell[:30]!r}")
        names = [r["query_id"] for r in json.loads((tmp / "f.json").read_text(encoding="utf-8"))["rows"]]
        expect(text.replace("\r", "").strip() in [n.strip() for n in names] or not text.strip("\r\t"),
               f"JSON changed the name: {names}")
    return run


def _number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def _big_batch(tmp: Path, lib: Path, n: int, peaks: int):
    def run() -> tuple[str, str]:
        rng = np.random.default_rng(8)
        path = tmp / f"big{n}.mgf"
        with open(path, "w") as fh:
            for i in range(n):
                mz = np.sort(rng.uniform(30, 1000, peaks))
                fh.write(f"BEGIN IONS\nTITLE=big{i}\n")
                fh.write("\n".join(f"{a:.4f} {b:.1f}" for a, b in zip(mz, rng.uniform(1, 999, peaks))))
                fh.write("\nEND IONS\n")

        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))

        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        p = subprocess.run([sys.executable, "-m", "nps_id", "search", str(path), "-l", str(lib), "-o",
                            str(tmp / "big.csv")], preexec_fn=limit, capture_output=True, env=env, timeout=600)
        err = p.stderr.decode(errors="replace")
        expect(p.returncode == 0, f"exit {p.returncode} under 6 GB: {err.strip().splitlines()[-1:]}")
        rows = list(csv.DictReader(open(tmp / "big.csv", encoding="utf-8")))
        expect(len({r['query_index'] if 'query_index' in r else r.get('query') for r in rows}) >= 1, "no hits")
        return "handled", ""
    return run


def _must_fail(argv: list):
    def run() -> tuple[str, str]:
        return cli_outcome(cli(*argv), must_fail=True)
    return run


def _writes(argv: list, path: Path):
    def run() -> tuple[str, str]:
        out = cli_outcome(cli(*argv))
        expect(path.exists() and path.stat().st_size > 0, f"{path.name} not written")
        left = [p.name for p in path.parent.iterdir() if p.name != path.name]
        expect(not left, f"left beside the output: {left}")
        return out
    return run


def _search_counts(tmp: Path, lib: Path):
    def run() -> tuple[str, str]:
        path = tmp / "mixed.mgf"
        _mgf(path, [b"a", b"b"])
        path.write_bytes(path.read_bytes() + b"BEGIN IONS\nTITLE=bad\n41 nan\nEND IONS\n")
        r = cli("search", path, "-l", lib, "-o", tmp / "mixed.csv")
        out = cli_outcome(r)
        expect("1 unreadable" in r.stderr, "the unreadable record is not counted: " + r.stderr[-300:])
        return out
    return run


def _noise(tmp: Path, model: Path):
    def run() -> None:
        from nps_id.classify import classify

        rng = np.random.default_rng(14)
        path = tmp / "noise.mgf"
        with open(path, "w") as fh:
            for i in range(5):
                mz = np.sort(rng.uniform(40, 500, 1500))
                fh.write(f"BEGIN IONS\nTITLE=noise{i}\n" + "".join(f"{a:.1f} {b:.0f}\n" for a, b in
                                                                  zip(mz, rng.uniform(1, 1000, 1500))) + "END IONS\n")
        t = classify(path, model=model, progress=False)
        verdicts = [r["verdict"] for r in t.to_records()]
        expect(all(v == "unknown" for v in verdicts), f"noise got verdicts {verdicts}")
    return run


def _locked(tmp: Path, lib: Path):
    def run() -> tuple[str, str]:
        import fcntl
        import shutil

        locked = tmp / "locked.h5"  # a copy: the killed holder leaves HDF5's open-for-write mark in it
        shutil.copy(lib, locked)
        with open(locked, "rb+") as fh:
            fcntl.lockf(fh, fcntl.LOCK_EX)
            # h5py's own file locking: another process holding the file open for writing
            holder = subprocess.Popen([sys.executable, "-c", "import h5py, sys, time; f = h5py.File(sys.argv[1], 'a');"
                                       " print('ok', flush=True); time.sleep(60)", str(locked)], stdout=subprocess.PIPE)
            holder.stdout.readline()
            try:
                r = cli("library", "info", locked)
            finally:
                holder.kill()
                holder.wait()
        expect("not an HDF5 file" not in r.stderr, "a locked library reported as 'not an HDF5 file'")
        after = cli("library", "info", locked)  # the holder was killed while it had the file open for writing
        expect("not an HDF5 file" not in after.stderr, "a library left marked open reported as 'not an HDF5 file'")
        return cli_outcome(r)
    return run


def _stale_partial(tmp: Path):
    def run() -> tuple[str, str]:
        d = tmp / "stale"
        d.mkdir(exist_ok=True)
        (d / "lib.h5.partial").write_bytes(b"\x89HDF half")
        (d / "lib.h5.12345-deadbeef.partial").write_bytes(b"half")
        out = cli_outcome(cli("library", "build", SHARED / "reader-quirks" / "golm.msp", "-o", d / "lib.h5"))
        left = sorted(p.name for p in d.iterdir() if p.name not in ("lib.h5", "lib.h5.lock"))
        expect(not left, f"left: {left}")
        return out
    return run


def _fifo(tmp: Path, lib: Path):
    def run() -> tuple[str, str]:
        d = tmp / "fifo"
        d.mkdir(exist_ok=True)
        _mgf(d / "good.mgf", [b"a"])
        if not (d / "pipe.mgf").exists():
            os.mkfifo(d / "pipe.mgf")
        r = cli("classify", d, "-l", lib, "--no-model", "-o", tmp / "fifo.csv", timeout=120)
        out = cli_outcome(r)
        rows = list(csv.DictReader(open(tmp / "fifo.csv", encoding="utf-8")))
        expect(len(rows) == 2 and any(r["status"] == "skipped" for r in rows), f"{len(rows)} rows for a file + FIFO")
        return out
    return run
