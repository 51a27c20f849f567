"""``wangge site``: where new facilities would bring the most residents within reach."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import typer.core
import typer.exceptions
from rich.table import Table
from rich.text import Text

from geo._format import number as _number
from geo.cli._common import (
    SEV_STYLE,
    ColumnOpt,
    Coords,
    CoordsOpt,
    CrsOpt,
    DetourOpt,
    LayerOpt,
    LevelOpt,
    Link,
    LinkOpt,
    NetworkOpt,
    OutputFormat,
    PathsArg,
    RepairOpt,
    RulesOpt,
    _fail,
    _load,
    _progress_bar,
    _read_options,
    app,
    err,
    load_rulebook,
    out,
)
from geo.errors import InputError, WanggeError

if TYPE_CHECKING:  # the library is imported where a command uses it: `wangge --help` is fast
    from geo.siting.api import SitingResult


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
    network: NetworkOpt = None,
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

    from geo.access.reach import DEFAULT_DETOUR as DEFAULT_SITE_DETOUR
    from geo.access.reach import check_detour
    from geo.siting.api import SolverOptions, check_goal, run_siting, write_sites

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
                solver=SolverOptions(time_limit_s=time_limit),
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
    _print_sites(result, detour=detour if detour is not None else DEFAULT_SITE_DETOUR)
    if written is not None:
        out.print(f"sites: {written}")


def _print_sites(result: SitingResult, *, detour: float) -> None:
    """Print a siting result: coverage before and after, the method, the sites, the notes."""
    s = result.summary
    if s["approximate"]:
        used = s.get("detour") or detour
        err.print(
            f"[yellow]Approximation:[/yellow] no network; distances are straight-line × {used:g}."
        )
    out.print(
        f"[bold]{s['facility_name']}[/bold] ({s['facility_name_zh']}), within "
        f"{s['service_radius_m']:,.0f} m walk; {s['existing_facilities']} existing kept"
    )
    out.print(
        f"residents {_number(s['residents'])}: covered {_number(s['covered_before'])} "
        f"({s['share_before']:.1%}) → {_number(s['covered_after'])} ({s['share_after']:.1%}), "
        f"+{_number(s['newly_covered'])} with {s['sites']} new site(s)"
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
        area = _number(row.floor_area_m2)
        if row.floor_area_assumed:
            area += " (assumed)"
        cells: list[str | Text] = [
            str(row.rank),
            str(row.candidate_id),
            Text(row.name if isinstance(row.name, str) and row.name else "—"),
            f"{row.lon:.5f}, {row.lat:.5f}",
            _number(row.newly_covered),
            area,
        ]
        if s["capacity"]:
            cells.append(_number(row.capacity_households))
        table.add_row(*cells)
    out.print(table)
    for note in s["notes"]:
        out.print(Text(f"  {note}", style="dim"))
    for f in result.findings:
        if f.severity != "info":
            out.print(
                Text(f"{f.severity:<7} ", style=SEV_STYLE.get(f.severity, "")) + Text(f.message)
            )
