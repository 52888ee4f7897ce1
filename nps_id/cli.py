"""Command line: ``python -m nps_id COMMAND ...``.

Each command lives in ``nps_id/commands/<name>.py`` and defines ``register(subparsers)``, which adds its
parser and sets ``func`` to a function ``run(args) -> int``. Command modules import only ``argparse`` at
module level; everything heavy is imported inside ``run``, so ``python -m nps_id --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from nps_id import __version__

#: command modules under nps_id.commands, in the order --help lists them
COMMANDS = ("library", "search", "chem", "train", "evaluate", "classify", "demo")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every available command registered."""
    parser = argparse.ArgumentParser(
        prog="python -m nps_id",
        description="Identify fentanyl analogues, tramadol, precursors and other NPS from spectra.",
    )
    parser.add_argument("--version", action="version", version=f"nps_id {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"nps_id.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"nps_id.commands.{name}":
                continue  # command not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING if args.quiet else (logging.DEBUG if args.verbose > 1 else logging.INFO)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from nps_id.errors import NpsIdError

    try:
        return int(args.func(args) or 0)
    except (NpsIdError, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        logging.getLogger("nps_id").error("%s", exc)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
