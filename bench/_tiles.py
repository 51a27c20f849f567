"""Tile the sample district side by side: a city (16×) or a province (144×) for scale runs."""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd
import shapely

from geo.sample.build import sample_district


def tiled_district(times: int) -> dict[str, gpd.GeoDataFrame]:
    """Return the sample tiled ``times`` times on a square-ish grid, codes kept unique.

    Tile ``t`` gets prefecture+county digits ``t`` (``37`` + 4 digits), so every code
    stays a valid-looking 12/14-digit statistical code and nests as in the sample.
    """
    base = sample_district()
    minx, miny, maxx, maxy = base["street"].total_bounds
    w, h = (maxx - minx) * 1.02, (maxy - miny) * 1.02
    cols = math.ceil(math.sqrt(times))
    out: dict[str, list[gpd.GeoDataFrame]] = {lv: [] for lv in base}
    for t in range(times):
        dx, dy = (t % cols) * w, (t // cols) * h
        prefix = f"37{t:04d}"
        for lv, frame in base.items():
            f = frame.copy()
            f["geometry"] = shapely.transform(
                f.geometry.values, lambda xy, dx=dx, dy=dy: xy + [dx, dy]
            )
            for col in ("code", "parent_code"):
                f[col] = f[col].map(lambda c, p=prefix: p + str(c)[6:] if isinstance(c, str) else c)
            f["name"] = f["name"].map(lambda n, t=t: f"{n}{t}" if isinstance(n, str) else n)
            out[lv].append(f)
    return {
        lv: gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=4326)
        for lv, parts in out.items()
    }
