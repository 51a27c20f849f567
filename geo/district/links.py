"""Parent links: which street each community is in, which community each grid.

By a parent column, by code prefix, by the parent's *name*, else by the largest
overlap; an assignment file (``--assign``) overrides; uncoded units get stable
generated codes (:func:`fill_codes`).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from geo import LEVELS
from geo.district.codes import (
    generate_child_codes,
    generate_street_codes,
    normalise_code,
)
from geo.district.model import (
    _DIGITS,
    _label,
    _labels,
    _rep_point,
    kind_from_code,
)
from geo.district.topology import containment_shares
from geo.errors import ColumnError, InputError
from geo.findings import Finding, Word, listed, worded
from geo.i18n import N_

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------- parent links


def _links_by_code(children: gpd.GeoDataFrame, parents: gpd.GeoDataFrame) -> pd.Series:
    """Return each child's parent code implied by code prefixes (or None)."""
    pcodes = {c for c in parents["code"] if c}
    out = []
    for code in children["code"]:
        hit = None
        if code and _DIGITS.match(code):
            if len(code) == 12:  # community under street: township digits + "000"
                cand = code[:9] + "000"
                hit = cand if cand in pcodes else None
            if hit is None:
                for n in (12, 9, len(code) - 2, len(code) - 3):
                    if 0 < n < len(code) and code[:n] in pcodes:
                        hit = code[:n]
                        break
        out.append(hit)
    return pd.Series(out, index=children.index, dtype=object)


def link_parents(
    children: gpd.GeoDataFrame,
    parents: gpd.GeoDataFrame,
    *,
    child_level: str,
    parent_level: str,
    metric_crs: pyproj.CRS,
    link: str = "auto",
) -> tuple[gpd.GeoDataFrame, list[Finding], list[str]]:
    """Fill ``parent_code`` of ``children`` from a column, code prefixes or space.

    Parameters
    ----------
    link : {"auto", "column", "code", "spatial"}
        ``auto`` uses the parent column where filled, else code prefixes, and
        reports units still unlinked. ``spatial`` assigns every child to the
        parent it overlaps most (reported, as it is a repair).

    Returns
    -------
    (children with parent_code, findings, notes)
    """
    if link not in ("auto", "column", "code", "spatial"):
        raise InputError.worded(N_("link must be auto, column, code or spatial, not {link}."),
                                link=repr(link))
    out = children.copy()
    findings: list[Finding] = []
    notes: list[str] = []
    given = out["parent_code"].notna()
    if link == "spatial":
        spatial = _spatial_parents(out, parents, metric_crs)
        changed = int((spatial.notna() & (spatial != out["parent_code"])).sum())
        out["parent_code"] = spatial
        notes.append(
            f"{child_level}: parents assigned by largest overlap ({changed} changed), as asked."
        )
        return out, findings, notes
    if link in ("auto", "code"):
        by_code = _links_by_code(out, parents)
        fill = ~given & by_code.notna() if link == "auto" else by_code.notna()
        if fill.any():
            out.loc[fill, "parent_code"] = by_code[fill]
            notes.append(
                f"{child_level}: {int(fill.sum())} parent link(s) taken from code prefixes."
            )
    pcodes = set(parents["code"].dropna())
    by_name = _parent_codes_by_name(parents)
    named = out["parent_code"].notna() & ~out["parent_code"].isin(pcodes)
    named &= out["parent_code"].map(lambda v: _name_key(v) in by_name)
    if named.any():
        out.loc[named, "parent_code"] = out.loc[named, "parent_code"].map(
            lambda v: by_name[_name_key(v)]
        )
        notes.append(
            f"{child_level}: {int(named.sum())} parent link(s) given by the {parent_level}'s "
            "name rather than its code; matched by name."
        )
    if link == "auto":
        # a parent given by a name that matches no single parent (a variant spelling, two
        # parents of one name) is not an unknown code: fall back to the largest overlap
        unresolved = out["parent_code"].notna() & ~out["parent_code"].isin(pcodes)
        unresolved &= ~out["parent_code"].astype(str).str.fullmatch(r"[0-9A-Za-z_.-]+")
        if unresolved.any():
            shown = ", ".join(dict.fromkeys(out.loc[unresolved, "parent_code"].astype(str)))
            notes.append(
                f"{child_level}: {int(unresolved.sum())} parent name(s) match no single "
                f"{parent_level} ({shown[:200]}); those units were linked by largest overlap."
            )
            out.loc[unresolved, "parent_code"] = None
        unlinked = out["parent_code"].isna()
        if unlinked.any():
            spatial = _spatial_parents(out[unlinked], parents, metric_crs)
            found = spatial.notna()
            if found.any():
                out.loc[spatial.index[found], "parent_code"] = spatial[found]
                notes.append(
                    f"{child_level}: {int(found.sum())} unit(s) have no parent code and none "
                    f"follows from their codes, so each was linked to the {parent_level} it "
                    "overlaps most (check the straddle findings; give a parent code column "
                    "with --column parent_code=COLUMN to set links yourself)."
                )
    unknown = out["parent_code"].notna() & ~out["parent_code"].isin(pcodes)
    for i in np.flatnonzero(unknown.to_numpy()):
        row = out.iloc[i]
        lon, lat = _rep_point(row.geometry)
        findings.append(
            Finding(
                rule="hierarchy.unknown_parent",
                level=child_level,
                severity="error",
                code=row["code"],
                name=row["name"],
                related=(str(row["parent_code"]),),
                lon=lon,
                lat=lat,
                **worded(N_("{level} {unit} names parent {parent}, which is not a {parent_level} "
                            "in the data. Correct the parent code, add the missing "
                            "{parent_level}, or re-run with --link spatial to link by location."),
                         level=Word(child_level), unit=_label(row["code"], row["name"]),
                         parent=str(row["parent_code"]), parent_level=Word(parent_level)),
            )
        )
    missing = out["parent_code"].isna()
    if missing.any():
        n_missing = int(missing.sum())
        findings.append(
            Finding(
                rule="hierarchy.unlinked",
                level=child_level,
                severity="warning",
                value=float(missing.sum()),
                unit="units",
                **worded(
                    N_("{n} {level} unit(s) have no parent {parent_level} code and none follows "
                       "from their codes: {units}. Add a parent code column (--column "
                       "parent_code=COLUMN) or re-run with --link spatial to link each to the "
                       "parent it overlaps most."),
                    n=n_missing, level=Word(child_level), parent_level=Word(parent_level),
                    units=listed(_labels(out.loc[missing], 5), n_missing - 5)),
            )
        )
    return out, findings, notes


_NAME_TAILS = (
    ("街道办事处", "街道"),
    ("办事处", ""),
    ("社区居民委员会", "社区"),
    ("社区居委会", "社区"),
    ("居民委员会", "社区"),
    ("村民委员会", "村"),
    ("村委会", "村"),
)
"""Official-body endings and the everyday name they shorten to."""


def _name_key(value: Any) -> str:
    """Return a name as matched across files: without spaces and office suffixes.

    ``宁远新区街道办事处`` and ``宁远新区街道`` name the same street office.
    """
    text = re.sub(r"\s+", "", str(value))
    for tail, short in _NAME_TAILS:
        if text.endswith(tail) and len(text) > len(tail):
            return text[: -len(tail)] + short
    return text


def _parent_codes_by_name(parents: gpd.GeoDataFrame) -> dict[str, str]:
    """Return ``name key -> code`` for parents whose name is unique (a column may hold names)."""
    named = parents[parents["name"].notna() & parents["code"].notna()]
    keys = named["name"].map(_name_key)
    counts = keys.value_counts()
    unique = keys.map(counts) == 1
    return dict(zip(keys[unique], named.loc[unique, "code"].astype(str), strict=True))


def _spatial_parents(
    children: gpd.GeoDataFrame, parents: gpd.GeoDataFrame, metric_crs: pyproj.CRS
) -> pd.Series:
    shares = containment_shares(
        children.to_crs(metric_crs).geometry, parents.to_crs(metric_crs).geometry
    )
    out = pd.Series([None] * len(children), index=children.index, dtype=object)
    if len(shares):
        best = shares.sort_values("area_m2", ascending=False).drop_duplicates("child")
        values = out.to_numpy(copy=True)
        values[best["child"].to_numpy()] = parents["code"].to_numpy()[best["parent"].to_numpy()]
        out = pd.Series(values, index=children.index, dtype=object)
    return out


def apply_assignment(
    units: dict[str, gpd.GeoDataFrame], table: pd.DataFrame
) -> tuple[dict[str, gpd.GeoDataFrame], list[str], list[Finding]]:
    """Apply a unit → parent table (the CSV export's form) to a district's units.

    Parameters
    ----------
    units : dict
        ``level -> GeoDataFrame`` with ``code`` and ``parent_code``.
    table : pandas.DataFrame
        Columns ``code`` and ``parent_code``, and ``level`` where codes repeat
        across levels.

    Returns
    -------
    (new units, notes, findings)
        Findings name the table's codes that match no unit
        (``assign.unknown_code``) and parents that are not units of the level
        above (``assign.unknown_parent``, not applied).

    Raises
    ------
    ColumnError
        If the table lacks its columns or none of its codes is in the district.
    """
    missing = {"code", "parent_code"} - set(table.columns)
    if missing:
        raise ColumnError.worded(
            N_("The assignment table lacks {missing}. It needs the columns code and parent_code "
               "(and level), as written by `wangge export --format csv`."),
            missing=", ".join(sorted(missing)),
        )
    table = table.copy()
    table["code"] = table["code"].map(normalise_code)
    table["parent_code"] = table["parent_code"].map(normalise_code)
    table = table[table["code"].notna()]
    levels = [lv for lv in LEVELS if lv in units]
    out = {}
    notes: list[str] = []
    findings: list[Finding] = []
    matched: set[str] = set()
    for depth, lv in enumerate(levels):
        frame = units[lv]
        part = table[table["level"] == lv] if "level" in table.columns else table
        part = part[part["code"].isin(set(frame["code"].dropna()))]
        matched.update(part["code"])
        new = frame.copy()
        if depth == 0 or len(part) == 0:
            out[lv] = new
            continue
        parents = set(units[levels[depth - 1]]["code"].dropna())
        bad = part[part["parent_code"].notna() & ~part["parent_code"].isin(parents)]
        if len(bad):
            shown = ", ".join(f"{c} → {p}" for c, p in zip(bad["code"][:5], bad["parent_code"][:5],
                                                          strict=True))
            findings.append(
                Finding(
                    rule="assign.unknown_parent",
                    level=lv,
                    severity="error",
                    value=float(len(bad)),
                    unit="rows",
                    related=tuple(bad["parent_code"].astype(str).unique()[:20]),
                    **worded(N_("{n} row(s) of the assignment table give a {parent_level} that "
                                "is not in the district ({shown}{more}); those rows were not "
                                "applied. Correct the parent codes in the table."),
                             n=len(bad), parent_level=Word(levels[depth - 1]), shown=shown,
                             more=" …" if len(bad) > 5 else ""),
                )
            )
        part = part[~part.index.isin(bad.index)]
        mapping = dict(zip(part["code"], part["parent_code"], strict=True))
        hit = new["code"].isin(mapping.keys())
        changed = hit & (new["code"].map(mapping) != new["parent_code"])
        new.loc[hit, "parent_code"] = new.loc[hit, "code"].map(mapping)
        out[lv] = new
        if changed.any():
            notes.append(
                f"{lv}: {int(changed.sum())} parent link(s) taken from the assignment table."
            )
    unknown = table[~table["code"].isin(matched)]
    if len(table) and len(unknown) == len(table):
        raise ColumnError.worded(
            N_("None of the {n} codes in the assignment table is a unit of this district (e.g. "
               "{examples}). Check that the table belongs to this district: its code column must "
               "hold the units' codes as `wangge export --format csv` writes them."),
            n=len(table), examples=", ".join(table["code"].astype(str)[:3]),
        )
    if len(unknown):
        findings.append(
            Finding(
                rule="assign.unknown_code",
                level="district",
                severity="warning",
                value=float(len(unknown)),
                unit="rows",
                **worded(N_("{n} row(s) of the assignment table name codes that are not in the "
                            "district ({codes}{more}); they were ignored. Remove them or correct "
                            "the codes."),
                         n=len(unknown), codes=", ".join(unknown["code"].astype(str)[:5]),
                         more=" …" if len(unknown) > 5 else ""),
            )
        )
    return out, notes, findings


def fill_codes(
    units: gpd.GeoDataFrame, level: str, *, taken: set[str]
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Give units without a code a stable generated one (see :mod:`geo.district.codes`).

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        One level's normalised units, parents already linked.
    level : str
        Their level.
    taken : set of str
        Codes already used at any level; generated codes are added to it.

    Returns
    -------
    (units with every code filled and ``code_source`` marked, notes)
    """
    taken.update(c for c in units["code"] if c)
    missing = units["code"].isna()
    if not missing.any():
        return units, []
    out = units.copy()
    if level == "street":
        codes, spilled = generate_street_codes(out)
    else:
        codes, spilled = generate_child_codes(out, level, taken), 0
    out["code"] = pd.Series(codes, index=out.index, dtype=object)
    out.loc[missing, "code_source"] = "generated"
    out.loc[missing, "kind"] = [
        kind_from_code(level, c) or k
        for c, k in zip(out.loc[missing, "code"], out.loc[missing, "kind"], strict=True)
    ]
    taken.update(out["code"])
    pattern = {
        "street": "county + township digits + 000",
        "community": "its street's first 9 digits + village digits",
        "grid": "its community's code + a 2-digit sequence",
    }[level]
    note = (
        f"{level}: {int(missing.sum())} unit(s) had no code and were given generated codes "
        f"({pattern}; the same on every run for the same input; column code_source = "
        "generated)."
    )
    if spilled:
        note += f" {spilled} street code(s) use township digits 400–999 (the kind's range ran out)."
    return out, [note]
