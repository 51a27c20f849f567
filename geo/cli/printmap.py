"""``wangge map [PATH]``: print a plan's map (PNG or PDF) for a report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from geo.cli._common import (
    AssignOpt,
    ColumnOpt,
    Coords,
    CoordsOpt,
    CrsOpt,
    LayerOpt,
    LevelOpt,
    Link,
    LinkOpt,
    PathsArg,
    RepairOpt,
    RulesOpt,
    _fail,
    _load,
    _read_options,
    app,
    load_rulebook,
    out,
)
from geo.errors import InputError, WanggeError

MapTo = Annotated[
    list[Path],
    typer.Option("--to", help="File to write: .png or .pdf (repeat --to for both)."),
]


@app.command(name="map")
def print_map(
    paths: PathsArg = None,
    to: MapTo = [Path("wangge-map.pdf")],  # noqa: B006 - typer reads the default, never mutates
    plan_name: Annotated[
        str,
        typer.Option("--plan", help="The stored plan to draw (default current: the district as "
                     "it is when no plan is stored)."),
    ] = "current",
    project: Annotated[
        Path | None,
        typer.Option("--project", help="Project GeoPackage holding the plans; default the "
                     "district's project file."),
    ] = None,
    title: Annotated[
        str | None,
        typer.Option("--title", help="District name in the title; default the input's name."),
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="Language of the map: zh or en.")] = "zh",
    level: LevelOpt = None,
    layer: LayerOpt = None,
    column: ColumnOpt = None,
    rules: RulesOpt = None,
    crs: CrsOpt = None,
    coords: CoordsOpt = Coords.wgs84,
    link: LinkOpt = Link.auto,
    repair: RepairOpt = False,
    assign: AssignOpt = None,
) -> None:
    """Print a plan's map for a report: PNG or PDF with legend, north arrow, scale and title.

    Communities are filled by street, streets outlined by their status (dashed when
    locked) and named. Exit code 0 when written, 2 on unusable input or an output that
    cannot be written.
    """
    from geo.i18n import LANGUAGES

    try:
        if lang not in LANGUAGES:
            raise InputError(f"--lang takes zh or en, not {lang!r}.")
        bad = [str(p) for p in to if p.suffix.lower() not in (".png", ".pdf")]
        if bad:
            raise InputError(f"--to names a .png or .pdf file, not {', '.join(bad)}.")
        from geo.maps.mapprint import map_text, write_plan_map
        from geo.plan.model import Plan
        from geo.plan.store import PlanStore
        from geo.project import project_path

        rulebook = load_rulebook(rules)
        district = _load(paths, rulebook=rulebook, **_read_options(locals()))
        if "street" not in district.levels or len(district.levels) < 2:
            raise InputError(
                "A plan's map needs streets and a finer level (communities or grids); this "
                f"input has only {', '.join(district.levels)}. Give both layers."
            )
        store_path = project if project is not None else project_path(district,
                                                                      sample=not paths)
        if store_path.exists() and PlanStore(store_path).has_plan(plan_name):
            plan = PlanStore(store_path).load_plan(plan_name, district)
        elif plan_name == "current":
            plan = Plan.from_district(district)
        else:
            from geo.errors import PlanError

            stored = (sorted(PlanStore(store_path).list_plans()["name"])
                      if store_path.exists() else [])
            raise PlanError(
                f"--plan {plan_name}: no such plan in {store_path.name}; the stored plans are "
                f"{', '.join(stored) or 'none'}. Give --project with the right file, or leave "
                "--plan out to draw the district as it is."
            )
        if title is None:
            title = map_text("sample", lang) if not paths else paths[0].stem
        shown_name = map_text("current", lang) if plan.name == "current" else plan.name
        written = [write_plan_map(plan, target, rulebook, district_name=title,
                                  plan_name=shown_name, lang=lang) for target in to]
    except (WanggeError, OSError) as exc:
        _fail(exc)
        return
    for f in written:
        out.print(escape(str(f)))
