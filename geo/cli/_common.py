"""What every ``wangge`` command shares: the app, its options, loading, printing, failing."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import typer.core
import typer.exceptions
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from geo import LEVELS, __version__
from geo._format import number as _number
from geo.errors import InputError, WanggeError

if TYPE_CHECKING:  # the library is imported where a command uses it: `wangge --help` is fast
    from geo.district.model import District
    from geo.report import CheckReport
    from geo.rules.rulebook import Rulebook

EXIT_CLEAN, EXIT_FINDINGS, EXIT_UNUSABLE, EXIT_INTERNAL = 0, 1, 2, 3
"""The exit codes of every command."""

_PASS_THROUGH = (typer.Exit, typer.Abort, typer.exceptions.TyperException)
"""Exceptions click and typer turn into exit codes themselves (usage errors exit 2)."""


def _log_dir() -> Path:
    """Return a writable folder for crash logs: the project's ``logs``, else the temp folder."""
    from geo.project import home

    for folder in (lambda: home() / "logs", lambda: Path(tempfile.gettempdir()) / "wangge-logs"):
        try:
            path = folder()
            path.mkdir(parents=True, exist_ok=True)
            if os.access(path, os.W_OK):
                return path
        except OSError:
            continue
    return Path(tempfile.gettempdir())


def _internal_error(exc: BaseException) -> None:
    """Report a bug: write the traceback to a log file, print one line naming it, exit 3."""
    text = "".join(traceback.format_exception(exc))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    log = _log_dir() / f"wangge-error-{stamp}-{os.getpid()}.log"
    try:
        log.write_text(f"wangge {__version__}\nargs: {sys.argv[1:]!r}\n\n{text}", encoding="utf-8")
        where = f"details in {log}"
    except OSError:
        where = "run again with --debug for details"
    if DEBUG["on"]:
        err.print(Text(text.rstrip()))
    err.print(
        Text("internal error: ", style="red")
        + Text(f"{type(exc).__name__} in wangge (not a fault in your data); {where}.")
    )
    raise typer.Exit(EXIT_INTERNAL)


class _Guarded(typer.core.TyperGroup):
    """The command group: any exception a command did not handle exits 3 with a log file."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except _PASS_THROUGH:
            raise
        except (WanggeError, OSError) as exc:
            _fail(exc)
        except Exception as exc:
            _internal_error(exc)


app = typer.Typer(
    cls=_Guarded,
    name="wangge",
    help="Three-level grid management (街道 street / 社区 community / 网格 grid): check, "
    "export and plan boundaries against the sizing guideline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True, highlight=False)

DEBUG = {"on": False}


class OutputFormat(StrEnum):
    """Output formats of ``check``."""

    text = "text"
    json = "json"
    csv = "csv"


class ExportFormat(StrEnum):
    """Formats of ``export``."""

    geojson = "geojson"
    gpkg = "gpkg"
    shp = "shp"
    csv = "csv"


class Coords(StrEnum):
    """Coordinate systems of lon/lat input."""

    wgs84 = "wgs84"
    gcj02 = "gcj02"
    bd09 = "bd09"


class Link(StrEnum):
    """How parent links are found."""

    auto = "auto"
    column = "column"
    code = "code"
    spatial = "spatial"


PathsArg = Annotated[
    list[Path] | None,
    typer.Argument(
        help="GeoPackage, folder or layer files. Leave out for the built-in sample.",
        show_default=False,
    ),
]
LevelOpt = Annotated[
    str | None,
    typer.Option("--level", help="Level of a single-layer input: street, community or grid."),
]
LayerOpt = Annotated[
    list[str] | None,
    typer.Option("--layer", help="Map a layer to a level: NAME=LEVEL (repeatable)."),
]
ColumnOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--column",
        help="Map a field to a column: FIELD=COLUMN, fields code, name, parent_code, "
        "population, households (repeatable).",
    ),
]
RulesOpt = Annotated[
    Path | None,
    typer.Option(
        "--rules",
        help="Rulebook: a preset name (wangge rules list) or a TOML file; default qingdao-2017.",
    ),
]
CrsOpt = Annotated[
    str | None, typer.Option("--crs", help="CRS of input that carries none, e.g. EPSG:4549.")
]
CoordsOpt = Annotated[
    Coords,
    typer.Option(
        "--coords",
        help="Coordinate system of lon/lat input: wgs84, gcj02 (Amap, Tencent) or "
        "bd09 (Baidu); converted to WGS-84.",
    ),
]
LinkOpt = Annotated[
    Link,
    typer.Option(
        "--link",
        help="How children find their parents: auto (column, then code prefixes), "
        "column, code, or spatial (largest overlap).",
    ),
]
RepairOpt = Annotated[
    bool,
    typer.Option(
        "--repair", help="Repair invalid polygons (make_valid) instead of only reporting them."
    ),
]
AssignOpt = Annotated[
    Path | None,
    typer.Option(
        "--assign", help="Apply a unit-to-parent CSV (as written by export --format csv)."
    ),
]

EachOpt = Annotated[
    bool,
    typer.Option(
        "--each",
        help="Many districts: each file given, and each sub-folder or file of each folder "
        "given, is a district of its own, run as Dask tasks; one merged report.",
    ),
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="With --each: address of a Dask scheduler (tcp://host:8786); default a local "
        "cluster on this machine.",
    ),
]
WorkersOpt = Annotated[
    int, typer.Option("--workers", help="With --each: workers of the local cluster.")
]


DetourOpt = Annotated[
    float | None,
    typer.Option(
        "--detour",
        help="Detour factor for --straight-line: walking ≈ straight line × this, a finite "
        "number ≥ 1 (default 1.3).",
        show_default=False,
    ),
]

NetworkOpt = Annotated[
    Path | None,
    typer.Option("--network", help="Walking network: a .osm.pbf extract or a saved .npz."),
]


def _pairs(items: list[str] | None, what: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for item in items or []:
        if "=" not in item:
            raise InputError(
                f"{what} {item!r} must be written KEY=VALUE, e.g. "
                + ("--layer jiedao=street." if what == "--layer" else "--column population=RK.")
            )
        key, value = item.split("=", 1)
        result[key.strip()] = value.strip()
    return result


READ_OPTIONS = ("level", "layer", "column", "crs", "coords", "link", "repair", "assign")
"""The reading options every command shares, named as in :func:`_load`."""


def _read_options(scope: dict[str, Any]) -> dict[str, Any]:
    """Pick the shared reading options out of a command's arguments (absent ones are None)."""
    return {name: scope.get(name) for name in READ_OPTIONS}


def load_rulebook(name: Any = None) -> Rulebook:
    """Load a rulebook (imported on use, so the command starts fast)."""
    from geo.rules.rulebook import load_rulebook as load

    return load(name)


def _load(
    paths: list[Path] | None,
    *,
    level: str | None,
    layer: list[str] | None,
    column: list[str] | None,
    crs: str | None,
    coords: Coords,
    link: Link,
    repair: bool,
    assign: Path | None,
    rulebook: Rulebook,
    checks: bool = True,
) -> District:
    """Read the district the command was given, or the built-in sample.

    ``checks`` as in :func:`~geo.district.hierarchy.build_district`.
    """
    from geo.district.hierarchy import build_district, read_district
    from geo.io import read_assignment

    assignment = read_assignment(assign) if assign is not None else None
    if not paths:
        from geo.sample.build import sample_district

        frames = sample_district()
        err.print("[dim]No input given: using the built-in sample district (fictional).[/dim]")
        return build_district(
            frames,
            link=link.value,
            repair=repair,
            household_size=rulebook.household_size,
            assignment=assignment,
            notes=["Built-in sample district (fictional)."],
            checks=checks,
        )
    return read_district(
        paths,
        level=level,
        layer_levels=_pairs(layer, "--layer"),
        columns=_pairs(column, "--column"),
        crs=crs,
        coords=coords.value,
        link=link.value,
        repair=repair,
        household_size=rulebook.household_size,
        assignment=assignment,
        checks=checks,
    )


@contextlib.contextmanager
def _progress_bar(*, quiet: bool = False) -> Iterator[Callable[[str, float], None]]:
    """Show a progress bar on stderr for a long step; yield the ``progress(step, fraction)``."""
    with Progress(
        TextColumn("{task.description:<48}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=quiet,
    ) as bar:
        task = bar.add_task("starting", total=1.0)

        def progress(text: str, frac: float) -> None:
            bar.update(task, description=text, completed=frac)

        yield progress


STATUS_STYLE = {"ok": "green", "outside": "red", "no rule": "dim", "no data": "yellow"}
SEV_STYLE = {"error": "red", "warning": "yellow", "info": "cyan"}


PLAIN_TABLE_ROWS = 2000
"""Unit tables longer than this print as plain aligned text (same columns, no colour)."""


def _print_plain(table: Table, rows: list[tuple[str, ...]]) -> None:
    """Print ``rows`` under ``table``'s title and headings as aligned plain text, fast."""
    from rich.cells import cell_len

    def width(text: str) -> int:  # cells on screen; an ASCII character is one cell
        return len(text) if text.isascii() else cell_len(text)

    heads = [str(c.header) for c in table.columns]
    right = [c.justify == "right" for c in table.columns]
    cells = [[width(r[k]) for r in rows] for k in range(len(heads))]
    widths = [max([width(h), *col]) for h, col in zip(heads, cells, strict=True)]

    def line(row: Sequence[str], used: Sequence[int]) -> str:
        return "  ".join(
            " " * (w - n) + c if r else c + " " * (w - n)
            for c, n, w, r in zip(row, used, widths, right, strict=True)
        ).rstrip()

    if table.title is not None:
        out.print(table.title)
    lines = [line(heads, [width(h) for h in heads])]
    lines += [line(r, used) for r, used in zip(rows, zip(*cells, strict=True), strict=True)]
    out.file.write("\n".join(lines) + "\n")
    out.file.flush()


def _print_text(
    report: CheckReport, *, max_per_rule: int = 10, levels: list[str] | None = None
) -> None:
    d = report.district
    out.print(
        f"[bold]Rulebook:[/bold] {escape(report.rulebook.name)}"
        + (f" ({escape(str(report.rulebook.path))})" if report.rulebook.path else "")
    )
    for lv in LEVELS:
        if lv not in report.tables or (levels is not None and lv not in levels):
            continue
        t = report.tables[lv]
        table = Table(
            title=Text(f"{lv} level — {len(t)} units ({d.sources.get(lv, 'derived')})"),
            title_justify="left",
            show_lines=False,
        )
        for col, just in (
            ("code", "left"),
            ("name", "left"),
            ("kind", "left"),
            ("area km²", "right"),
            ("population", "right"),
            ("households", "right"),
            ("status", "left"),
        ):
            table.add_column(col, justify=just)  # type: ignore[arg-type]
        rows: list[tuple[str, ...]] = []
        columns = ("code", "name", "kind", "area_km2", "population", "households", "status",
                   "broken", "derived")
        for code, name, kind, area, pop, hh, status, broken_ids, derived_of in zip(
                *(t[c].tolist() for c in columns), strict=True):
            broken = ", ".join(b.split(".", 1)[-1] for b in broken_ids.split(";") if b)
            label = status + (f" ({broken})" if broken else "")
            derived = f" ({derived_of} derived)" if derived_of else ""
            rows.append((
                str(code or "—"),
                str(name or "—"),
                str(kind),
                _number(area, 2),
                _number(pop),
                _number(hh) + derived,
                str(label),
            ))
        if len(rows) > PLAIN_TABLE_ROWS:
            # rich lays out every cell of a table: seconds per thousand rows on a city
            _print_plain(table, rows)
            continue
        for r in rows:
            derived_at = r[5].find(" (") if " (" in r[5] else len(r[5])
            table.add_row(
                Text(r[0]), Text(r[1]), Text(r[2]), r[3], r[4],
                Text(r[5][:derived_at]) + Text(r[5][derived_at:], style="dim"),
                Text(r[6], style=STATUS_STYLE.get(r[6].split(" (", 1)[0], "")),
            )
        out.print(table)
    if report.findings:
        out.print(f"\n[bold]Findings ({len(report.findings)})[/bold]")
        shown: dict[str, int] = {}
        for f in report.findings:
            shown[f.rule] = shown.get(f.rule, 0) + 1
            if shown[f.rule] > max_per_rule > 0:
                continue
            where = (
                f" [dim]@ {f.lon:.5f},{f.lat:.5f}[/dim]"
                if f.lon is not None and f.lat is not None
                else ""
            )
            out.print(
                Text(f"{f.severity:<7} ", style=SEV_STYLE.get(f.severity, ""))
                + Text(f.rule, style="bold")
                + Text(f" {f.message}")
                + Text.from_markup(where)
            )
        for rule, n in shown.items():
            if n > max_per_rule > 0:
                out.print(
                    f"        [dim]… and {n - max_per_rule} more {rule} finding(s); "
                    "--all-findings or --format json lists every one.[/dim]"
                )
    if d.notes:
        out.print("\n[bold]Notes[/bold]")
        for note in d.notes:
            out.print(Text(f"  {note}", style="dim"))
    out.print("\n[bold]Summary[/bold]")
    for lv, s in report.summary["levels"].items():
        out.print(
            f"  {lv:<9} {s['units']:>5} units  {s['area_km2']:>9,.2f} km²  "
            f"{_number(s['population']):>11} residents  ok {s['ok']}, outside "
            f"{s['outside']}, no rule {s['no_rule']}, no data {s['no_data']}"
        )
    sev = report.summary["findings"]
    verdict = "[green]clean[/green]" if report.clean else "[red]findings to act on[/red]"
    out.print(
        f"  findings: {sev['error']} error(s), {sev['warning']} warning(s), "
        f"{sev['info']} note(s) — {verdict}"
    )


def _fail(exc: BaseException) -> None:
    """Print an unusable input's message (one paragraph, no traceback unless --debug); exit 2."""
    if DEBUG["on"]:
        err.print(Text("".join(traceback.format_exception(exc)).rstrip()))
    if isinstance(exc, OSError) and not isinstance(exc, WanggeError):
        what = exc.filename if exc.filename is not None else "a file"
        reason = exc.strerror or str(exc)
        message = (
            f"{reason}: {what}. Check the path exists and that you may read and write "
            "there, then run the command again."
        )
    else:
        message = str(exc)
    err.print("[red]error:[/red] " + escape(message))
    raise typer.Exit(EXIT_UNUSABLE)


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    DEBUG["on"] = debug
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING)
    if version:
        out.print(f"wangge {__version__}")
        raise typer.Exit(0)


def _run_each(
    command: str,
    paths: list[Path] | None,
    *,
    rules: str | None,
    scheduler: str | None,
    workers: int,
    fmt: OutputFormat,
    to: Path | None = None,
) -> None:
    """``check --each`` / ``audit --each``: many districts as Dask tasks, one merged report."""
    import json

    from geo.batch import audit_districts, check_districts, district_sources

    try:
        if not paths:
            raise InputError(f"--each needs folders or files of districts to {command}.")
        if workers < 1:
            raise InputError(f"--workers must be 1 or more, not {workers}.")
        load_rulebook(rules)  # a bad rulebook is one message, not one per district
        sources = district_sources(paths)
        with _progress_bar(quiet=fmt != OutputFormat.text) as progress:
            if command == "audit":
                report = audit_districts(sources, to or Path("audit"), rules=rules,
                                         scheduler=scheduler, workers=workers,
                                         progress=progress)
            else:
                report = check_districts(sources, rules=rules, scheduler=scheduler,
                                         workers=workers, progress=progress)
    except (WanggeError, OSError) as exc:
        _fail(exc)
        return
    doc = report.to_dict()
    if fmt == OutputFormat.json:
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    else:
        table = Table(title=f"{len(report.results)} districts", title_justify="left")
        for col in ("district", "figures", "findings", "result"):
            table.add_column(col)
        for r in report.results:
            if "error" in r:
                table.add_row(Text(r["district"]), "—", "—",
                              Text("unusable: " + r["error"], style="red"))
            elif command == "audit":
                shares = "; ".join(f"{t['name']} {t['share_covered']:.0%}" for t in r["types"])
                table.add_row(Text(r["district"]), Text(shares), str(len(r["findings"])),
                              Text(r["report"]))
            else:
                s = r["summary"]
                units = " / ".join(f"{v['units']}" for v in s["levels"].values())
                top = next(iter(s["levels"].values()))
                table.add_row(
                    Text(r["district"]),
                    Text(f"{units} units, {_number(top['population'])} residents"),
                    f"{s['findings']['error']} errors, {s['findings']['warning']} warnings",
                    Text("clean" if not r["findings"] else "findings"),
                )
        out.print(table)
        out.print(f"{report.n_findings} finding(s) in all; --format json lists every one.")
    if report.errors:
        raise typer.Exit(2)
    raise typer.Exit(1 if report.n_findings else 0)
