"""The ``wangge`` command.

``wangge sample OUT_DIR``   write the built-in (fictional) sample district
``wangge check [PATH]``     figures, rule status and hierarchy findings
``wangge export [PATH]``    write every level as GeoJSON, GeoPackage, Shapefile or CSV
``wangge app``              start the browser app

Exit codes, the same for every command: 0 clean (or done), 1 findings (a
check, a proposal or an audit that found something to act on), 2 unusable
input or options (one paragraph saying what to fix, also for an output that
cannot be written: a full disk, no permission), 3 an internal error (a bug:
one line naming the log file that holds the traceback; ``--debug`` prints
the traceback too).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
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
from geo.errors import InputError, WanggeError

if TYPE_CHECKING:  # the library is imported where a command uses it: `wangge --help` is fast
    from geo.hierarchy import District
    from geo.report import CheckReport
    from geo.rules import Rulebook

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
    from geo.rules import load_rulebook as load

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
) -> District:
    from geo.hierarchy import build_district, read_district
    from geo.io import read_assignment

    assignment = read_assignment(assign) if assign is not None else None
    if not paths:
        from geo.sample import sample_district

        frames = sample_district()
        err.print("[dim]No input given: using the built-in sample district (fictional).[/dim]")
        return build_district(
            frames,
            link=link.value,
            repair=repair,
            household_size=rulebook.household_size,
            assignment=assignment,
            notes=["Built-in sample district (fictional)."],
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


def _fmt_num(v: object, digits: int = 0) -> str:
    try:
        x = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "—"
    if x != x:
        return "—"
    return f"{x:,.{digits}f}"


STATUS_STYLE = {"ok": "green", "outside": "red", "no rule": "dim", "no data": "yellow"}
SEV_STYLE = {"error": "red", "warning": "yellow", "info": "cyan"}


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
        for _, row in t.iterrows():
            status = row["status"]
            broken = ", ".join(b.split(".", 1)[-1] for b in row["broken"].split(";") if b)
            label = status + (f" ({broken})" if broken else "")
            derived = f" ({row['derived']} derived)" if row["derived"] else ""
            table.add_row(
                Text(str(row["code"] or "—")),
                Text(str(row["name"] or "—")),
                Text(str(row["kind"])),
                _fmt_num(row["area_km2"], 2),
                _fmt_num(row["population"]),
                Text(_fmt_num(row["households"])) + Text(derived, style="dim"),
                Text(label, style=STATUS_STYLE.get(status, "")),
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
            f"{_fmt_num(s['population']):>11} residents  ok {s['ok']}, outside "
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


@app.command()
def sample(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the sample district into.")],
    seed: Annotated[
        int | None, typer.Option(help="Seed; the default gives the built-in sample.")
    ] = None,
) -> None:
    """Write the built-in sample district (fictional) as GeoPackage and GeoJSON."""
    from geo.sample import write_sample

    try:
        files = write_sample(out_dir, seed=seed)
    except (WanggeError, OSError) as exc:
        _fail(exc)
        return
    for f in files:
        out.print(str(f))


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


@app.command()
def export(
    paths: PathsArg = None,
    to: Annotated[
        str, typer.Option("--to", help="Output: a folder (geojson) or a file.")
    ] = "wangge-export",
    fmt: Annotated[
        ExportFormat, typer.Option("--format", help="geojson, gpkg, shp or csv.")
    ] = ExportFormat.geojson,
    level: LevelOpt = None,
    layer: LayerOpt = None,
    column: ColumnOpt = None,
    rules: RulesOpt = None,
    crs: CrsOpt = None,
    coords: CoordsOpt = Coords.wgs84,
    link: LinkOpt = Link.auto,
    repair: RepairOpt = False,
    assign: AssignOpt = None,
    renumber: Annotated[
        bool,
        typer.Option(
            "--renumber",
            help="Renumber communities whose code does not follow their street (after moves), "
            "and their grids; the old → new table is written beside the export.",
        ),
    ] = False,
) -> None:
    """Write every level: GeoJSON (RFC 7946), GeoPackage, zipped Shapefile or the CSV table."""
    try:
        rulebook = load_rulebook(rules)
        options = _read_options(locals())
        district = _load(paths, rulebook=rulebook, **options)
        from geo.hierarchy import renumber_units
        from geo.io import atomic_path, write_csv, write_units

        units = district.units
        table = None
        if renumber:
            units, table = renumber_units(units)
        files = write_units(units, to, fmt=fmt.value)
        if table is not None:
            target = Path(to)
            where = target / "renumbering.csv" if target.is_dir() else target.with_name(
                f"{target.stem}-renumbering.csv"
            )
            with atomic_path(where) as tmp:
                write_csv(table, tmp)
            files = [*files, where]
            counts = table["level"].value_counts()
            err.print(
                f"Renumbered {int(counts.get('community', 0))} communities and "
                f"{int(counts.get('grid', 0))} grids (old → new in {escape(str(where))})."
            )
    except (WanggeError, OSError) as exc:
        _fail(exc)
        return
    for f in files:
        out.print(escape(str(f)))


@app.command()
def audit(
    paths: PathsArg = None,
    to: Annotated[Path, typer.Option("--to", help="Report folder to write.")] = Path(
        "wangge-audit"
    ),
    facilities: Annotated[
        Path | None,
        typer.Option(
            "--facilities",
            help="Facilities layer: points or polygons with type, name, floor_area_m2.",
        ),
    ] = None,
    network: Annotated[
        Path | None,
        typer.Option("--network", help="Walking network: a .osm.pbf extract or a saved .npz."),
    ] = None,
    buildings: Annotated[
        Path | None,
        typer.Option(
            "--buildings", help="Building footprints to place residents (floors used if given)."
        ),
    ] = None,
    osm: Annotated[
        Path | None,
        typer.Option(
            "--osm",
            help="A .osm.pbf supplying the network, buildings and facilities (by the "
            "rulebook's tags) not given otherwise.",
        ),
    ] = None,
    straight_line: Annotated[
        bool,
        typer.Option(
            "--straight-line", help="No network: straight-line distance × detour (approximate)."
        ),
    ] = False,
    detour: DetourOpt = None,
    types: Annotated[
        list[str] | None,
        typer.Option("--type", help="Facility type to audit (repeatable); default: all present."),
    ] = None,
    level: LevelOpt = None,
    layer: LayerOpt = None,
    column: ColumnOpt = None,
    rules: RulesOpt = None,
    crs: CrsOpt = None,
    coords: CoordsOpt = Coords.wgs84,
    link: LinkOpt = Link.auto,
    repair: RepairOpt = False,
    each: EachOpt = False,
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = 2,
) -> None:
    """Audit walking coverage and floor area of services: offline HTML report, CSV, JSON.

    Exit code 0 when no warning or error was found, 1 when there are findings,
    2 when an input is unusable (such as a network that does not reach the district).
    With --each, every district folder (layers, facilities, network side by side) gets
    its own report folder under --to.
    """
    if each:
        _run_each("audit", paths, rules=None if rules is None else str(rules),
                  scheduler=scheduler, workers=workers, fmt=OutputFormat.text, to=to)
        return
    from geo.audit import run_audit
    from geo.coverage import check_detour
    from geo.report import write_audit_report

    try:
        if detour is not None:
            check_detour(detour)
        rulebook = load_rulebook(rules)
        district = _load(paths, rulebook=rulebook, **_read_options(locals()))
        with _progress_bar() as progress:
            result = run_audit(
                district,
                rulebook,
                facilities=facilities,
                network=network,
                buildings=buildings,
                osm=osm,
                straight_line=straight_line,
                sample=not paths and facilities is None and osm is None,
                types=types,
                detour=detour,
                progress=progress,
            )
            progress("writing the report", 0.99)
            files = write_audit_report(result, to)
    except (WanggeError, OSError) as exc:
        _fail(exc)
        return
    if result.approximate:
        err.print(
            "[yellow]Approximation:[/yellow] no network; distances are straight-line × "
            f"{result.provenance.get('detour', '')}."
        )
    for _, row in result.type_table.iterrows():
        out.print(
            Text(
                f"{row['name']:<44} {row['facilities']:>4} facilities  "
                f"{row['share_covered']:>6.1%} of residents within "
                f"{row['service_radius_m']:,.0f} m; median walk {row['median_distance']}"
            )
        )
    bench = result.benchmark_table
    for _, row in bench[bench["level"] == "district"].iterrows() if len(bench) else []:
        spec = result.rulebook.facility(row["type"])
        out.print(
            Text(
                f"{spec.name}: average {_fmt_num(row['mean_floor_area_m2'])} m² per facility "
                f"({row['with_floor_area']} of {row['facilities']} with a floor area) against "
                f"the benchmark of {row['benchmark_floor_area_m2']:,.0f} m² (an achieved "
                "average, not a minimum; per street in benchmark.csv)"
            )
        )
    sev = {"error": 0, "warning": 0, "info": 0}
    for f in result.findings:
        sev[f.severity] = sev.get(f.severity, 0) + 1
    for f in result.findings:
        shown = ("network.", "facility.no_floor_area", "facility.not_judged")
        if f.level == "district" and f.rule.startswith(shown):
            style = SEV_STYLE.get(f.severity, "")
            out.print(Text(f"{f.severity:<7} ", style=style) + Text(f"{f.rule} {f.message}"))
    out.print(
        f"findings: {sev['error']} error(s), {sev['warning']} warning(s), {sev['info']} note(s)"
    )
    out.print(f"report: {files[-1]}")
    raise typer.Exit(1 if sev["error"] or sev["warning"] else 0)


@app.command()
def site(
    paths: PathsArg = None,
    facility_type: Annotated[
        str,
        typer.Option(
            "--type", help="Facility type from the rulebook, e.g. community_service_centre."
        ),
    ] = "",
    k: Annotated[
        int | None, typer.Option("-k", "--sites", help="Number of new sites to propose.")
    ] = None,
    target_share: Annotated[
        float | None,
        typer.Option(
            "--target-share",
            help="Instead of -k: the fewest new sites that bring the share of residents "
            "covered up to this (e.g. 0.9).",
        ),
    ] = None,
    candidates: Annotated[
        str,
        typer.Option(
            "--candidates",
            help="grid (finest-unit centroids moved onto the network), buildings (buildings "
            "with footprint × floors ≥ the type's minimum floor area) or a layer FILE of "
            "points or polygons (floor_area_m2 read where present).",
        ),
    ] = "grid",
    capacity: Annotated[
        bool,
        typer.Option(
            "--capacity",
            help="A site serves at most the households its floor area supports "
            "(rulebook m2_per_100_households).",
        ),
    ] = False,
    facilities: Annotated[
        Path | None,
        typer.Option("--facilities", help="Existing facilities (kept): points or polygons."),
    ] = None,
    network: Annotated[
        Path | None,
        typer.Option("--network", help="Walking network: a .osm.pbf extract or a saved .npz."),
    ] = None,
    buildings: Annotated[
        Path | None,
        typer.Option("--buildings", help="Building footprints (residents; buildings candidates)."),
    ] = None,
    osm: Annotated[
        Path | None,
        typer.Option(
            "--osm", help="A .osm.pbf supplying the network, buildings and facilities not given."
        ),
    ] = None,
    straight_line: Annotated[
        bool,
        typer.Option(
            "--straight-line", help="No network: straight-line distance × detour (approximate)."
        ),
    ] = False,
    detour: DetourOpt = None,
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Seconds for each exact solve before greedy.")
    ] = 60.0,
    to: Annotated[
        Path | None, typer.Option("--to", help="Write the proposed sites as GeoJSON here.")
    ] = None,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", help="text or json.")
    ] = OutputFormat.text,
    level: LevelOpt = None,
    layer: LayerOpt = None,
    column: ColumnOpt = None,
    rules: RulesOpt = None,
    crs: CrsOpt = None,
    coords: CoordsOpt = Coords.wgs84,
    link: LinkOpt = Link.auto,
    repair: RepairOpt = False,
) -> None:
    """Propose new sites for a facility type that bring the most residents within reach.

    Existing facilities are kept; residents already within reach count as covered.
    """
    import json

    from geo.coverage import DEFAULT_DETOUR as DEFAULT_SITE_DETOUR
    from geo.coverage import check_detour
    from geo.siting import check_goal, run_siting, write_sites

    try:
        if not facility_type:
            raise InputError(
                "Say which facility type to site with --type TYPE, e.g. --type "
                "community_service_centre."
            )
        if fmt == OutputFormat.csv:
            raise InputError("site writes text or json (--format text|json); use --to for a file.")
        check_goal(k, target_share)
        if detour is not None:
            check_detour(detour)
        rulebook = load_rulebook(rules)
        rulebook.facility(facility_type)
        district = _load(paths, rulebook=rulebook, **_read_options(locals()))
        with _progress_bar(quiet=fmt == OutputFormat.json) as progress:
            result = run_siting(
                district,
                rulebook,
                facility_type=facility_type,
                k=k,
                target_share=target_share,
                candidates=candidates,
                capacity=capacity,
                facilities=facilities,
                network=network,
                buildings=buildings,
                osm=osm,
                straight_line=straight_line,
                sample=not paths and facilities is None and osm is None,
                detour=detour if detour is not None else DEFAULT_SITE_DETOUR,
                time_limit_s=time_limit,
                progress=progress,
            )
        written = write_sites(result, to) if to is not None else None
    except (WanggeError, OSError) as exc:
        _fail(exc)
        return
    s = result.summary
    if fmt == OutputFormat.json:
        doc = result.to_dict()
        doc["written"] = str(written) if written is not None else None
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        return
    if s["approximate"]:
        used = s.get("detour") or detour or DEFAULT_SITE_DETOUR
        err.print(
            f"[yellow]Approximation:[/yellow] no network; distances are straight-line × {used:g}."
        )
    out.print(
        f"[bold]{s['facility_name']}[/bold] ({s['facility_name_zh']}), within "
        f"{s['service_radius_m']:,.0f} m walk; {s['existing_facilities']} existing kept"
    )
    out.print(
        f"residents {_fmt_num(s['residents'])}: covered {_fmt_num(s['covered_before'])} "
        f"({s['share_before']:.1%}) → {_fmt_num(s['covered_after'])} ({s['share_after']:.1%}), "
        f"+{_fmt_num(s['newly_covered'])} with {s['sites']} new site(s)"
        + (f" (target {s['target_share']:.1%})" if s["target_share"] is not None else "")
    )
    gap = "—" if s["gap"] is None else f"{s['gap']:.2%}"
    out.print(
        f"method: {s['method_text']}; gap {gap}; solved in {s['solve_time_s']:.2f} s; "
        f"{s['candidates']:,} candidates ({s['candidate_source']}); "
        f"{s['demand_points']:,} uncovered demand points in {s['demand_rows']:,} rows; "
        f"seed: {s['seed'] if s['seed'] is not None else 'none (deterministic)'}"
    )
    table = Table(title_justify="left", show_lines=False)
    for col, just in (
        ("#", "right"),
        ("candidate", "left"),
        ("name", "left"),
        ("lon, lat", "left"),
        ("newly covered", "right"),
        ("floor area m²", "right"),
    ) + ((("serves ≤ households", "right"),) if s["capacity"] else ()):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for row in result.sites.itertuples(index=False):
        area = _fmt_num(row.floor_area_m2)
        if row.floor_area_assumed:
            area += " (assumed)"
        cells: list[str | Text] = [
            str(row.rank),
            str(row.candidate_id),
            Text(row.name if isinstance(row.name, str) and row.name else "—"),
            f"{row.lon:.5f}, {row.lat:.5f}",
            _fmt_num(row.newly_covered),
            area,
        ]
        if s["capacity"]:
            cells.append(_fmt_num(row.capacity_households))
        table.add_row(*cells)
    out.print(table)
    for note in s["notes"]:
        out.print(Text(f"  {note}", style="dim"))
    for f in result.findings:
        if f.severity != "info":
            out.print(
                Text(f"{f.severity:<7} ", style=SEV_STYLE.get(f.severity, "")) + Text(f.message)
            )
    if written is not None:
        out.print(f"sites: {written}")


@app.command()
def propose(
    paths: PathsArg = None,
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            help="least-change: move as few residents as possible from the current plan; "
            "scratch: grow the streets anew (locked and rule-less streets kept); "
            "compact: draw round streets by design (capacitated growth, then refinement).",
        ),
    ] = "least-change",
    streets: Annotated[
        int | None,
        typer.Option(
            "--streets", help="Exact number of streets with rules (locked ones included)."
        ),
    ] = None,
    min_streets: Annotated[
        int | None,
        typer.Option("--min-streets", help="Fewest streets; default what the totals allow, -1."),
    ] = None,
    max_streets: Annotated[
        int | None,
        typer.Option("--max-streets", help="Most streets; default what the totals allow, +1."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the search.")] = 20170419,
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Seconds the search may take at most.")
    ] = 60.0,
    compactness_weight: Annotated[
        float,
        typer.Option(
            "--compactness-weight",
            help="Cost of each unit of compactness (4πA/P²) below 0.45 per street, in band "
            "widths; e.g. 1 keeps streets rounder but moves more residents. Default 0: the "
            "fewest residents moved, compactness only breaking ties.",
        ),
    ] = 0.0,
    lock: Annotated[
        list[str] | None,
        typer.Option("--lock", help="Keep a street exactly as it is: its code (repeatable)."),
    ] = None,
    barriers: Annotated[
        Path | None,
        typer.Option(
            "--barriers",
            help="An OpenStreetMap extract (.osm.pbf): communities across a river, railway "
            "or expressway with no walkable crossing are not neighbours.",
        ),
    ] = None,
    alternatives: Annotated[
        bool,
        typer.Option(
            "--alternatives",
            help="Run six searches (each within --time-limit) and keep the plans on the "
            "trade-off between residents moved and compactness — fewest moved, balanced, "
            "roundest — save each and compare them (--mode and --compactness-weight are set "
            "per search).",
        ),
    ] = False,
    margin: Annotated[
        float | None,
        typer.Option(
            "--margin",
            help="Prefer streets this share of each bound inside their bands (default 0.02; "
            "0 switches it off).",
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="Name of the saved plan; default proposal-<mode>-<seed>."),
    ] = None,
    project: Annotated[
        Path | None,
        typer.Option(
            "--project",
            help="Project GeoPackage: its stored 'current' plan is the starting point and the "
            "proposal is saved in it; default the district's project file.",
        ),
    ] = None,
    fmt: Annotated[
        OutputFormat, typer.Option("--format", help="text or json.")
    ] = OutputFormat.text,
    level: LevelOpt = None,
    layer: LayerOpt = None,
    column: ColumnOpt = None,
    rules: RulesOpt = None,
    crs: CrsOpt = None,
    coords: CoordsOpt = Coords.wgs84,
    link: LinkOpt = Link.auto,
    repair: RepairOpt = False,
) -> None:
    """Propose a street plan in which every street meets the bands, and save it as a new plan.

    Communities are never split and streets stay contiguous.
    Locked streets (--lock, or locked in the stored plan) stay exactly as they are.
    Towns keep their communities unless the rulebook gives them bands.
    Exit code 0 when every street is in band, 1 when one still breaks a band, 2 on bad input.
    """
    import json

    from geo.errors import PlanError
    from geo.plan import Plan, PlanStore
    from geo.project import project_path
    from geo.redistrict import propose_plan

    try:
        mode_key = mode.strip().lower().replace("_", "-")
        if mode_key not in ("least-change", "scratch", "compact"):
            raise InputError(f"--mode must be least-change, scratch or compact, not {mode!r}.")
        if fmt == OutputFormat.csv:
            raise InputError("propose writes text or json (--format text|json).")
        if streets is not None and (min_streets is not None or max_streets is not None):
            raise InputError(
                "Give either --streets N (an exact count) or --min-streets/--max-streets "
                "(a range), not both."
            )
        for label, value in (
            ("--streets", streets),
            ("--min-streets", min_streets),
            ("--max-streets", max_streets),
        ):
            if value is not None and value < 1:
                raise InputError(f"{label} must be at least 1, not {value}.")
        if time_limit <= 0:
            raise InputError(
                f"--time-limit must be a positive number of seconds, not {time_limit}."
            )
        if not compactness_weight >= 0:
            raise InputError(f"--compactness-weight must be 0 or more, not {compactness_weight}.")
        rulebook = load_rulebook(rules)
        district = _load(paths, rulebook=rulebook, **_read_options(locals()))
        path = project if project is not None else project_path(district, sample=not paths)
        store = PlanStore(path)
        walls = None
        if barriers is not None:
            from geo.barriers import barriers_from_osm

            walls = barriers_from_osm(barriers)
        if project is not None and store.has_plan("current"):
            current = store.load_plan("current", district)
        else:
            current = Plan.from_district(district, barriers=walls)
        if walls is None:
            err.print(
                "[dim]Contiguity: plain adjacency (give --barriers EXTRACT.osm.pbf to keep "
                "streets from spanning rivers, railways and expressways without a crossing)."
                "[/dim]"
            )
        else:
            cut = current.base.barrier_cuts
            err.print(
                f"[dim]Contiguity: neighbours across barriers in {escape(walls.source)} "
                f"without a crossing are not adjacent ({cut} pair(s) cut).[/dim]"
            )
        current = current.copy(name=current.name)
        known = {s.code for s in current.streets}
        unknown = [code for code in lock or [] if code not in known]
        if unknown:
            raise PlanError(
                f"--lock {', '.join(unknown)}: no such street; the streets are "
                f"{', '.join(sorted(known))}."
            )
        for code in lock or []:
            current.set_locked(code, True)
        if alternatives:
            _propose_alternatives(
                current, rulebook, store, seed=seed, time_limit=time_limit, name=name,
                fmt=fmt, path=path, n_streets=streets, min_streets=min_streets,
                max_streets=max_streets, margin=margin,
            )
            return
        base_name = name or f"proposal-{mode_key}-{seed}"
        plan_name, n = base_name, 1
        while store.has_plan(plan_name):
            n += 1
            plan_name = f"{base_name}-{n}"
        with _progress_bar(quiet=fmt == OutputFormat.json) as progress:
            proposal = propose_plan(
                current,
                rulebook,
                mode=mode_key.replace("-", "_"),
                n_streets=streets,
                min_streets=min_streets,
                max_streets=max_streets,
                seed=seed,
                time_limit_s=time_limit,
                compactness_weight=compactness_weight,
                margin=margin,
                name=plan_name,
                progress=progress,
            )
        s = proposal.summary
        store.save_plan(
            proposal.plan,
            note=f"wangge propose --mode {mode_key} --seed {seed}: "
            f"{s['in_band_after']}/{s['streets_after']} streets in band",
        )
    except (WanggeError, OSError) as exc:
        _fail(exc)
        return
    if fmt == OutputFormat.json:
        doc = {**proposal.to_dict(), "project": str(path), "saved_as": proposal.plan.name}
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        raise typer.Exit(0 if proposal.feasible else 1)
    out.print(
        f"[bold]Proposal ({mode_key}, seed {s['seed']})[/bold] against {escape(rulebook.name)}: "
        f"{s['stop_reason']} in {s['elapsed_s']:.1f} s"
    )
    table = Table(title_justify="left", show_lines=False)
    for col, just in (
        ("code", "left"),
        ("name", "left"),
        ("kind", "left"),
        ("area km² before → after", "right"),
        ("residents before → after", "right"),
        ("status before → after", "left"),
        ("margin", "right"),
    ):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for row in s["streets"]:
        b, a = row["status_before"] or "—", row["status_after"] or "removed"
        table.add_row(
            Text(row["code"] + (" 🔒" if row["locked"] else "")),
            Text(str(row["name"] or "—")),
            Text(str(row["kind"])),
            f"{_fmt_num(row['area_km2_before'], 2)} → {_fmt_num(row['area_km2_after'], 2)}",
            f"{_fmt_num(row['population_before'])} → {_fmt_num(row['population_after'])}",
            Text(b, style=STATUS_STYLE.get(b, ""))
            + Text(" → ")
            + Text(a, style=STATUS_STYLE.get(a, ""))
            + Text(f" ({row['broken_after'].replace(';', ', ')})" if row["broken_after"] else ""),
            "—" if row.get("margin_after") is None else f"{row['margin_after']:.1%}",
        )
    out.print(table)
    out.print(
        f"streets in band: {s['in_band_before']}/{s['streets_before']} → "
        f"{s['in_band_after']}/{s['streets_after']}; moved {s['communities_moved']} "
        f"{proposal.plan.base.nouns}, {_fmt_num(s['residents_moved'])} residents; mean "
        f"compactness {s['compactness_mean_before']} → {s['compactness_mean_after']}"
    )
    bound = s.get("lower_bound")
    if bound and bound.get("lower_bound") is not None:
        proven = " — proven optimal" if bound.get("gap") == 0 else ""
        gap = f", gap {bound['gap']:.0%}" if bound.get("gap") is not None else ""
        out.print(
            f"at least {_fmt_num(bound['lower_bound'])} residents must move for every street "
            f"to be in band{gap}{proven} (a bound that ignores contiguity, so the true "
            "least is between the two)"
        )
    elif bound and bound.get("status") == "infeasible":
        out.print(f"[yellow]note:[/yellow] {escape(bound['reason'])}.")
    if s.get("moves"):
        moves = Table(title="why each community moved", title_justify="left")
        for col in ("community", "from → to", "residents", "reason"):
            moves.add_column(col)
        for m in s["moves"][:40]:
            moves.add_row(
                Text(str(m["name"] or m["code"])),
                Text(f"{m['from_name']} → {m['to_name']}"),
                _fmt_num(m["population"]),
                Text(str(m["reason"])),
            )
        out.print(moves)
        if len(s["moves"]) > 40:
            out.print(f"  … and {len(s['moves']) - 40} more (--format json lists every one)")
    c0, c1 = s["compactness_mean_before"], s["compactness_mean_after"]
    if s["elongated"]:
        out.print(
            f"[yellow]note:[/yellow] mean compactness fell from {c0} to {c1}: the bands were met "
            "with elongated streets. Look at the shapes before adopting it; try "
            "--compactness-weight 1 (rounder, more residents moved), lock streets that must keep "
            "their form, or try --mode scratch."
        )
    if s["streets_added"] or s["streets_removed"]:
        out.print(
            f"new streets: {', '.join(s['streets_added']) or 'none'}; removed (emptied): "
            f"{', '.join(s['streets_removed']) or 'none'}"
        )
    shown: dict[str, int] = {}
    for f in proposal.findings:
        shown[f.rule] = shown.get(f.rule, 0) + 1
        if f.severity == "info" or shown[f.rule] > 10:
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
    verdict = (
        "[green]every street in band[/green]"
        if proposal.feasible
        else "[red]some streets still break a band[/red]"
    )
    out.print(
        f"{verdict}; saved as plan [bold]{escape(proposal.plan.name)}[/bold] in {escape(str(path))}"
    )
    raise typer.Exit(0 if proposal.feasible else 1)


# ------------------------------------------------------------------ wangge rules

rules_app = typer.Typer(
    help="The rulebooks shipped with wangge: list them, show one's rules with sources.",
    no_args_is_help=True,
)
app.add_typer(rules_app, name="rules")


@rules_app.command(name="list")
def rules_list() -> None:
    """List the preset rulebooks (use a name with --rules NAME)."""
    from geo import settings
    from geo.rules import list_presets

    table = Table(show_edge=False, header_style="bold")
    for col in ("name", "rulebook", "规则集", "what it holds"):
        table.add_column(col)
    for p in list_presets():
        table.add_row(p.name, escape(p.title), escape(p.title_zh), escape(p.description))
    out.print(table)
    out.print(f"default: {settings.default_rulebook}; show one with `wangge rules show NAME`.")


@rules_app.command(name="show")
def rules_show(
    name: Annotated[str, typer.Argument(help="A preset name (wangge rules list) or a TOML path.")],
    lang: Annotated[str, typer.Option("--lang", help="Language: zh or en.")] = "en",
    toml: Annotated[
        bool, typer.Option("--toml", help="Print the preset's TOML, to copy and edit.")
    ] = False,
) -> None:
    """Print every rule, default, category and facility figure with its value, source and status."""
    from geo.rules import preset_text, rulebook_table

    if lang not in ("zh", "en"):
        _fail(InputError(f"--lang takes zh or en, not {lang!r}."))
    try:
        rulebook = load_rulebook(name)
        if toml:
            path = Path(name)
            sys.stdout.write(path.read_text("utf-8") if path.is_file() else preset_text(name))
            return
    except (WanggeError, OSError) as exc:
        _fail(exc)
        return
    title = rulebook.name_zh if lang == "zh" and rulebook.name_zh else rulebook.name
    out.print(f"[bold]{escape(title)}[/bold] ({escape(rulebook.preset or rulebook.path)})")
    frame = rulebook_table(rulebook, lang=lang)
    table = Table(show_edge=False, header_style="bold", show_lines=False)
    for col in frame.columns:
        table.add_column(str(col), overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*(escape(str(v)) for v in row))
    out.print(table)


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
                    Text(f"{units} units, {_fmt_num(top['population'])} residents"),
                    f"{s['findings']['error']} errors, {s['findings']['warning']} warnings",
                    Text("clean" if not r["findings"] else "findings"),
                )
        out.print(table)
        out.print(f"{report.n_findings} finding(s) in all; --format json lists every one.")
    if report.errors:
        raise typer.Exit(2)
    raise typer.Exit(1 if report.n_findings else 0)


def _propose_alternatives(
    current: Any,
    rulebook: Rulebook,
    store: Any,
    *,
    seed: int,
    time_limit: float,
    name: str | None,
    fmt: OutputFormat,
    path: Path,
    **options: Any,
) -> None:
    """Run, save and compare the three alternatives (``propose --alternatives``).

    ``current`` is a :class:`geo.plan.Plan` and ``store`` its
    :class:`geo.plan.PlanStore` (imported where used: the CLI starts faster).
    """
    import json

    from geo.alternatives import KINDS as ALTERNATIVE_KINDS
    from geo.alternatives import compare_alternatives, propose_alternatives
    stem = name or f"proposal-{seed}"
    n = 1
    while any(store.has_plan(f"{stem}-{k}") for k in ALTERNATIVE_KINDS):
        n += 1
        stem = f"{name or f'proposal-{seed}'}-{n}"
    with _progress_bar(quiet=fmt == OutputFormat.json) as progress:
        alts = propose_alternatives(
            current, rulebook, seed=seed, time_limit_s=time_limit, name=stem,
            progress=progress, **options,
        )
    for alt in alts:
        s = alt.proposal.summary
        store.save_plan(
            alt.proposal.plan,
            note=f"wangge propose --alternatives ({alt.label}), seed {seed}: "
            f"{s['in_band_after']}/{s['streets_after']} streets in band",
        )
    rows = compare_alternatives(alts)
    feasible = all(a.proposal.feasible for a in alts)
    if fmt == OutputFormat.json:
        doc = {
            "project": str(path),
            "alternatives": rows,
            "proposals": {a.key: a.proposal.to_dict() for a in alts},
        }
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        raise typer.Exit(0 if feasible else 1)
    table = Table(title=f"Alternatives against {escape(rulebook.name)}", title_justify="left")
    for col in ("alternative", "plan", "in band", "residents moved", "× fewest",
                "communities", "compactness mean / min", "margin min"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            Text(str(r["label"])),
            Text(str(r["plan"])),
            Text(str(r["in_band"])),
            _fmt_num(r["residents_moved"]),
            "—" if r["moved_vs_fewest"] is None else f"{r['moved_vs_fewest']:.2f}",
            str(r["communities_moved"]),
            f"{_fmt_num(r['compactness_mean'], 2)} / {_fmt_num(r['compactness_min'], 2)}",
            "—" if r["margin_min"] is None else f"{r['margin_min']:.1%}",
        )
    out.print(table)
    for r in rows:
        t = r.get("targets")
        if t is None:
            continue
        wanted = (
            f"mean ≥ {t['mean_min']:.2f}, every street ≥ {t['street_min']:.2f}"
            if "street_min" in t
            else f"mean ≥ {t['mean_min']:.2f}, at most {_fmt_num(t['moved_max'])} moved"
        )
        verdict = "[green]met[/green]" if t["met"] else "[yellow]not met[/yellow]"
        out.print(f"{escape(str(r['key']))}: compactness target ({wanted}) {verdict}")
        for why in r.get("why") or []:
            out.print(f"  why: {escape(why['message'])}")
    out.print(
        f"saved as {', '.join(escape(r['plan']) for r in rows)} in {escape(str(path))}; "
        "open one in the app (Compare) or export it with --assign."
    )
    raise typer.Exit(0 if feasible else 1)


@app.command(name="app")
def run_app(
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8501,
) -> None:
    """Start the browser app (Streamlit) on the built-in sample district."""
    root = Path(__file__).resolve().parent.parent
    entry = root / "app.py"
    if not entry.exists():
        _fail(WanggeError(f"The app's entry point {entry} is missing; run from a source checkout."))
    os.chdir(root)
    os.execvp(
        sys.executable,
        [sys.executable, "-m", "streamlit", "run", str(entry), "--server.port", str(port)],
    )


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


if __name__ == "__main__":
    main()
