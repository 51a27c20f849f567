"""Editing the district itself: renumbering moved units, splitting a community."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops

from geo import settings
from geo.district.checks import _code_mismatches
from geo.district.codes import (
    generate_child_codes,
)
from geo.district.model import (
    District,
)
from geo.errors import InputError
from geo.i18n import N_

logger = logging.getLogger(__name__)

def renumber_units(
    units: Mapping[str, gpd.GeoDataFrame],
) -> tuple[dict[str, gpd.GeoDataFrame], pd.DataFrame]:
    """Renumber communities whose code does not follow their street, and their grids.

    A community moved to another street gets the next free code under that
    street (village digits in its kind's range); its grids keep their own
    trailing digits under the new community code (CJ/T 213: grid codes follow
    their community). Grids whose code does not extend their community's get
    the next free two-digit numbers under it. Nothing else changes.

    Returns
    -------
    (units, table)
        The renumbered ``level -> GeoDataFrame`` (``code_source`` =
        ``renumbered`` where changed) and a table ``level``, ``name``,
        ``old_code``, ``new_code`` of every change.
    """
    out = {lv: f.copy() for lv, f in units.items()}
    rows: list[dict[str, Any]] = []
    taken = {str(c) for f in out.values() for c in f["code"].dropna()}
    comm, grids = out.get("community"), out.get("grid")
    if comm is not None:
        for idx in _code_mismatches(comm, "community"):
            old, parent = str(comm.at[idx, "code"]), str(comm.at[idx, "parent_code"])
            kind = comm.at[idx, "kind"] if comm.at[idx, "kind"] in ("community", "village") \
                else "community"
            new = generate_child_codes(
                gpd.GeoDataFrame(
                    {"code": [None], "name": [comm.at[idx, "name"]], "parent_code": [parent],
                     "kind": [kind]},
                    geometry=[comm.at[idx, "geometry"]], crs=comm.crs,
                ),
                "community",
                taken,
            )[0]
            assert new is not None
            taken.add(new)
            comm.at[idx, "code"] = new
            comm.loc[idx, "code_source"] = "renumbered"
            rows.append({"level": "community", "name": comm.at[idx, "name"], "old_code": old,
                         "new_code": new})
            if grids is not None:
                for gi in grids.index[grids["parent_code"] == old]:
                    g_old = str(grids.at[gi, "code"])
                    tail = g_old[len(old):] if g_old.startswith(old) else None
                    g_new = f"{new}{tail}" if tail and f"{new}{tail}" not in taken else None
                    grids.at[gi, "parent_code"] = new
                    if g_new is None:
                        continue  # numbered below with the other grids that do not follow
                    taken.add(g_new)
                    grids.at[gi, "code"] = g_new
                    grids.loc[gi, "code_source"] = "renumbered"
                    rows.append({"level": "grid", "name": grids.at[gi, "name"],
                                 "old_code": g_old, "new_code": g_new})
    if grids is not None:
        bad = _code_mismatches(grids, "grid", "community" if comm is not None else "street")
        if len(bad):
            blank = grids.loc[bad].assign(code=None)
            fresh = generate_child_codes(blank, "grid", taken)
            for gi, g_new in zip(bad, fresh, strict=True):
                rows.append({"level": "grid", "name": grids.at[gi, "name"],
                             "old_code": grids.at[gi, "code"], "new_code": g_new})
                grids.at[gi, "code"] = g_new
                grids.loc[gi, "code_source"] = "renumbered"
    table = pd.DataFrame(rows, columns=["level", "name", "old_code", "new_code"])
    return out, table


# --------------------------------------------------------------------------- splitting


def _free_codes(prefix9: str, taken: set[str], kind: str, n: int) -> list[str]:
    lo, hi = (200, 399) if kind == "village" else (1, 199)
    out = []
    for v in range(lo, hi + 1):
        code = f"{prefix9}{v:03d}"
        if code not in taken:
            out.append(code)
            if len(out) == n:
                return out
    raise InputError.worded(N_("No free community code is left under {prefix}; renumber first."),
                            prefix=prefix9)


def split_community(
    district: District, code: str, line: Any, *, names: tuple[str, str] | None = None
) -> tuple[District, dict[str, Any]]:
    """Split a community in two along a drawn line; return the new district and what happened.

    With grids below it, the two new communities are unions of whole grids,
    each grid going to the side holding most of its area, so boundaries follow
    grid lines and residents are exact. Without grids the polygon is cut along
    the line and residents are shared by area (marked as estimated). Both new
    communities get new codes under the same street (the next free village
    digits); their grids are renumbered under them.

    Parameters
    ----------
    district : District
        The district.
    code : str
        The community to split.
    line : shapely LineString or GeoJSON mapping
        In WGS-84, crossing the community from edge to edge.
    names : (str, str), optional
        Names of the two new communities; default the old name + 一区 / 二区.

    Returns
    -------
    (District, dict)
        The new district and ``{"old": code, "new": [codeA, codeB], "method":
        "grids" | "area (estimated)", "population": [pA, pB]}``.
    """
    from shapely.geometry import shape

    if "community" not in district.units:
        raise InputError.worded(N_("The district has no community level to split."))
    comm = district.units["community"]
    row = comm[comm["code"] == code]
    if len(row) != 1:
        raise InputError.worded(
            N_("Community {code} is not in the district (or its code is not unique)."), code=code)
    row = row.iloc[0]
    geom_line = shape(line) if isinstance(line, Mapping) else line
    if geom_line.geom_type not in ("LineString", "MultiLineString"):
        raise InputError.worded(N_("Draw a line (not a shape) across the community to split it."))
    crs = district.metric_crs
    to_m = gpd.GeoSeries([row.geometry, geom_line], crs=4326).to_crs(crs)
    poly_m, line_m = to_m.iloc[0], to_m.iloc[1]
    parts = [p for p in shapely.get_parts(shapely.ops.split(poly_m, line_m))
             if p.area > settings.sliver_tolerance_m2]
    if len(parts) < 2:
        raise InputError.worded(N_("The line does not cut community {community} in two: draw "
                                   "it across the community from one edge to the other."),
                                community=row["name"] or code)
    if len(parts) > 2:
        raise InputError.worded(N_("The line cuts community {community} into {n} pieces; draw "
                                   "a line that crosses it once."),
                                community=row["name"] or code, n=len(parts))
    parts.sort(key=lambda p: (-p.centroid.y, p.centroid.x))  # the northern part first
    label = row["name"] or code
    new_names = names or (f"{label}一区", f"{label}二区")
    taken = set(comm["code"].dropna())
    kind = row["kind"] if row["kind"] in ("community", "village") else "community"
    prefix = (row["parent_code"] or code)[:9] if str(code).isdigit() and len(code) == 12 \
        else None
    new_codes = (_free_codes(prefix, taken, kind, 2) if prefix else
                 [f"{code}-1", f"{code}-2"])
    frames = {lv: f.drop(columns=["area_km2", "population_source", "households_source",
                                  "kind"], errors="ignore").copy()
              for lv, f in district.units.items()}
    info: dict[str, Any] = {"old": code, "new": new_codes}
    grids = frames.get("grid")
    pops = [0.0, 0.0]
    hhs = [0.0, 0.0]
    geoms_out: list[Any] = []
    if grids is not None and (grids["parent_code"] == code).any():
        mine = grids["parent_code"] == code
        gm = grids[mine].to_crs(crs)
        side = []
        for g in gm.geometry:
            shares = [g.intersection(p).area for p in parts]
            side.append(int(np.argmax(shares)))
        side_arr = np.array(side)
        if (side_arr == 0).all() or (side_arr == 1).all():
            raise InputError.worded(N_("Every grid of {community} lies on one side of the line; "
                                       "draw the line between grids so each new community keeps "
                                       "at least one."),
                                    community=label)
        idx = grids.index[mine]
        for k in (0, 1):
            sel = idx[side_arr == k]
            geoms_out.append(shapely.union_all(np.asarray(
                grids.loc[sel].to_crs(crs).geometry.values, dtype=object)))
            pops[k] = float(grids.loc[sel, "population"].sum(min_count=1) or 0)
            hhs[k] = float(grids.loc[sel, "households"].sum(min_count=1) or 0)
            grids.loc[sel, "parent_code"] = new_codes[k]
            for n, gi in enumerate(sel, start=1):
                grids.loc[gi, "code"] = f"{new_codes[k]}{n:02d}"
        frames["grid"] = grids
        info["method"] = "grids"
    else:
        total = sum(p.area for p in parts)
        for k in (0, 1):
            share = parts[k].area / total
            geoms_out.append(parts[k])
            pop = float(row["population"]) if pd.notna(row["population"]) else 0.0
            hh = float(row["households"]) if pd.notna(row["households"]) else 0.0
            pops[k], hhs[k] = pop * share, hh * share
        info["method"] = "area (estimated)"
    info["population"] = pops
    new_rows = gpd.GeoDataFrame({
        "code": new_codes, "name": list(new_names), "parent_code": [row["parent_code"]] * 2,
        "population": [round(p) for p in pops], "households": [round(h) for h in hhs],
    }, geometry=geoms_out, crs=crs).to_crs(4326)
    c = frames["community"]
    c = pd.concat([c[c["code"] != code], new_rows], ignore_index=True)
    frames["community"] = gpd.GeoDataFrame(c, geometry="geometry", crs=4326)
    from geo.district.hierarchy import build_district  # builds on this module's callers

    new = build_district(frames, household_size=district.household_size,
                         notes=[*district.notes, f"community {code} split into "
                                f"{new_codes[0]} and {new_codes[1]} ({info['method']})."])
    return new, info
