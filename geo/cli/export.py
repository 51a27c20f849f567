"""``wangge export [PATH]``: every level as GeoJSON, GeoPackage, Shapefile or CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import typer.core
import typer.exceptions
from rich.markup import escape

from geo.cli._common import (
    AssignOpt,
    ColumnOpt,
    Coords,
    CoordsOpt,
    CrsOpt,
    ExportFormat,
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
    err,
    load_rulebook,
    out,
)
from geo.errors import WanggeError


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
        # nothing about the shapes is reported here (that is `wangge check`): skip the checks
        district = _load(paths, rulebook=rulebook, checks=False, **options)
        from geo.district.edit import renumber_units
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
