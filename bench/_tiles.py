"""Tile the sample district side by side: a city (16×) or a province (144×) for scale runs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.sample.build import sample_district, sample_services


def _offsets(times: int) -> tuple[list[tuple[float, float]], tuple[float, float, float, float]]:
    """Return each tile's (dx, dy) in degrees and the sample's street bounds."""
    base = sample_district()
    minx, miny, maxx, maxy = base["street"].total_bounds
    w, h = (maxx - minx) * 1.02, (maxy - miny) * 1.02
    cols = math.ceil(math.sqrt(times))
    return [((t % cols) * w, (t // cols) * h) for t in range(times)], (minx, miny, maxx, maxy)


def _shifted(frame: gpd.GeoDataFrame, dx: float, dy: float) -> gpd.GeoDataFrame:
    f = frame.copy()
    f["geometry"] = shapely.transform(f.geometry.values, lambda xy: xy + [dx, dy])
    return f


def tiled_district(times: int) -> dict[str, gpd.GeoDataFrame]:
    """Return the sample tiled ``times`` times on a square-ish grid, codes kept unique.

    Tile ``t`` gets prefecture+county digits ``t`` (``37`` + 4 digits), so every code
    stays a valid-looking 12/14-digit statistical code and nests as in the sample.
    """
    base = sample_district()
    offsets, _ = _offsets(times)
    out: dict[str, list[gpd.GeoDataFrame]] = {lv: [] for lv in base}
    for t, (dx, dy) in enumerate(offsets):
        prefix = f"37{t:04d}"
        for lv, frame in base.items():
            f = _shifted(frame, dx, dy)
            for col in ("code", "parent_code"):
                f[col] = f[col].map(lambda c, p=prefix: p + str(c)[6:] if isinstance(c, str) else c)
            f["name"] = f["name"].map(lambda n, t=t: f"{n}{t}" if isinstance(n, str) else n)
            out[lv].append(f)
    return {
        lv: gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=4326)
        for lv, parts in out.items()
    }


def tiled_services(times: int) -> dict[str, Any]:
    """Return the sample's services tiled like :func:`tiled_district`.

    One walking network per tile (not joined to its neighbours, node ids kept
    unique), and the tile's facilities and buildings moved with it.
    """
    base = sample_services()
    offsets, _ = _offsets(times)
    nodes, edges, bld, fac = [], [], [], []
    span = int(base["network_nodes"]["id"].max()) + 1
    for t, (dx, dy) in enumerate(offsets):
        n = base["network_nodes"].copy()
        n["id"] = n["id"] + t * span
        n["lon"] = n["lon"] + dx
        n["lat"] = n["lat"] + dy
        e = base["network_edges"].copy()
        e["u"] = e["u"] + t * span
        e["v"] = e["v"] + t * span
        nodes.append(n)
        edges.append(e)
        bld.append(_shifted(base["buildings"], dx, dy))
        f = _shifted(base["facilities"], dx, dy)
        f["name"] = f["name"].map(lambda s, t=t: f"{s}{t}" if isinstance(s, str) else s)
        fac.append(f)
    return {
        "network_nodes": pd.concat(nodes, ignore_index=True),
        "network_edges": pd.concat(edges, ignore_index=True),
        "buildings": gpd.GeoDataFrame(pd.concat(bld, ignore_index=True), crs=4326),
        "facilities": gpd.GeoDataFrame(pd.concat(fac, ignore_index=True), crs=4326),
    }


def write_tiled(times: int, folder: str | Path, *, services: bool = True) -> dict[str, Path]:
    """Write the tiled district and its services for the CLI; return the paths.

    ``district`` (a GeoPackage with layers streets, communities, grids),
    ``facilities`` and ``buildings`` (GeoPackages) and ``network`` (``.npz``);
    with ``services=False`` the district only. Files already there are kept
    (the tiling is deterministic).
    """
    from geo.access.network import network_from_tables, save_network

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "district": out / "district.gpkg",
        "facilities": out / "facilities.gpkg",
        "buildings": out / "buildings.gpkg",
        "network": out / "network.npz",
    }
    if not services:
        paths = {"district": paths["district"]}
    if all(p.exists() for p in paths.values()):
        return paths
    frames = tiled_district(times)
    names = {"street": "streets", "community": "communities", "grid": "grids"}
    for lv, frame in frames.items():
        frame.to_file(paths["district"], layer=names[lv], driver="GPKG")
    if not services:
        return paths
    s = tiled_services(times)
    s["facilities"].to_file(paths["facilities"], driver="GPKG")
    s["buildings"].to_file(paths["buildings"], driver="GPKG")
    net = network_from_tables(s["network_nodes"], s["network_edges"], source=f"sample ×{times}")
    save_network(net, paths["network"])
    assert np.all(net.graph.data > 0)
    return paths
