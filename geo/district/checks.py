"""The nesting checks: codes, parents, overlaps, gaps and straddles, as findings with places."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
import shapely.ops

from geo import LEVELS, settings
from geo.district.model import (
    _DIGITS,
    _label,
    _rep_point,
)
from geo.district.topology import (
    containment_shares,
    gap_polygons,
    interior_pairs,
    overlap_pairs,
)
from geo.findings import Finding

logger = logging.getLogger(__name__)

# -------------------------------------------------------------------------- checks


def _code_findings(units: gpd.GeoDataFrame, level: str) -> list[Finding]:
    findings = []
    codes = units["code"]
    generated = (
        units["code_source"].to_numpy() == "generated"
        if "code_source" in units.columns
        else np.zeros(len(units), dtype=bool)
    )
    lacking = generated | codes.isna().to_numpy()
    if lacking.any():
        rows = units[lacking]
        examples = ", ".join(
            f"{n or '#' + str(i + 1)} → {c}" if c else str(n or f"#{i + 1}")
            for i, n, c in zip(
                np.flatnonzero(lacking)[:5], rows["name"][:5], rows["code"][:5], strict=True
            )
        )
        more = f" and {int(lacking.sum()) - 5} more" if lacking.sum() > 5 else ""
        findings.append(
            Finding(
                rule="code.missing",
                level=level,
                severity="warning",
                value=float(lacking.sum()),
                unit="units",
                message=(
                    f"{int(lacking.sum())} of {len(units)} {level} unit(s) have no code: "
                    f"{examples}{more}. They were given generated codes so that they can be "
                    "linked, checked, planned and exported (marked code_source = generated); "
                    "replace them with the official codes (统计用区划代码) when you have them, "
                    "with --column code=COLUMN if the file holds them under another name."
                ),
            )
        )
    dup = codes[codes.notna() & codes.duplicated(keep=False)]
    for code, idx in dup.groupby(dup).groups.items():
        rows = units.loc[idx]
        names = ", ".join(str(n) for n in rows["name"].fillna("(unnamed)"))
        lon, lat = _rep_point(rows.geometry.iloc[0])
        findings.append(
            Finding(
                rule="code.duplicate",
                level=level,
                severity="error",
                code=str(code),
                value=float(len(rows)),
                unit="units",
                lon=lon,
                lat=lat,
                message=(
                    f"{len(rows)} {level} units share the code {code} ({names}). Codes must be "
                    "unique within a level: give each its own code."
                ),
            )
        )
    valid = codes.dropna()
    digits = valid[valid.str.fullmatch(r"\d+")]
    if level in ("street", "community") and len(valid) and (digits.str.len() == 12).mean() >= 0.5:
        for i in np.flatnonzero(codes.notna().to_numpy()):
            code = codes.iloc[i]
            problem = None
            if not (_DIGITS.match(code) and len(code) == 12):
                problem = "is not 12 digits"
            elif level == "street" and code[9:] != "000":
                problem = "should end in 000 at the street level"
            elif level == "street" and code[6:9] == "000":
                problem = "has township digits 000"
            elif level == "community" and code[9:] == "000":
                problem = "has village digits 000"
            if problem:
                row = units.iloc[i]
                lon, lat = _rep_point(row.geometry)
                findings.append(
                    Finding(
                        rule="code.malformed",
                        level=level,
                        severity="error",
                        code=code,
                        name=row["name"],
                        lon=lon,
                        lat=lat,
                        message=(
                            f"{level} {_label(code, row['name'])}: the code {problem}. "
                            "Statistical division codes have 12 digits: province 2, "
                            "prefecture 2, county 2, township 3, village 3."
                        ),
                    )
                )
    return findings


def _code_mismatches(children: gpd.GeoDataFrame, child_level: str) -> pd.Index:
    """Return the index of children whose code does not extend their parent's code.

    Empty when the data does not use nested codes at all (most links disagree).
    """
    linked = children[children["code"].notna() & children["parent_code"].notna()]
    if len(linked) == 0:
        return linked.index
    codes, pcodes = linked["code"].astype(str), linked["parent_code"].astype(str)
    if child_level == "community":
        # statistical codes nest by definition, however many communities have moved
        stat = codes.str.fullmatch(r"\d{12}") & pcodes.str.fullmatch(r"\d{9}|\d{12}")
        agree = codes.str[:9] == pcodes.str[:9]
        return linked.index[stat & ~agree]
    stat = codes.str.fullmatch(r"\d+") & pcodes.str.fullmatch(r"\d+")
    stat &= codes.str.len() > pcodes.str.len()
    agree = pd.Series(
        [c.startswith(p) for c, p in zip(codes, pcodes, strict=True)], index=codes.index
    )
    statistical = pcodes.str.fullmatch(r"\d{12}")
    # grid codes under 12-digit community codes extend them (CJ/T 213); other numeric
    # schemes count as nested only where most of them already do
    if not (stat & statistical).any() and (stat.sum() == 0 or agree[stat].mean() < 0.5):
        return linked.index[:0]
    return linked.index[stat & ~agree]


def _code_parent_findings(units: Mapping[str, gpd.GeoDataFrame]) -> list[Finding]:
    """One finding per community whose code no longer follows its street, with its grids.

    After communities move between streets every one of them, and every grid
    renumbered with it, carries its old street's digits; a finding per unit
    would bury the plan in hundreds of lines. Grids whose own code does not
    follow their community are grouped by community.
    """
    findings: list[Finding] = []
    comm = units.get("community")
    grids = units.get("grid")
    grid_bad = (
        grids.loc[_code_mismatches(grids, "grid")] if grids is not None else None
    )
    folded: set[Any] = set()
    if comm is not None and "street" in units:
        streets = units["street"]
        slabel = {c: _label(c, n) for c, n in zip(streets["code"], streets["name"], strict=True)}
        for idx in _code_mismatches(comm, "community"):
            row = comm.loc[idx]
            n_grids = 0
            if grids is not None:
                mine = grids["parent_code"] == row["code"]
                n_grids = int(mine.sum())
                if grid_bad is not None:
                    folded.update(grid_bad.index[grid_bad["parent_code"] == row["code"]])
            lon, lat = _rep_point(row.geometry)
            with_grids = f" and its {n_grids} grid(s)" if n_grids else ""
            findings.append(
                Finding(
                    rule="code.parent_mismatch",
                    level="community",
                    severity="warning",
                    code=row["code"],
                    name=row["name"],
                    value=float(n_grids),
                    unit="grids",
                    related=(str(row["parent_code"]),),
                    lon=lon,
                    lat=lat,
                    message=(
                        f"community {_label(row['code'], row['name'])} belongs to street "
                        f"{slabel.get(row['parent_code'], row['parent_code'])}, but its "
                        f"code{with_grids} still carry another street's digits "
                        f"({row['code'][:9]}). Renumber them under their street "
                        "(wangge export --renumber, or Renumber on the Export page) or "
                        "correct the parent code."
                    ),
                )
            )
    if grid_bad is not None and len(grid_bad):
        rest = grid_bad.loc[~grid_bad.index.isin(folded)]
        clabel = (
            {c: _label(c, n) for c, n in zip(comm["code"], comm["name"], strict=True)}
            if comm is not None
            else {}
        )
        for parent, group in rest.groupby("parent_code", sort=True):
            lon, lat = _rep_point(group.geometry.iloc[0])
            shown = ", ".join(_label(c, n) for c, n in zip(group["code"][:3], group["name"][:3],
                                                          strict=True))
            findings.append(
                Finding(
                    rule="code.parent_mismatch",
                    level="grid",
                    severity="warning",
                    code=str(parent),
                    name=clabel.get(parent),
                    value=float(len(group)),
                    unit="grids",
                    related=tuple(str(c) for c in group["code"]),
                    lon=lon,
                    lat=lat,
                    message=(
                        f"{len(group)} grid(s) of community {clabel.get(parent, parent)} have "
                        f"codes that do not extend the community's code ({shown}"
                        f"{' …' if len(group) > 3 else ''}). Grid codes follow their "
                        "community (CJ/T 213): renumber them (wangge export --renumber) or "
                        "correct the parent codes."
                    ),
                )
            )
    return findings


def _overlap_findings(
    metric: gpd.GeoDataFrame, level: str, tol: float, touching: pd.DataFrame
) -> list[Finding]:
    findings: list[Finding] = []
    pairs = overlap_pairs(metric.geometry, min_area_m2=tol, pairs=touching)
    if len(pairs) == 0:
        return findings
    pts = gpd.GeoSeries(list(pairs["geometry"]), crs=metric.crs).representative_point().to_crs(4326)
    for k, (_, pair) in enumerate(pairs.iterrows()):
        a, b = metric.iloc[int(pair["i"])], metric.iloc[int(pair["j"])]
        findings.append(
            Finding(
                rule="hierarchy.overlap",
                level=level,
                severity="error",
                code=a["code"],
                name=a["name"],
                related=(str(b["code"]),),
                area_m2=float(pair["area_m2"]),
                value=float(pair["area_m2"]),
                unit="m2",
                lon=float(pts.iloc[k].x),
                lat=float(pts.iloc[k].y),
                message=(
                    f"{level} units {_label(a['code'], a['name'])} and "
                    f"{_label(b['code'], b['name'])} overlap by {pair['area_m2']:,.0f} m². "
                    "Each place belongs to exactly one unit: redraw the shared boundary."
                ),
            )
        )
    return findings


def _units_around(gap: shapely.Geometry, units: gpd.GeoDataFrame, limit: int = 6) -> list[int]:
    """Return positions of the units bordering a gap (within a metre), longest border first."""
    geoms = np.asarray(units.geometry.values, dtype=object)
    near = np.flatnonzero(shapely.is_valid(geoms) & shapely.dwithin(geoms, gap, 1.0))
    if len(near) == 0:
        return []
    border = shapely.length(shapely.intersection(geoms[near], shapely.buffer(gap.boundary, 1.0)))
    return [int(i) for i in near[np.argsort(-border)][:limit]]


def _gap_finding(
    level: str,
    parent_level: str | None,
    parent: Any,
    gap: shapely.Geometry,
    crs: pyproj.CRS,
    around: gpd.GeoDataFrame | None = None,
) -> Finding:
    pt = gpd.GeoSeries([gap.representative_point()], crs=crs).to_crs(4326).iloc[0]
    near = _units_around(gap, around) if around is not None else []
    neighbours = [_label(around["code"].iloc[i], around["name"].iloc[i]) for i in near]  # type: ignore[index]
    bordered = f", bordered by {', '.join(neighbours)}" if neighbours else ""
    where = (
        f"inside {parent_level} {_label(parent['code'], parent['name'])}"
        if parent is not None
        else "between them"
    )
    fix = (
        f"Extend a neighbouring {level} over it or add a {level} for it."
        if parent is not None
        else f"Extend a neighbouring {level} over it."
    )
    return Finding(
        rule="hierarchy.gap",
        level=level,
        severity="error",
        code=None if parent is None else parent["code"],
        name=None if parent is None else parent["name"],
        area_m2=float(gap.area),
        value=float(gap.area),
        unit="m2",
        lon=float(pt.x),
        lat=float(pt.y),
        related=tuple(str(around["code"].iloc[i]) for i in near),  # type: ignore[index]
        message=(
            f"A gap of {gap.area:,.0f} m² {where}{bordered} is covered by no {level}. {fix}"
        ),
    )


def _tiled_parents(
    pm: gpd.GeoDataFrame,
    declared: np.ndarray,
    pcodes: np.ndarray,
    shares: pd.DataFrame,
    sibling_pairs: pd.DataFrame,
    tol: float,
) -> np.ndarray:
    """Return which parents their declared children surely cover up to under ``tol`` m².

    The area a parent's children leave uncovered is at most its area, less the
    areas they share with it (from ``shares``), plus the areas the children share
    with each other (``sibling_pairs``, overlaps counted twice). Where that bound
    is under half the tolerance no gap piece can reach it, so the union and
    difference per parent (the slow part of the gap check on a city) are
    skipped; elsewhere they run as before, so the findings are the same.
    """
    n_par = len(pm)
    ch = shares["child"].to_numpy(dtype=np.int64)
    par = shares["parent"].to_numpy(dtype=np.int64)
    own = pcodes[par] == declared[ch] if len(ch) else np.zeros(0, dtype=bool)
    covered = np.bincount(par[own], weights=shares["area_m2"].to_numpy(dtype=float)[own],
                          minlength=n_par)
    a = sibling_pairs["i"].to_numpy(dtype=np.int64)
    b = sibling_pairs["j"].to_numpy(dtype=np.int64)
    same = declared[a] == declared[b]
    overlap_by_code: dict[Any, float] = {}
    for code, area in zip(declared[a[same]].tolist(),
                          sibling_pairs["area_m2"].to_numpy(dtype=float)[same].tolist(),
                          strict=True):
        overlap_by_code[code] = overlap_by_code.get(code, 0.0) + area
    overlap = np.array([overlap_by_code.get(c, 0.0) for c in pcodes.tolist()], dtype=float)
    parea = shapely.area(np.asarray(pm.geometry.values, dtype=object))
    return np.asarray(parea - covered + overlap < tol / 2, dtype=bool)


def check_nesting(
    children: gpd.GeoDataFrame,
    parents: gpd.GeoDataFrame,
    *,
    child_level: str,
    parent_level: str,
    metric_crs: pyproj.CRS,
    sliver_m2: float | None = None,
    straddle_share: float | None = None,
    sibling_pairs: pd.DataFrame | None = None,
) -> list[Finding]:
    """Check that children tile their parents: straddles, outsiders, gaps, wrong parents.

    Parameters
    ----------
    children, parents : geopandas.GeoDataFrame
        Normalised unit layers (EPSG:4326) with ``parent_code`` filled where known.
    sliver_m2, straddle_share : float, optional
        Tolerances; default to :data:`geo.settings.sliver_tolerance_m2` and
        :data:`geo.settings.straddle_min_share`.
    sibling_pairs : pandas.DataFrame, optional
        :func:`~geo.district.topology.interior_pairs` of the children in
        ``metric_crs``, when the caller has them already (the overlap check does).

    Returns
    -------
    list of Finding
    """
    tol = settings.sliver_tolerance_m2 if sliver_m2 is None else sliver_m2
    share_tol = settings.straddle_min_share if straddle_share is None else straddle_share
    findings: list[Finding] = []
    cm = children.to_crs(metric_crs)
    pm = parents.to_crs(metric_crs)
    n = len(cm)
    shares = containment_shares(cm.geometry, pm.geometry)
    child_geom = np.asarray(cm.geometry.values, dtype=object)
    child_area = shapely.area(child_geom)
    valid = shapely.is_valid(child_geom)
    codes = children["code"].to_numpy(dtype=object)
    names = children["name"].to_numpy(dtype=object)
    declared_all = children["parent_code"].to_numpy(dtype=object)
    pcodes = pm["code"].to_numpy(dtype=object)
    plabels = [_label(c, nm) for c, nm in zip(parents["code"], parents["name"], strict=True)]
    plabel_of = dict(zip(pcodes, plabels, strict=True))
    pcode_set = set(pcodes)
    # Everything per child comes from one sorted pass over the shares table (largest share
    # first within each child), so the cost grows with the number of pairs, not n × pairs.
    ch = shares["child"].to_numpy(dtype=np.int64)
    par = shares["parent"].to_numpy(dtype=np.int64)
    area_s = shares["area_m2"].to_numpy(dtype=float)
    share_s = shares["share"].to_numpy(dtype=float)
    order = np.lexsort((-area_s, ch))
    ch, par, area_s, share_s = ch[order], par[order], area_s[order], share_s[order]
    inside = np.bincount(ch, weights=area_s, minlength=n)
    first = np.full(n, -1, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, ch[1:] != ch[:-1]]) if len(ch) else np.zeros(0, int)
    first[ch[starts]] = starts
    real = (share_s >= share_tol) & (area_s >= tol)
    n_real = np.bincount(ch[real], minlength=n)
    outside_m2 = child_area - inside
    lonlat: dict[int, tuple[float | None, float | None]] = {}

    def where(i: int) -> tuple[float | None, float | None]:
        if i not in lonlat:
            lonlat[i] = _rep_point(children.geometry.iloc[i])
        return lonlat[i]

    for i in map(int, np.flatnonzero(valid & (child_area > 0))):
        label = _label(codes[i], names[i])
        if first[i] < 0 or inside[i] < tol:
            lon, lat = where(i)
            findings.append(
                Finding(
                    rule="hierarchy.outside",
                    level=child_level,
                    severity="error",
                    code=codes[i],
                    name=names[i],
                    area_m2=float(child_area[i]),
                    value=float(child_area[i]),
                    unit="m2",
                    lon=lon,
                    lat=lat,
                    message=(
                        f"{child_level} {label} ({child_area[i]:,.0f} m²) lies in no "
                        f"{parent_level}. Extend a {parent_level} over it or remove it."
                    ),
                )
            )
            continue
        k0 = int(first[i])
        main_parent = pcodes[par[k0]]
        main_share = float(share_s[k0])
        if 1 - main_share >= share_tol and (n_real[i] > 1 or outside_m2[i] >= tol):
            ks = []
            k = k0
            while k < len(ch) and ch[k] == i:
                if real[k]:
                    ks.append(k)
                k += 1
            # a sliver in a neighbour is digitising noise, not a share worth naming
            pieces = [f"{plabels[par[k]]} {share_s[k]:.1%}" for k in ks]
            if outside_m2[i] >= tol:
                pieces.append(
                    f"outside every {parent_level} {outside_m2[i] / child_area[i]:.1%}"
                )
            lon, lat = where(i)
            findings.append(
                Finding(
                    rule="hierarchy.straddle",
                    level=child_level,
                    severity="error",
                    code=codes[i],
                    name=names[i],
                    value=1 - main_share,
                    area_m2=float(child_area[i] * (1 - main_share)),
                    unit="share",
                    related=tuple(str(pcodes[par[k]]) for k in ks[1:]),
                    lon=lon,
                    lat=lat,
                    message=(
                        f"{child_level} {label} straddles {len(ks)} {parent_level} unit(s): "
                        + ", ".join(pieces)
                        + f". Move the {parent_level} boundary to follow it, split it, or "
                        "re-run with --link spatial to assign it by largest overlap."
                    ),
                )
            )
        declared = declared_all[i]
        if (
            declared is not None
            and declared in pcode_set
            and declared != main_parent
            and main_share > 0.5
        ):
            lon, lat = where(i)
            findings.append(
                Finding(
                    rule="hierarchy.parent_mismatch",
                    level=child_level,
                    severity="error",
                    code=codes[i],
                    name=names[i],
                    related=(str(declared), str(main_parent)),
                    value=main_share,
                    unit="share",
                    lon=lon,
                    lat=lat,
                    message=(
                        f"{child_level} {label} is listed under "
                        f"{plabel_of.get(declared, declared)} but {main_share:.0%} of it lies "
                        f"in {plabel_of.get(main_parent, main_parent)}. Correct "
                        "its parent code or move the boundary."
                    ),
                )
            )
    # gaps inside each parent and parents with no children
    kids_of: dict[Any, list[int]] = {}
    for i, pc in enumerate(declared_all.tolist()):
        kids_of.setdefault(pc, []).append(i)
    pvalid = shapely.is_valid(np.asarray(pm.geometry.values, dtype=object))
    if sibling_pairs is None:
        sibling_pairs = interior_pairs(cm.geometry)
    tiled = _tiled_parents(pm, declared_all, pcodes, shares, sibling_pairs, tol)
    for j in range(len(pm)):
        if not pvalid[j]:
            continue
        pcode = pcodes[j]
        rows = kids_of.get(pcode)
        if rows and tiled[j]:
            continue  # its children cover it but for less than the tolerance: no gap
        if not rows:
            prow = parents.iloc[j]
            lon, lat = _rep_point(prow.geometry)
            findings.append(
                Finding(
                    rule="hierarchy.childless",
                    level=parent_level,
                    severity="warning",
                    code=prow["code"],
                    name=prow["name"],
                    lon=lon,
                    lat=lat,
                    message=(
                        f"{parent_level} {plabels[j]} has no {child_level} units. Add them or "
                        "check their parent codes."
                    ),
                )
            )
            continue
        gaps = gap_polygons(child_geom[rows], within=pm.geometry.iloc[j], min_area_m2=tol)
        if gaps:
            kids = cm.iloc[rows]
            prow = parents.iloc[j]
            for gap in gaps:
                findings.append(
                    _gap_finding(child_level, parent_level, prow, gap, metric_crs, around=kids)
                )
    return findings


def check_district(
    units: Mapping[str, gpd.GeoDataFrame],
    *,
    metric_crs: pyproj.CRS,
    sliver_m2: float | None = None,
) -> list[Finding]:
    """Run every model check: codes, overlaps, gaps and nesting between levels.

    Returns
    -------
    list of Finding
        Model findings (rule ids ``code.*`` and ``hierarchy.*``).
    """
    tol = settings.sliver_tolerance_m2 if sliver_m2 is None else sliver_m2
    findings: list[Finding] = []
    levels = [lv for lv in LEVELS if lv in units]
    pairs: dict[str, pd.DataFrame] = {}  # units of a level whose interiors meet, found once
    for lv in levels:
        findings.extend(_code_findings(units[lv], lv))
        metric = units[lv].to_crs(metric_crs)
        pairs[lv] = interior_pairs(metric.geometry)
        findings.extend(_overlap_findings(metric, lv, tol, pairs[lv]))
    top = levels[0]
    top_metric = units[top].to_crs(metric_crs)
    for gap in gap_polygons(top_metric.geometry, min_area_m2=tol):
        findings.append(_gap_finding(top, None, None, gap, metric_crs, around=top_metric))
    findings.extend(_code_parent_findings(units))
    for upper, lower in zip(levels, levels[1:], strict=False):
        findings.extend(
            check_nesting(
                units[lower],
                units[upper],
                child_level=lower,
                parent_level=upper,
                metric_crs=metric_crs,
                sliver_m2=tol,
                sibling_pairs=pairs[lower],
            )
        )
    return findings
