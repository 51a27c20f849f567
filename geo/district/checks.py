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
    _labels,
    _rep_point,
)
from geo.district.topology import (
    containment_shares,
    gap_polygons,
    interior_pairs,
    overlap_pairs,
)
from geo.findings import Finding, Phrase, Word, listed, worded
from geo.i18n import N_

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
        n_lacking = int(lacking.sum())
        examples = listed([
            f"{n or '#' + str(i + 1)} → {c}" if c else str(n or f"#{i + 1}")
            for i, n, c in zip(
                np.flatnonzero(lacking)[:5], rows["name"][:5], rows["code"][:5], strict=True
            )
        ], n_lacking - 5)
        findings.append(
            Finding(
                rule="code.missing",
                level=level,
                severity="warning",
                value=float(lacking.sum()),
                unit="units",
                **worded(N_("{n} of {total} {level} unit(s) have no code: {examples}. They "
                            "were given generated codes so that they can be linked, checked, "
                            "planned and exported (marked code_source = generated); replace "
                            "them with the official codes (统计用区划代码) when you have them, "
                            "with --column code=COLUMN if the file holds them under another "
                            "name."),
                         n=n_lacking, total=len(units), level=Word(level), examples=examples),
            )
        )
    dup = codes[codes.notna() & codes.duplicated(keep=False)]
    for code, idx in dup.groupby(dup).groups.items():
        rows = units.loc[idx]
        names = Phrase.joined([str(n) if isinstance(n, str) and n else Word(N_("(unnamed)"))
                               for n in rows["name"]], ", ")
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
                **worded(N_("{n} {level} units share the code {code} ({names}). Codes must be "
                            "unique within a level: give each its own code."),
                         n=len(rows), level=Word(level), code=str(code), names=names),
            )
        )
    valid = codes.dropna()
    digits = valid[valid.str.fullmatch(r"\d+")]
    if level in ("street", "community") and len(valid) and (digits.str.len() == 12).mean() >= 0.5:
        for i in np.flatnonzero(codes.notna().to_numpy()):
            code = codes.iloc[i]
            problem = None
            if not (_DIGITS.match(code) and len(code) == 12):
                problem = Word(N_("is not 12 digits"))
            elif level == "street" and code[9:] != "000":
                problem = Word(N_("should end in 000 at the street level"))
            elif level == "street" and code[6:9] == "000":
                problem = Word(N_("has township digits 000"))
            elif level == "community" and code[9:] == "000":
                problem = Word(N_("has village digits 000"))
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
                        **worded(N_("{level} {unit}: the code {problem}. Statistical division "
                                    "codes have 12 digits: province 2, prefecture 2, county 2, "
                                    "township 3, village 3."),
                                 level=Word(level), unit=_label(code, row["name"]),
                                 problem=problem),
                    )
                )
    return findings


def _code_mismatches(
    children: gpd.GeoDataFrame, child_level: str, parent_level: str = ""
) -> pd.Index:
    """Return the index of children whose code does not extend their parent's code.

    ``parent_level`` is the level the children are linked to: grids of a district
    without communities are linked to their streets. Empty when the data does not
    use nested codes at all (most links disagree).
    """
    linked = children[children["code"].notna() & children["parent_code"].notna()]
    if len(linked) == 0:
        return linked.index
    codes, pcodes = linked["code"].astype(str), linked["parent_code"].astype(str)
    if child_level == "community" or parent_level == "street":
        # statistical codes nest by definition, however many units have moved: a
        # community (12 digits) or a grid under its street (14) starts with the
        # street's nine
        own = r"\d{12}" if child_level == "community" else r"\d{14}"
        stat = codes.str.fullmatch(own) & pcodes.str.fullmatch(r"\d{9}|\d{12}")
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
    grid_parent = "community" if comm is not None else "street"
    grid_bad = (
        grids.loc[_code_mismatches(grids, "grid", grid_parent)] if grids is not None else None
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
            template = (
                N_("community {unit} belongs to street {street}, but its code and its "
                   "{n_grids} grid(s) still carry another street's digits ({digits}). Renumber "
                   "them under their street (wangge export --renumber, or Renumber on the "
                   "Export page) or correct the parent code.")
                if n_grids else
                N_("community {unit} belongs to street {street}, but its code still carry "
                   "another street's digits ({digits}). Renumber them under their street "
                   "(wangge export --renumber, or Renumber on the Export page) or correct the "
                   "parent code.")
            )
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
                    **worded(template, unit=_label(row["code"], row["name"]),
                             street=str(slabel.get(row["parent_code"], row["parent_code"])),
                             n_grids=n_grids, digits=row["code"][:9]),
                )
            )
    if grid_bad is not None and len(grid_bad):
        rest = grid_bad.loc[~grid_bad.index.isin(folded)]
        parents = comm if comm is not None else units.get("street")
        clabel = (
            {c: _label(c, n) for c, n in zip(parents["code"], parents["name"], strict=True)}
            if parents is not None
            else {}
        )
        for parent, group in rest.groupby("parent_code", sort=True):
            lon, lat = _rep_point(group.geometry.iloc[0])
            shown = listed(_labels(group, 3))
            template = (
                N_("{n} grid(s) of community {parent} have codes that do not extend the "
                   "community's code ({shown}{more}). Grid codes follow their community "
                   "(CJ/T 213): renumber them (wangge export --renumber) or correct the parent "
                   "codes.")
                if grid_parent == "community" else
                N_("{n} grid(s) of street {parent} have codes that do not start with the "
                   "street's digits ({digits}: {shown}{more}). Renumber them under their "
                   "street (wangge export --renumber) or correct the parent codes.")
            )
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
                    **worded(template, n=len(group), parent=str(clabel.get(parent, parent)),
                             digits=str(parent)[:9], shown=shown,
                             more=" …" if len(group) > 3 else ""),
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
                **worded(N_("{level} units {unit} and {other} overlap by {area:,.0f} m². Each "
                            "place belongs to exactly one unit: redraw the shared boundary."),
                         level=Word(level), unit=_label(a["code"], a["name"]),
                         other=_label(b["code"], b["name"]), area=float(pair["area_m2"])),
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
    if parent is not None and neighbours:
        template = N_("A gap of {area:,.0f} m² inside {parent_level} {parent}, bordered by "
                      "{neighbours} is covered by no {level}. Extend a neighbouring {level} "
                      "over it or add a {level} for it.")
    elif parent is not None:
        template = N_("A gap of {area:,.0f} m² inside {parent_level} {parent} is covered by no "
                      "{level}. Extend a neighbouring {level} over it or add a {level} for it.")
    elif neighbours:
        template = N_("A gap of {area:,.0f} m² between them, bordered by {neighbours} is "
                      "covered by no {level}. Extend a neighbouring {level} over it.")
    else:
        template = N_("A gap of {area:,.0f} m² between them is covered by no {level}. Extend "
                      "a neighbouring {level} over it.")
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
        **worded(template, area=float(gap.area), level=Word(level),
                 parent_level=Word(parent_level) if parent_level else "",
                 parent="" if parent is None else _label(parent["code"], parent["name"]),
                 neighbours=listed(neighbours)),
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
    nest = _Nest(children, parents, child_level, parent_level, metric_crs)
    shares = containment_shares(nest.cm.geometry, nest.pm.geometry)
    cover = _Cover.of(shares, len(nest.cm), tol=tol, share_tol=share_tol)
    findings: list[Finding] = []
    for i in map(int, np.flatnonzero(nest.valid & (nest.area > 0))):
        if cover.first[i] < 0 or cover.inside[i] < tol:
            findings.append(nest.outside(i))
            continue
        k0 = int(cover.first[i])
        share = float(cover.share[k0])
        outside_m2 = float(nest.area[i] - cover.inside[i])
        if 1 - share >= share_tol and (cover.n_real[i] > 1 or outside_m2 >= tol):
            findings.append(nest.straddle(i, cover.real_pairs(i), share, outside_m2, tol))
        declared = nest.declared[i]
        main_parent = nest.pcodes[cover.parent[k0]]
        if (declared is not None and declared in nest.plabel_of and declared != main_parent
                and share > 0.5):
            findings.append(nest.mismatch(i, declared, main_parent, share))
    if sibling_pairs is None:
        sibling_pairs = interior_pairs(nest.cm.geometry)
    tiled = _tiled_parents(nest.pm, nest.declared, nest.pcodes, shares, sibling_pairs, tol)
    findings.extend(_parent_findings(nest, tiled, tol))
    return findings


class _Nest:
    """One level inside the next, and the findings about one child.

    Both layers in the metric CRS, the children's figures and labels as arrays;
    each finding about a child names and places it the same way.
    """

    def __init__(self, children: gpd.GeoDataFrame, parents: gpd.GeoDataFrame,
                 child_level: str, parent_level: str, metric_crs: pyproj.CRS) -> None:
        self.children, self.parents = children, parents
        self.child_level, self.parent_level = child_level, parent_level
        self.metric_crs = metric_crs
        self.cm = children.to_crs(metric_crs)
        self.pm = parents.to_crs(metric_crs)
        self.geom = np.asarray(self.cm.geometry.values, dtype=object)
        self.area = shapely.area(self.geom)
        self.valid = shapely.is_valid(self.geom)
        self.codes = children["code"].to_numpy(dtype=object)
        self.names = children["name"].to_numpy(dtype=object)
        self.declared = children["parent_code"].to_numpy(dtype=object)
        self.pcodes = self.pm["code"].to_numpy(dtype=object)
        self.plabels = [_label(c, nm)
                        for c, nm in zip(parents["code"], parents["name"], strict=True)]
        self.plabel_of = dict(zip(self.pcodes, self.plabels, strict=True))
        self._lonlat: dict[int, tuple[float | None, float | None]] = {}

    def where(self, i: int) -> tuple[float | None, float | None]:
        """Return a point inside child ``i`` (longitude, latitude), computed once."""
        if i not in self._lonlat:
            self._lonlat[i] = _rep_point(self.children.geometry.iloc[i])
        return self._lonlat[i]

    def _about(self, i: int) -> dict[str, Any]:
        """Return the fields every finding about child ``i`` shares: level, unit, place."""
        lon, lat = self.where(i)
        return {"level": self.child_level, "severity": "error", "code": self.codes[i],
                "name": self.names[i], "lon": lon, "lat": lat}

    def label(self, i: int) -> str:
        return _label(self.codes[i], self.names[i])

    def outside(self, i: int) -> Finding:
        area = float(self.area[i])
        return Finding(
            rule="hierarchy.outside", **self._about(i), area_m2=area, value=area, unit="m2",
            **worded(N_("{level} {unit} ({area:,.0f} m²) lies in no {parent_level}. Extend a "
                        "{parent_level} over it or remove it."),
                     level=Word(self.child_level), unit=self.label(i), area=area,
                     parent_level=Word(self.parent_level)),
        )

    def straddle(self, i: int, pairs: list[tuple[int, float]], main_share: float,
                 outside_m2: float, tol: float) -> Finding:
        # a sliver in a neighbour is digitising noise, not a share worth naming
        shares = listed([f"{self.plabels[j]} {share:.1%}" for j, share in pairs])
        template = (
            N_("{level} {unit} straddles {n} {parent_level} unit(s): {shares}{sep}outside "
               "every {parent_level} {outside:.1%}. Move the {parent_level} boundary to follow "
               "it, split it, or re-run with --link spatial to assign it by largest overlap.")
            if outside_m2 >= tol else
            N_("{level} {unit} straddles {n} {parent_level} unit(s): {shares}. Move the "
               "{parent_level} boundary to follow it, split it, or re-run with --link spatial "
               "to assign it by largest overlap.")
        )
        return Finding(
            rule="hierarchy.straddle", **self._about(i), value=1 - main_share,
            area_m2=float(self.area[i] * (1 - main_share)), unit="share",
            related=tuple(str(self.pcodes[j]) for j, _ in pairs[1:]),
            **worded(template, level=Word(self.child_level), unit=self.label(i), n=len(pairs),
                     parent_level=Word(self.parent_level), shares=shares,
                     sep=", " if pairs else "", outside=float(outside_m2 / self.area[i])),
        )

    def mismatch(self, i: int, declared: Any, main_parent: Any, share: float) -> Finding:
        return Finding(
            rule="hierarchy.parent_mismatch", **self._about(i),
            related=(str(declared), str(main_parent)), value=share, unit="share",
            **worded(N_("{level} {unit} is listed under {declared} but {share:.0%} of it lies "
                        "in {actual}. Correct its parent code or move the boundary."),
                     level=Word(self.child_level), unit=self.label(i),
                     declared=str(self.plabel_of.get(declared, declared)), share=share,
                     actual=str(self.plabel_of.get(main_parent, main_parent))),
        )


class _Cover:
    """The containment shares sorted by child, largest share first within each child.

    Everything per child comes from this one sorted pass, so the cost grows with
    the number of pairs, not children × pairs.
    """

    def __init__(self, child: np.ndarray, parent: np.ndarray, area: np.ndarray,
                 share: np.ndarray, n: int, real: np.ndarray) -> None:
        self.child, self.parent, self.share, self.real = child, parent, share, real
        self.inside = np.bincount(child, weights=area, minlength=n)
        self.first = np.full(n, -1, dtype=np.int64)
        starts = (np.flatnonzero(np.r_[True, child[1:] != child[:-1]]) if len(child)
                  else np.zeros(0, int))
        self.first[child[starts]] = starts
        self.n_real = np.bincount(child[real], minlength=n)

    @classmethod
    def of(cls, shares: pd.DataFrame, n: int, *, tol: float, share_tol: float) -> _Cover:
        ch = shares["child"].to_numpy(dtype=np.int64)
        par = shares["parent"].to_numpy(dtype=np.int64)
        area = shares["area_m2"].to_numpy(dtype=float)
        share = shares["share"].to_numpy(dtype=float)
        order = np.lexsort((-area, ch))
        ch, par, area, share = ch[order], par[order], area[order], share[order]
        return cls(ch, par, area, share, n, (share >= share_tol) & (area >= tol))

    def real_pairs(self, i: int) -> list[tuple[int, float]]:
        """Return the parents child ``i`` really shares (not a sliver), largest share first."""
        out = []
        k = int(self.first[i])
        while k < len(self.child) and self.child[k] == i:
            if self.real[k]:
                out.append((int(self.parent[k]), float(self.share[k])))
            k += 1
        return out


def _parent_findings(nest: _Nest, tiled: np.ndarray, tol: float) -> list[Finding]:
    """Gaps inside each parent its children leave uncovered, and parents with no children."""
    findings: list[Finding] = []
    kids_of: dict[Any, list[int]] = {}
    for i, pc in enumerate(nest.declared.tolist()):
        kids_of.setdefault(pc, []).append(i)
    pvalid = shapely.is_valid(np.asarray(nest.pm.geometry.values, dtype=object))
    for j in np.flatnonzero(pvalid).tolist():
        rows = kids_of.get(nest.pcodes[j])
        if rows and tiled[j]:
            continue  # its children cover it but for less than the tolerance: no gap
        prow = nest.parents.iloc[j]
        if not rows:
            lon, lat = _rep_point(prow.geometry)
            findings.append(Finding(
                rule="hierarchy.childless", level=nest.parent_level, severity="warning",
                code=prow["code"], name=prow["name"], lon=lon, lat=lat,
                **worded(N_("{level} {unit} has no {child_level} units. Add them or check their "
                            "parent codes."),
                         level=Word(nest.parent_level), unit=nest.plabels[j],
                         child_level=Word(nest.child_level)),
            ))
            continue
        gaps = gap_polygons(nest.geom[rows], within=nest.pm.geometry.iloc[j], min_area_m2=tol)
        kids = nest.cm.iloc[rows]
        findings.extend(_gap_finding(nest.child_level, nest.parent_level, prow, gap,
                                     nest.metric_crs, around=kids) for gap in gaps)
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
