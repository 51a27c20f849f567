"""``wangge audit [PATH]``: who lives within walking reach of each service; floor area."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import typer.core
import typer.exceptions
from rich.text import Text

from geo._format import number as _number
from geo.cli._common import (
    SEV_STYLE,
    ColumnOpt,
    Coords,
    CoordsOpt,
    CrsOpt,
    DetourOpt,
    EachOpt,
    LayerOpt,
    LevelOpt,
    Link,
    LinkOpt,
    NetworkOpt,
    OutputFormat,
    PathsArg,
    RepairOpt,
    RulesOpt,
    SchedulerOpt,
    WorkersOpt,
    _fail,
    _load,
    _progress_bar,
    _read_options,
    _run_each,
    app,
    err,
    load_rulebook,
    out,
)
from geo.errors import WanggeError


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
    network: NetworkOpt = None,
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
    from geo.access.audit import run_audit
    from geo.access.reach import check_detour
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
                f"{spec.name}: average {_number(row['mean_floor_area_m2'])} m² per facility "
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
