"""The ``wangge`` command: one thin module per command over the library.

``wangge sample OUT_DIR``   write the built-in (fictional) sample district (:mod:`.sample`)
``wangge check [PATH]``     figures, rule status and hierarchy findings (:mod:`.check`)
``wangge export [PATH]``    every level as GeoJSON, GeoPackage, Shapefile or CSV (:mod:`.export`)
``wangge map [PATH]``       a plan's map (PNG or PDF) for a report (:mod:`.printmap`)
``wangge audit [PATH]``     walking reach of each service, floor area (:mod:`.audit`)
``wangge site``             where new facilities would cover most (:mod:`.site`)
``wangge propose``          a plan with every street in band (:mod:`.propose`)
``wangge rules``            the rulebooks shipped with wangge (:mod:`.rules`)
``wangge app``              start the browser app (:mod:`.serve`)

What the commands share — the Typer app, options, loading, printing and failing —
is in :mod:`._common`. A command parses its options, calls library functions and
prints; the work itself is in the library. Each module imports the library inside
its command, so ``wangge --help`` stays fast.

Exit codes, the same for every command: 0 clean (or done), 1 findings (a
check, a proposal or an audit that found something to act on), 2 unusable
input or options (one paragraph saying what to fix, also for an output that
cannot be written: a full disk, no permission), 3 an internal error (a bug:
one line naming the log file that holds the traceback; ``--debug`` prints
the traceback too).
"""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from geo.cli._common import EXIT_UNUSABLE, _internal_error, app, err
from geo.errors import WanggeError

__all__ = ["app", "main"]

# Importing a command's module registers it; the order is the order of `wangge --help`.
from geo.cli import sample, check, export, printmap, audit, site, propose, rules, serve  # noqa: F401, I001, E402


def main() -> None:
    """Entry point of the ``wangge`` console script (exit codes as in the module notes)."""
    try:
        app()
    except (WanggeError, OSError) as exc:  # pragma: no cover - the group catches these
        err.print("[red]error:[/red] " + escape(str(exc)))
        sys.exit(EXIT_UNUSABLE)
    except Exception as exc:  # pragma: no cover - the group catches these
        try:
            _internal_error(exc)
        except typer.Exit as done:
            sys.exit(done.exit_code)

