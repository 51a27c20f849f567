"""``wangge check [PATH]``: figures, rule status and hierarchy findings; ``--each`` for many."""

from __future__ import annotations

import io
import sys
from typing import Annotated

import typer
import typer.core
import typer.exceptions

from geo import LEVELS
from geo.cli._common import (
    AssignOpt,
    ColumnOpt,
    Coords,
    CoordsOpt,
    CrsOpt,
    EachOpt,
    LayerOpt,
    LevelOpt,
    Link,
    LinkOpt,
    OutputFormat,
    PathsArg,
    RepairOpt,
    RulesOpt,
    SchedulerOpt,
    WorkersOpt,
    _fail,
    _load,
    _print_text,
    _read_options,
    _run_each,
    app,
    load_rulebook,
)
from geo.errors import InputError, WanggeError


@app.command()
def check(
    paths: PathsArg = None,
    level: LevelOpt = None,
    layer: LayerOpt = None,
    column: ColumnOpt = None,
    rules: RulesOpt = None,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", help="text, json or csv.")
    ] = OutputFormat.text,
    crs: CrsOpt = None,
    coords: CoordsOpt = Coords.wgs84,
    link: LinkOpt = Link.auto,
    repair: RepairOpt = False,
    assign: AssignOpt = None,
    all_findings: Annotated[
        bool,
        typer.Option(
            "--all-findings", help="In text output, list every finding (default: 10 per rule)."
        ),
    ] = False,
    show: Annotated[
        list[str] | None,
        typer.Option(
            "--show",
            help="In text output, the levels whose unit tables to print (repeatable; "
            "default: every level).",
        ),
    ] = None,
    each: EachOpt = False,
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = 2,
) -> None:
    """Check a district: each unit's figures and status, hierarchy findings, a summary.

    Exit code 0 when clean, 1 when there are findings, 2 when the input is unusable.
    """
    if each:
        _run_each("check", paths, rules=None if rules is None else str(rules),
                  scheduler=scheduler, workers=workers, fmt=fmt)
        return
    try:
        rulebook = load_rulebook(rules)
        district = _load(paths, rulebook=rulebook, **_read_options(locals()))
        from geo.report import check_report

        report = check_report(district, rulebook)
    except (WanggeError, OSError) as exc:
        _fail(exc)
        return
    if fmt == OutputFormat.json:
        sys.stdout.write(report.to_json() + "\n")
    elif fmt == OutputFormat.csv:
        from geo.io import write_csv

        buf = io.StringIO()
        write_csv(report.units_frame(), buf)
        sys.stdout.write(buf.getvalue())
    else:
        bad = [lv for lv in show or [] if lv not in LEVELS]
        if bad:
            _fail(InputError(f"--show takes street, community or grid, not {', '.join(bad)}."))
        _print_text(report, max_per_rule=0 if all_findings else 10, levels=show or None)
    raise typer.Exit(0 if report.clean else 1)
