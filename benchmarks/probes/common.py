"""What a probe is and how its outcome is judged (shared by the probe groups of ``benchmarks/probe_inputs.py``).

A probe feeds one hostile, damaged or merely unusual input to the package the way a user would (the Python API
or ``python -m nps_id``) and judges what came back:

``handled``
    the run finished and its output is right (the checks of the probe hold: every good record read, the
    damaged one counted with its reason, files written whole and readable, results equal to the undamaged ones).
``named error``
    the run stopped with an nps_id error (or, on the command line, one line saying what is wrong and a non-zero
    exit code), nothing half-written.
``crash``
    any other exception or a traceback on the command line.
``silently wrong``
    the run reported success but its output is wrong (a check failed).
"""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nps_id.errors import NpsIdError

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
OUTCOMES = ("handled", "named error", "crash", "silently wrong")

#: Exceptions that are a clear, named answer to a bad input besides nps_id's own.
NAMED = (NpsIdError, FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


class Wrong(AssertionError):
    """A probe's check failed: the output is not what the input calls for."""


def expect(condition: Any, message: str) -> None:
    """Raise :class:`Wrong` with `message` unless `condition` holds."""
    if not condition:
        raise Wrong(message)


@dataclass
class Probe:
    """One input tried: the issue item it belongs to, a name, and the call that tries it."""

    item: int
    name: str
    run: Callable[[], Any]


@dataclass
class Outcome:
    """What one probe gave."""

    item: int
    name: str
    outcome: str
    detail: str = ""


@dataclass
class Group:
    """Probes of one issue item, with a one-line title for the table."""

    item: int
    title: str
    probes: list[Probe] = field(default_factory=list)

    def add(self, name: str, run: Callable[[], Any]) -> None:
        """Add a probe called `name` that runs `run()`."""
        self.probes.append(Probe(self.item, name, run))


def judge(probe: Probe) -> Outcome:
    """Run `probe` and sort what happened into one of :data:`OUTCOMES`."""
    try:
        result = probe.run()
    except Wrong as exc:
        return Outcome(probe.item, probe.name, "silently wrong", str(exc)[:300])
    except NAMED as exc:
        return Outcome(probe.item, probe.name, "named error", f"{type(exc).__name__}: {str(exc)[:200]}")
    except Exception as exc:  # noqa: BLE001 - the point is to catch what should not happen
        tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return Outcome(probe.item, probe.name, "crash", tb[:300])
    detail = ""
    if isinstance(result, tuple):
        result, detail = result
    return Outcome(probe.item, probe.name, result if result in OUTCOMES else "handled", detail)


@dataclass
class CliRun:
    """A finished ``python -m nps_id`` call."""

    rc: int
    stdout: str
    stderr: str


def cli(*args: Any, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300,
        stdin: bytes | None = None) -> CliRun:
    """Run ``python -m nps_id ARGS`` and return its exit code and output (a traceback is a :class:`crash`)."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    p = subprocess.run([sys.executable, "-m", "nps_id", *map(str, args)], cwd=cwd, env=full_env,
                       capture_output=True, timeout=timeout, input=stdin)
    run = CliRun(p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"))
    if "Traceback (most recent call last)" in run.stderr:
        raise RuntimeError("traceback: " + run.stderr.strip().splitlines()[-1])
    return run


def cli_outcome(run: CliRun, check: Callable[[CliRun], Any] | None = None, *,
                must_fail: bool = False) -> tuple[str, str]:
    """Judge a command-line call: a non-zero exit with a message is a named error; exit 0 is checked by `check`.
    Returns the outcome and, for an error, its last line.

    With ``must_fail=True`` the input is one the command must refuse: exit 0 is silently wrong.
    """
    if run.rc != 0:
        last = run.stderr.strip().splitlines()[-1:] or [""]
        expect(last[0], f"exit {run.rc} without a message")
        return "named error", f"exit {run.rc}: {last[0][:200]}"
    expect(not must_fail, "exit 0 for an input the command must refuse")
    if check is not None:
        check(run)
    return "handled", ""
