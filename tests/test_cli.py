import json
import subprocess
import sys

import pytest

from nps_id.cli import main


def test_help_imports_nothing_heavy():
    code = (
        "import sys; from nps_id.cli import build_parser; build_parser().format_help(); "
        "heavy = [m for m in ('numpy', 'torch', 'h5py', 'rdkit', 'sklearn', 'scipy', 'matplotlib') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_help_lists_commands():
    out = subprocess.run([sys.executable, "-m", "nps_id", "--help"], capture_output=True, text=True, check=True)
    assert "library" in out.stdout


@pytest.mark.realdata
def test_library_build_and_info(tmp_path, swgdrug_path, capsys):
    lib = tmp_path / "lib.h5"
    assert main(["library", "build", str(swgdrug_path), "-o", str(lib), "--no-progress"]) == 0
    assert main(["library", "info", str(lib), "--json", "--verify"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["n_spectra"] == 2702 and info["checksum_ok"] is True


def test_library_build_with_nothing_readable_fails(tmp_path, caplog):
    bad = tmp_path / "bad.msp"
    bad.write_text("NAME: x\nNum Peaks: 2\n1 abc\n\n")
    assert main(["library", "build", str(bad), "-o", str(tmp_path / "x.h5"), "--no-progress"]) == 1
    assert "no spectra could be read" in caplog.text and not (tmp_path / "x.h5").exists()
    assert main(["library", "info", str(tmp_path / "missing.h5")]) == 1
