"""The street → community → grid model: levels, codes, parent links, nesting checks.

A :class:`District` holds up to three levels of units (街道 street, 社区
community, 网格 grid), each a GeoDataFrame in WGS-84 with the columns

``code``, ``name``, ``parent_code``, ``kind``, ``population``,
``households``, ``population_source``, ``households_source``, ``area_km2``.

Any level may be missing. ``kind`` tells street offices (``street``, 街道)
from towns (``town``, 镇) and townships (``township``, 乡) at the street
level, and residents' committees (``community``, 居委会) from villages
(``village``, 村委会) at the community level; a grid's kind follows its
community's (``village_grid`` under a village, ``grid`` otherwise). Rulebooks
apply rules by kind.

Statistical division codes (统计用区划代码) have 12 digits: province 2 +
prefecture 2 + county 2 + township 3 + village 3. Township digits 001–099
are street offices, 100–199 towns, 200–399 townships; village digits
001–199 are residents' committees and 200–399 villages. Grid codes extend
their community's code.

Checks report problems as :class:`~geo.findings.Finding` records with their
places and sizes; nothing is repaired unless asked.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
import shapely.ops

from geo import LEVELS, settings
from geo.codes import (
    generate_child_codes,
    generate_street_codes,
    normalise_code,
    refuse_mangled,
)
from geo.crs import metric_crs_for
from geo.errors import ColumnError, InputError, LevelError
from geo.findings import Finding
from geo.io import Layer, read_layers, require_polygons
from geo.layers import admin_level_of, sort_layers
from geo.topology import containment_shares, gap_polygons, overlap_pairs

logger = logging.getLogger(__name__)

FIELDS = ("code", "name", "parent_code", "population", "households")
"""The attributes a unit layer is mapped to."""

COLUMN_GUESSES: dict[str, tuple[str, ...]] = {
    "code": (
        "code",
        "编码",
        "代码",
        "编号",
        "adcode",
        "区划代码",
        "统计用区划代码",
        "gbcode",
        "dm",
        "bm",
        "jdbm",
        "sqbm",
        "wgbm",
        "街道编码",
        "街道代码",
        "社区编码",
        "社区代码",
        "网格编码",
        "网格代码",
        "网格编号",
        "unit_code",
        "id_code",
    ),
    "name": (
        "name",
        "名称",
        "名字",
        "mc",
        "jdmc",
        "sqmc",
        "wgmc",
        "街道名称",
        "街道",
        "社区名称",
        "社区",
        "网格名称",
        "网格",
        "name_zh",
        "name_cn",
        "unit_name",
    ),
    "parent_code": (
        "parent_code",
        "parent",
        "pcode",
        "parent_id",
        "上级编码",
        "上级代码",
        "所属编码",
        "所属街道编码",
        "所属街道代码",
        "所属社区编码",
        "所属社区代码",
        "street_code",
        "community_code",
        "sjbm",
    ),
    "population": (
        "population",
        "pop",
        "pop_total",
        "residents",
        "人口",
        "常住人口",
        "人口数",
        "总人口",
        "rk",
        "rks",
        "czrk",
    ),
    "households": ("households", "hh", "户数", "住户数", "总户数", "户", "hs", "zhs"),
}
"""Column names recognised for each field (case-insensitive), most likely first."""

LEVEL_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "street": {
        "code": ("街道编码", "街道代码", "乡镇编码", "乡镇代码", "jdbm", "jddm"),
        "name": ("街道名称", "街道", "乡镇名称", "乡镇", "街道办事处", "jdmc", "所属街道"),
    },
    "community": {
        "code": ("社区编码", "社区代码", "村居编码", "sqbm", "sqdm"),
        "name": ("社区名称", "社区", "村居名称", "居委会", "村委会", "sqmc", "所属社区"),
    },
    "grid": {
        "code": ("网格编码", "网格代码", "网格编号", "wgbm", "wgdm"),
        "name": ("网格名称", "网格", "wgmc"),
    },
}
"""Column names that belong to one level: a community layer's 街道名称 names its street."""

LEVEL_WORDS: dict[str, tuple[str, ...]] = {
    "street": (
        "street",
        "streets",
        "jiedao",
        "jd",
        "subdistrict",
        "township",
        "街道",
        "乡镇",
        "镇街",
    ),
    "community": ("community", "communities", "shequ", "sq", "居委", "社区", "村居", "village"),
    "grid": ("grid", "grids", "wangge", "wg", "网格"),
}

NAME_SUFFIXES: dict[str, tuple[tuple[str, str], ...]] = {
    "street": (("街道办事处", "street"), ("街道", "street"), ("镇", "town"), ("乡", "township")),
    "community": (
        ("居民委员会", "community"),
        ("居委会", "community"),
        ("社区", "community"),
        ("村民委员会", "village"),
        ("村委会", "village"),
        ("村", "village"),
    ),
    "grid": (("网格", "grid"),),
}
"""Name endings that tell a unit's level and kind."""

STREET_KINDS = ("street", "town", "township")
COMMUNITY_KINDS = ("community", "village")

_DIGITS = re.compile(r"^\d+$")


# ------------------------------------------------------------------------ the model


@dataclass
class District:
    """Up to three levels of units, checked and ready for rules and plans.

    Attributes
    ----------
    units : dict
        ``level -> GeoDataFrame`` (EPSG:4326) for the levels present, coarsest first.
    metric_crs : pyproj.CRS
        The projected CRS used for areas and distances.
    findings : list of Finding
        What loading and the model checks found.
    notes : list of str
        What was guessed while reading (levels, columns, encodings, CRS).
    sources : dict
        ``level -> where it came from``.
    household_size : float
        Persons per household used to derive missing figures.
    """

    units: dict[str, gpd.GeoDataFrame]
    metric_crs: pyproj.CRS
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    household_size: float = settings.household_size

    @property
    def levels(self) -> list[str]:
        """The levels present, coarsest first."""
        return [lv for lv in LEVELS if lv in self.units]

    @property
    def building_block(self) -> str:
        """The finest level present: coarser shapes are unions of its units."""
        return self.levels[-1]

    def metric(self, level: str) -> gpd.GeoDataFrame:
        """Return a level's units projected to :attr:`metric_crs`."""
        return self.units[level].to_crs(self.metric_crs)


# ------------------------------------------------------------------ levels and kinds


def kind_from_code(level: str, code: str | None) -> str | None:
    """Return the kind a 12-digit statistical code implies, or ``None``.

    Examples
    --------
    >>> kind_from_code("street", "370202001000")
    'street'
    >>> kind_from_code("street", "370214101000")
    'town'
    >>> kind_from_code("community", "370214101201")
    'village'
    >>> kind_from_code("street", "370202001")
    'street'
    """
    if not isinstance(code, str) or not _DIGITS.match(code) or len(code) not in (9, 12):
        return None
    if len(code) == 9:  # a township code (GB/T 10114): street level only
        code = code + "000"
        if level != "street":
            return None
    township, village = int(code[6:9]), int(code[9:12])
    if level == "street":
        if 1 <= township <= 99:
            return "street"
        if 100 <= township <= 199:
            return "town"
        if 200 <= township <= 399:
            return "township"
    elif level == "community":
        if 1 <= village <= 199:
            return "community"
        if 200 <= village <= 399:
            return "village"
    return None


def kind_from_name(level: str, name: str | None) -> str | None:
    """Return the kind a unit's name ending implies (街道/镇/乡, 社区/村 ...), or ``None``."""
    if not isinstance(name, str) or not name:
        return None
    for suffix, kind in NAME_SUFFIXES.get(level, ()):
        if name.endswith(suffix):
            return kind
    return None


def _level_from_codes(codes: pd.Series) -> tuple[str | None, float]:
    codes = codes.dropna().astype(str)
    codes = codes[codes.str.fullmatch(r"\d+")]
    if len(codes) == 0:
        return None, 0.0
    lengths = codes.str.len()
    twelve = codes[lengths == 12]
    votes = {
        "street": int((twelve.str[-3:] == "000").sum()) + int((lengths == 9).sum()),
        "community": int((twelve.str[-3:] != "000").sum()),
        "grid": int(((lengths >= 13) & (lengths <= 16)).sum()),
    }
    best = max(votes, key=lambda k: votes[k])
    return (best, votes[best] / len(codes)) if votes[best] else (None, 0.0)


def _level_from_label(label: str) -> str | None:
    text = label.lower()
    hits = [
        lv
        for lv, words in LEVEL_WORDS.items()
        if any(
            re.search(rf"(^|[^a-z]){re.escape(w)}($|[^a-z])", text) if w.isascii() else w in text
            for w in words
        )
    ]
    return hits[0] if len(hits) == 1 else None


def _candidates(fld: str, level: str | None) -> tuple[str, ...]:
    """Column names to try for a field, knowing the layer's level when it is known.

    A community layer often carries both 社区名称 (its own name) and 街道名称 (its
    street's): its own level's columns come first, other levels' are not its
    name or code, and the level above's code or name columns hold its parent.
    """
    generic = COLUMN_GUESSES[fld]
    if level is None:
        return generic
    own = LEVEL_COLUMNS[level]
    others = {c for lv, cols in LEVEL_COLUMNS.items() if lv != level for c in
              (*cols["code"], *cols["name"])}
    if fld in ("code", "name"):
        return (*own[fld], *(c for c in generic if c not in others))
    if fld == "parent_code":
        idx = LEVELS.index(level)
        if idx == 0:
            return ()
        parent = LEVEL_COLUMNS[LEVELS[idx - 1]]
        return (*(c for c in generic if c not in own["code"]), *parent["code"], *parent["name"])
    return generic


def guess_columns(
    columns: Sequence[str],
    *,
    overrides: Mapping[str, str] | None = None,
    level: str | None = None,
) -> dict[str, str]:
    """Map a layer's columns to the fields in :data:`FIELDS`.

    Parameters
    ----------
    columns : sequence of str
        The layer's column names.
    overrides : mapping, optional
        ``field -> column`` chosen by the user; these win over guesses.
    level : str, optional
        The layer's level, when known: its own level's columns are preferred
        and the level above's name the parent (see :data:`LEVEL_COLUMNS`).

    Returns
    -------
    dict
        ``field -> column`` for each field found.

    Raises
    ------
    ColumnError
        If an override names a column the layer does not have.
    """
    overrides = dict(overrides or {})
    found: dict[str, str] = {}
    lowered = {str(c).strip().lower(): str(c) for c in columns if c != "geometry"}
    for fld, col in overrides.items():
        if fld not in FIELDS:
            raise ColumnError(
                f"Unknown field {fld!r} in the column mapping; fields are {', '.join(FIELDS)}."
            )
        if col not in columns:
            raise ColumnError(
                f"Column {col!r} (given for {fld}) is not in the layer; its columns are "
                f"{', '.join(str(c) for c in columns if c != 'geometry')}."
            )
        found[fld] = col
    used = set(found.values())
    for fld in FIELDS:
        if fld in found:
            continue
        for cand in _candidates(fld, level):
            hit = lowered.get(cand)
            if hit is not None and hit not in used:
                found[fld] = hit
                used.add(hit)
                break
    return found


def guess_level(
    layer: Layer, *, columns: Mapping[str, str] | None = None
) -> tuple[str | None, str]:
    """Guess a layer's level from its codes, its names' endings, then its name.

    Returns
    -------
    (level or None, reason)
    """
    mapping = guess_columns(list(layer.frame.columns), overrides=columns)
    if "code" in mapping:
        codes = layer.frame[mapping["code"]].map(normalise_code)
        lv, share = _level_from_codes(codes)
        if lv and share >= settings.level_guess_min_share:
            return lv, f"{share:.0%} of its codes look like {lv} codes"
    # columns: a layer naming units of two levels (社区名称 and 街道名称) holds the finer
    # one, the coarser being its parents'
    lowered = {str(c).strip().lower() for c in layer.frame.columns}
    named = [
        lv
        for lv in LEVELS
        if any(c in lowered for c in (*LEVEL_COLUMNS[lv]["name"], *LEVEL_COLUMNS[lv]["code"]))
    ]
    if len(named) >= 2:
        return named[-1], f"its columns name {named[-1]} units and their {named[-2]}"
    # names: read each level's own name column (a community layer's 街道名称 names its
    # street, not itself), and keep the level whose names end most like that level's
    best: tuple[float, str | None] = (0.0, None)
    for cand in reversed(LEVELS):  # on a tie the finest wins: coarser names are its parents
        own = guess_columns(list(layer.frame.columns), overrides=columns, level=cand)
        if "name" not in own:
            continue
        names = layer.frame[own["name"]].dropna().astype(str)
        if len(names):
            share = float(np.mean([kind_from_name(cand, n) is not None for n in names]))
            best = max(best, (share, cand), key=lambda b: b[0])
    if best[1] and best[0] >= settings.level_guess_min_share:
        return best[1], f"{best[0]:.0%} of its names end like {best[1]} names"
    lv = _level_from_label(layer.name)
    if lv:
        return lv, f"its name {layer.name!r}"
    return None, ""


def assign_levels(
    layers: Sequence[Layer],
    *,
    level: str | None = None,
    layer_levels: Mapping[str, str] | None = None,
    columns: Mapping[str, str] | None = None,
) -> tuple[dict[str, Layer], list[str]]:
    """Decide which layer holds which level.

    Parameters
    ----------
    layers : sequence of Layer
        What :func:`geo.io.read_layers` returned.
    level : str, optional
        The level of a single layer (``--level``).
    layer_levels : mapping, optional
        ``layer name -> level`` chosen by the user (``--layer NAME=LEVEL``).
    columns : mapping, optional
        ``field -> column`` overrides, used when guessing from codes and names.

    Returns
    -------
    (dict level -> Layer, notes)

    Raises
    ------
    LevelError
        If a level cannot be told or two layers claim the same level.
    """
    layer_levels = dict(layer_levels or {})
    for lv in [level, *layer_levels.values()]:
        if lv is not None and lv not in LEVELS:
            raise LevelError(f"Unknown level {lv!r}; choose one of {', '.join(LEVELS)}.")
    if level is not None:
        if len(layers) != 1:
            names = ", ".join(lay.name for lay in layers)
            raise LevelError(
                f"--level applies to a single layer, but {len(layers)} were found ({names}). "
                "Map each with --layer NAME=LEVEL instead."
            )
        return {level: layers[0]}, [f"{layers[0].source}: level {level} (given)."]
    chosen: dict[str, Layer] = {}
    notes: list[str] = []
    unknown: list[str] = []
    if not layer_levels:
        layers, notes = sort_layers(layers)
    for lay in layers:
        lv = layer_levels.get(lay.name) or layer_levels.get(lay.source)
        reason = "given"
        if lv is None:
            if layer_levels:
                notes.append(f"{lay.source}: not mapped to a level; left out.")
                continue
            lv, reason = admin_level_of(lay), "its admin_level"
            if lv is None:
                lv, reason = guess_level(lay, columns=columns)
        if lv is None:
            unknown.append(lay.source)
            continue
        if lv in chosen:
            free = [x for x in LEVELS if x not in chosen] or ["grid"]
            near = min(free, key=lambda x: (abs(LEVELS.index(x) - LEVELS.index(lv)),
                                            -LEVELS.index(x)))
            raise LevelError(
                f"Both {chosen[lv].source} and {lay.source} look like {lv} layers. Say which "
                f"is which with --layer NAME=LEVEL (e.g. --layer {lay.name}={near})."
            )
        chosen[lv] = lay
        notes.append(f"{lay.source}: read as the {lv} level ({reason}).")
    if unknown:
        raise LevelError(
            f"Could not tell the level of {', '.join(unknown)}: its codes, names and file "
            "name do not say whether it holds streets, communities or grids. Set it with "
            "--level street|community|grid (one layer) or --layer NAME=LEVEL."
        )
    if not chosen:
        raise LevelError("No layer was mapped to a level. Use --layer NAME=LEVEL.")
    return chosen, notes


# ----------------------------------------------------------------- normalisation


def _parse_counts(
    values: pd.Series, *, level: str, what: str, codes: pd.Series, names: pd.Series
) -> tuple[pd.Series, list[Finding]]:
    findings: list[Finding] = []
    raw = values.copy()
    if raw.dtype == object:
        raw = raw.map(lambda v: v.strip().replace(",", "") if isinstance(v, str) else v)
        raw = raw.replace("", None)
    nums = pd.to_numeric(raw, errors="coerce").astype(float)
    nums = nums.where(~np.isinf(nums))  # infinity is no count of anyone: reported below
    not_number = nums.isna() & raw.notna()
    for i in np.flatnonzero(not_number.to_numpy()):
        findings.append(
            Finding(
                rule=f"{what}.not_a_number",
                level=level,
                severity="error",
                code=codes.iloc[i],
                name=names.iloc[i],
                message=(
                    f"{level} {names.iloc[i] or codes.iloc[i]}: {what} {raw.iloc[i]!r} is not a "
                    f"number, so it was left out. Enter a whole number of {what}."
                ),
            )
        )
    negative = nums < 0
    for i in np.flatnonzero(negative.to_numpy()):
        findings.append(
            Finding(
                rule=f"{what}.negative",
                level=level,
                severity="error",
                code=codes.iloc[i],
                name=names.iloc[i],
                value=float(nums.iloc[i]),
                message=(
                    f"{level} {names.iloc[i] or codes.iloc[i]}: {what} is negative "
                    f"({nums.iloc[i]:,.0f}), so it was left out. Correct the figure."
                ),
            )
        )
    nums = nums.where(~negative)
    return nums, findings


def normalise_units(
    frame: gpd.GeoDataFrame,
    level: str,
    *,
    source: str = "",
    columns: Mapping[str, str] | None = None,
    repair: bool = False,
) -> tuple[gpd.GeoDataFrame, list[Finding], list[str]]:
    """Return a layer with the standard unit columns, plus findings and notes.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        A unit layer in EPSG:4326.
    level : {"street", "community", "grid"}
    source : str
        Where it came from, for messages.
    columns : mapping, optional
        ``field -> column`` overrides.
    repair : bool
        Repair invalid polygons with :func:`shapely.make_valid` (reported as
        ``geometry.repaired``) instead of only reporting them.

    Returns
    -------
    (GeoDataFrame, findings, notes)
    """
    require_polygons(frame, source or level)
    mapping = guess_columns(list(frame.columns), overrides=columns, level=level)
    notes = []
    missing = [f for f in ("code", "name") if f not in mapping]
    if "code" in missing and "name" in missing:
        cols = ", ".join(str(c) for c in frame.columns if c != "geometry")
        raise ColumnError(
            f"{source}: found no code or name column among {cols}. Name them with "
            "--column code=COLUMN --column name=COLUMN."
        )
    if mapping:
        notes.append(
            f"{source}: columns " + ", ".join(f"{k}={v}" for k, v in mapping.items()) + "."
        )
    out = gpd.GeoDataFrame(
        index=pd.RangeIndex(len(frame)), geometry=frame.geometry.values, crs=frame.crs
    )
    for fld in ("code", "parent_code"):
        if fld in mapping:
            refuse_mangled(
                frame[mapping[fld]].reset_index(drop=True), column=mapping[fld], source=source
            )
    codes = (
        frame[mapping["code"]].map(normalise_code)
        if "code" in mapping
        else pd.Series([None] * len(frame), dtype=object)
    )
    names = (
        frame[mapping["name"]].astype(object).where(frame[mapping["name"]].notna(), None)
        if "name" in mapping
        else pd.Series([None] * len(frame), dtype=object)
    )
    names = names.map(lambda v: str(v).strip() if v is not None else None)
    out.insert(0, "code", codes.to_numpy())
    out.insert(1, "name", names.to_numpy())
    parents = (
        frame[mapping["parent_code"]].map(normalise_code)
        if "parent_code" in mapping
        else pd.Series([None] * len(frame), dtype=object)
    )
    out.insert(2, "parent_code", parents.to_numpy())
    for col in ("code", "name", "parent_code"):
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    out["code_source"] = np.where(out["code"].notna(), "given", "")
    if "code_source" in frame.columns:  # our own output read back: keep its marks
        carried = frame["code_source"].astype(str).to_numpy() == "generated"
        out.loc[carried & out["code"].notna().to_numpy(), "code_source"] = "generated"
    findings: list[Finding] = []
    for what in ("population", "households"):
        if what in mapping:
            nums, found = _parse_counts(
                frame[mapping[what]].reset_index(drop=True),
                level=level,
                what=what,
                codes=out["code"],
                names=out["name"],
            )
            findings.extend(found)
        else:
            nums = pd.Series(np.nan, index=out.index)
        out[what] = nums.to_numpy(dtype=float)
    out["population_source"] = np.where(out["population"].notna(), "given", "")
    out["households_source"] = np.where(out["households"].notna(), "given", "")
    kinds = []
    for code, name in zip(out["code"], out["name"], strict=True):
        kinds.append(
            kind_from_code(level, code)
            or kind_from_name(level, name)
            or {"street": "street", "community": "community", "grid": "grid"}[level]
        )
    out.insert(3, "kind", kinds)
    findings.extend(_geometry_findings(out, level, repair=repair))
    if repair:
        bad = ~shapely.is_valid(out.geometry.values)
        if bad.any():
            fixed = shapely.make_valid(out.geometry.values[bad])
            fixed = np.array([_polygonal(g) for g in fixed], dtype=object)
            geoms = out.geometry.values.copy()
            geoms[bad] = fixed
            out = out.set_geometry(gpd.GeoSeries(geoms, crs=out.crs, index=out.index))
    return out, findings, notes


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return shapely.Polygon()
    return shapely.union_all(parts) if len(parts) > 1 else parts[0]


def _label(code: str | None, name: str | None) -> str:
    if name and code:
        return f"{name} ({code})"
    return str(name or code or "(unnamed)")


def _geometry_findings(units: gpd.GeoDataFrame, level: str, *, repair: bool) -> list[Finding]:
    findings = []
    geoms = units.geometry.values
    valid = shapely.is_valid(geoms)
    for i in np.flatnonzero(~valid):
        reason = shapely.is_valid_reason(geoms[i])
        pt = _reason_point(reason) or _rep_point(geoms[i])
        code, name = units["code"].iloc[i], units["name"].iloc[i]
        if repair:
            msg = (
                f"{level} {_label(code, name)} had an invalid polygon ({reason}); it was "
                "repaired with make_valid as asked (--repair). Check the repaired shape."
            )
            findings.append(
                Finding(
                    rule="geometry.repaired",
                    level=level,
                    severity="warning",
                    code=code,
                    name=name,
                    message=msg,
                    lon=pt[0],
                    lat=pt[1],
                )
            )
        else:
            msg = (
                f"{level} {_label(code, name)} has an invalid polygon ({reason}). Its area "
                "and the nesting checks around it are unreliable, so it is left out of "
                "them. Fix the boundary in your GIS, or re-run with --repair to repair it "
                "automatically (make_valid)."
            )
            findings.append(
                Finding(
                    rule="geometry.invalid",
                    level=level,
                    severity="error",
                    code=code,
                    name=name,
                    message=msg,
                    lon=pt[0],
                    lat=pt[1],
                )
            )
    empty = shapely.is_empty(geoms)
    for i in np.flatnonzero(empty):
        code, name = units["code"].iloc[i], units["name"].iloc[i]
        findings.append(
            Finding(
                rule="geometry.empty",
                level=level,
                severity="error",
                code=code,
                name=name,
                message=f"{level} {_label(code, name)} has an empty geometry. Draw its boundary.",
            )
        )
    return findings


def _reason_point(reason: str) -> tuple[float, float] | None:
    m = re.search(r"\[(-?[\d.]+)\s+(-?[\d.]+)\]", reason)
    return (float(m.group(1)), float(m.group(2))) if m else None


def _rep_point(geom: shapely.Geometry) -> tuple[float | None, float | None]:
    if geom is None or geom.is_empty:
        return None, None
    try:
        pt = shapely.point_on_surface(geom) if geom.is_valid else geom.centroid
    except shapely.errors.GEOSException:
        pt = geom.centroid
    return float(pt.x), float(pt.y)


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
        raise InputError(f"link must be auto, column, code or spatial, not {link!r}.")
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
                message=(
                    f"{child_level} {_label(row['code'], row['name'])} names parent "
                    f"{row['parent_code']}, which is not a {parent_level} in the data. Correct "
                    f"the parent code, add the missing {parent_level}, or re-run with "
                    "--link spatial to link by location."
                ),
            )
        )
    missing = out["parent_code"].isna()
    if missing.any():
        labels = ", ".join(
            _label(c, n)
            for c, n in zip(out.loc[missing, "code"][:5], out.loc[missing, "name"][:5], strict=True)
        )
        more = f" and {int(missing.sum()) - 5} more" if missing.sum() > 5 else ""
        findings.append(
            Finding(
                rule="hierarchy.unlinked",
                level=child_level,
                severity="warning",
                value=float(missing.sum()),
                unit="units",
                message=(
                    f"{int(missing.sum())} {child_level} unit(s) have no parent {parent_level} "
                    f"code and none follows from their codes: {labels}{more}. Add a parent "
                    "code column (--column parent_code=COLUMN) or re-run with --link spatial "
                    "to link each to the parent it overlaps most."
                ),
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
        raise ColumnError(
            f"The assignment table lacks {', '.join(sorted(missing))}. It needs the columns "
            "code and parent_code (and level), as written by `wangge export --format csv`."
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
                    message=(
                        f"{len(bad)} row(s) of the assignment table give a {levels[depth - 1]} "
                        f"that is not in the district ({shown}"
                        f"{' …' if len(bad) > 5 else ''}); those rows were not applied. Correct "
                        "the parent codes in the table."
                    ),
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
        raise ColumnError(
            f"None of the {len(table)} codes in the assignment table is a unit of this district "
            f"(e.g. {', '.join(table['code'].astype(str)[:3])}). Check that the table belongs to "
            "this district: its code column must hold the units' codes as `wangge export "
            "--format csv` writes them."
        )
    if len(unknown):
        findings.append(
            Finding(
                rule="assign.unknown_code",
                level="district",
                severity="warning",
                value=float(len(unknown)),
                unit="rows",
                message=(
                    f"{len(unknown)} row(s) of the assignment table name codes that are not in "
                    f"the district ({', '.join(unknown['code'].astype(str)[:5])}"
                    f"{' …' if len(unknown) > 5 else ''}); they were ignored. Remove them or "
                    "correct the codes."
                ),
            )
        )
    return out, notes, findings


def fill_codes(
    units: gpd.GeoDataFrame, level: str, *, taken: set[str]
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Give units without a code a stable generated one (see :mod:`geo.codes`).

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


# ------------------------------------------------------------------- derived figures


def grid_kinds_from_communities(units: Mapping[str, gpd.GeoDataFrame]) -> None:
    """Set each grid's kind from its community's: ``village_grid`` under a village, else ``grid``.

    A grid in a village (村委会) is a rural grid, so urban grid rules do not
    apply to it unless a rule names ``village_grid``. Changes ``units["grid"]``
    in place; grids without a known community keep ``grid``.
    """
    if "grid" not in units or "community" not in units:
        return
    communities = units["community"]
    kind_of = dict(zip(communities["code"], communities["kind"], strict=True))
    parents = units["grid"]["parent_code"].map(kind_of)
    units["grid"]["kind"] = np.where(parents == "village", "village_grid", "grid")


def derive_missing_levels(
    units: dict[str, gpd.GeoDataFrame], metric_crs: pyproj.CRS
) -> tuple[dict[str, gpd.GeoDataFrame], list[str]]:
    """Add a missing coarser level as unions of children that name its codes.

    A district given only as communities with a street code column gains a
    street level whose shapes are the unions of its communities.
    """
    out = dict(units)
    notes = []
    for upper, lower in (("community", "grid"), ("street", "community")):
        if upper in out or lower not in out:
            continue
        child = out[lower]
        linked = child[child["parent_code"].notna()]
        if len(linked) == 0:
            continue
        m = linked.to_crs(metric_crs)
        groups = m.groupby("parent_code", sort=True)
        # Invalid children are reported elsewhere; their repaired shape stands in here so
        # the union can be computed at all.
        geoms = [
            shapely.union_all(shapely.make_valid(np.asarray(g.geometry.values, dtype=object)))
            for _, g in groups
        ]
        codes = [str(c) for c in groups.groups]
        frame = gpd.GeoDataFrame(
            {"code": codes, "name": [None] * len(codes), "parent_code": [None] * len(codes)},
            geometry=geoms,
            crs=metric_crs,
        ).to_crs(4326)
        frame["kind"] = [
            kind_from_code(upper, c) or ("street" if upper == "street" else upper) for c in codes
        ]
        frame["code_source"] = "given"
        frame["population"] = np.nan
        frame["households"] = np.nan
        frame["population_source"] = ""
        frame["households_source"] = ""
        out[upper] = frame
        notes.append(
            f"{upper}: no layer given; {len(codes)} {upper} unit(s) built as unions of "
            f"their {lower} units' shapes (named by code only)."
        )
    return {lv: out[lv] for lv in LEVELS if lv in out}, notes


def derive_figures(
    units: dict[str, gpd.GeoDataFrame], *, household_size: float
) -> tuple[dict[str, gpd.GeoDataFrame], list[Finding]]:
    """Fill population and households bottom-up; say which figures are derived.

    Finest level first: a missing households figure is population divided by
    ``household_size`` (``derived``), and the other way round. A coarser unit
    without a figure takes its children's sum (``children``); one with a figure
    that disagrees with its children's sum by more than 0.5 % is reported.
    """
    out = {lv: f.copy() for lv, f in units.items()}
    findings: list[Finding] = []
    levels = [lv for lv in LEVELS if lv in out]
    for depth, lv in enumerate(reversed(levels)):
        frame = out[lv]
        if depth > 0:
            child = out[levels[len(levels) - depth]]
            for what in ("population", "households"):
                sums = child.groupby("parent_code")[what].sum(min_count=1)
                complete = child[what].notna().groupby(child["parent_code"]).all()
                child_sum = frame["code"].map(sums)
                child_complete = frame["code"].map(complete).fillna(False).astype(bool)
                has = frame[what].notna()
                # only a complete sum stands in: a partial one would pass missing off as 0
                take = ~has & child_sum.notna() & child_complete
                frame.loc[take, what] = child_sum[take]
                frame.loc[take, f"{what}_source"] = "children"
                check = has & child_sum.notna() & child_complete
                diff = (frame[what] - child_sum).abs()
                bad = check & (diff > 0.005 * frame[what].clip(lower=1))
                for i in np.flatnonzero(bad.to_numpy()):
                    row = frame.iloc[i]
                    findings.append(
                        Finding(
                            rule=f"{what}.mismatch",
                            level=lv,
                            severity="warning",
                            code=row["code"],
                            name=row["name"],
                            value=float(row[what]),
                            deviation=float(row[what] - child_sum.iloc[i]),
                            unit=what,
                            message=(
                                f"{lv} {_label(row['code'], row['name'])} states {what} "
                                f"{row[what]:,.0f}, but its units below add up to "
                                f"{child_sum.iloc[i]:,.0f}. Correct one of them; the stated "
                                "figure is used."
                            ),
                        )
                    )
        pop_missing = frame["population"].isna() & frame["households"].notna()
        frame.loc[pop_missing, "population"] = (
            frame.loc[pop_missing, "households"] * household_size
        ).round()
        frame.loc[pop_missing, "population_source"] = "derived"
        hh_missing = frame["households"].isna() & frame["population"].notna()
        frame.loc[hh_missing, "households"] = (
            frame.loc[hh_missing, "population"] / household_size
        ).round()
        frame.loc[hh_missing, "households_source"] = "derived"
        none = frame["population"].isna()
        if none.any():
            labels = ", ".join(
                _label(c, n)
                for c, n in zip(
                    frame.loc[none, "code"][:5], frame.loc[none, "name"][:5], strict=True
                )
            )
            more = f" and {int(none.sum()) - 5} more" if none.sum() > 5 else ""
            findings.append(
                Finding(
                    rule="population.missing",
                    level=lv,
                    severity="warning",
                    value=float(none.sum()),
                    unit="units",
                    message=(
                        f"{int(none.sum())} {lv} unit(s) have no population and none can be "
                        f"derived: {labels}{more}. Add a population column (--column "
                        "population=COLUMN) or figures for their units below; population "
                        "rules skip them."
                    ),
                )
            )
        out[lv] = frame
    return out, findings


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
        bad = _code_mismatches(grids, "grid")
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


def _overlap_findings(metric: gpd.GeoDataFrame, level: str, tol: float) -> list[Finding]:
    findings: list[Finding] = []
    pairs = overlap_pairs(metric.geometry, min_area_m2=tol)
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
    child_geom: np.ndarray,
    declared: np.ndarray,
    pcodes: np.ndarray,
    shares: pd.DataFrame,
    tol: float,
) -> np.ndarray:
    """Return which parents their declared children surely cover up to under ``tol`` m².

    The area a parent's children leave uncovered is at most its area, less the
    areas they share with it (from ``shares``), plus the areas the children share
    with each other (overlaps counted twice). Where that bound is under half the
    tolerance no gap piece can reach it, so the union and difference per parent
    (the slow part of the gap check on a city) are skipped; elsewhere they run
    as before, so the findings are the same.
    """
    n_par = len(pm)
    ch = shares["child"].to_numpy(dtype=np.int64)
    par = shares["parent"].to_numpy(dtype=np.int64)
    own = pcodes[par] == declared[ch] if len(ch) else np.zeros(0, dtype=bool)
    covered = np.bincount(par[own], weights=shares["area_m2"].to_numpy(dtype=float)[own],
                          minlength=n_par)
    ok = np.flatnonzero(shapely.is_valid(child_geom) & ~shapely.is_empty(child_geom))
    overlap_by_code: dict[Any, float] = {}
    if len(ok) > 1:
        a, b = shapely.STRtree(child_geom[ok]).query(child_geom[ok], predicate="intersects")
        keep = a < b
        a, b = ok[a[keep]], ok[b[keep]]
        same = declared[a] == declared[b]
        a, b = a[same], b[same]
        meet = shapely.relate_pattern(child_geom[a], child_geom[b], "T********")
        a, b = a[meet], b[meet]
        areas = shapely.area(shapely.intersection(child_geom[a], child_geom[b]))
        for code, area in zip(declared[a].tolist(), areas.tolist(), strict=True):
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
) -> list[Finding]:
    """Check that children tile their parents: straddles, outsiders, gaps, wrong parents.

    Parameters
    ----------
    children, parents : geopandas.GeoDataFrame
        Normalised unit layers (EPSG:4326) with ``parent_code`` filled where known.
    sliver_m2, straddle_share : float, optional
        Tolerances; default to :data:`geo.settings.sliver_tolerance_m2` and
        :data:`geo.settings.straddle_min_share`.

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
    tiled = _tiled_parents(pm, child_geom, declared_all, pcodes, shares, tol)
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
    for lv in levels:
        findings.extend(_code_findings(units[lv], lv))
        metric = units[lv].to_crs(metric_crs)
        findings.extend(_overlap_findings(metric, lv, tol))
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
            )
        )
    return findings


# -------------------------------------------------------------------------- building


def build_district(
    layers: Mapping[str, Layer | gpd.GeoDataFrame],
    *,
    columns: Mapping[str, str] | None = None,
    link: str = "auto",
    repair: bool = False,
    household_size: float | None = None,
    assignment: pd.DataFrame | None = None,
    notes: Sequence[str] = (),
    level_columns: Mapping[str, Mapping[str, str]] | None = None,
) -> District:
    """Build and check a :class:`District` from one layer per level.

    ``level_columns`` maps a level to its own ``field -> column`` overrides
    (layers from different sources name their columns differently); a level
    without an entry uses ``columns``.

    Parameters
    ----------
    layers : mapping
        ``level -> Layer`` (or GeoDataFrame in any CRS).
    columns : mapping, optional
        ``field -> column`` overrides for every layer.
    link : {"auto", "column", "code", "spatial"}
        How parent links are found; see :func:`link_parents`.
    repair : bool
        Repair invalid polygons instead of only reporting them.
    household_size : float, optional
        Persons per household for derived figures; default
        :data:`geo.settings.household_size`.
    assignment : pandas.DataFrame, optional
        A unit → parent table applied after linking (``--assign``).
    notes : sequence of str
        Notes from reading, carried into the district.

    Returns
    -------
    District
    """
    hh = settings.household_size if household_size is None else household_size
    if not hh or hh <= 0:
        raise InputError(f"household_size must be a positive number, not {hh!r}.")
    all_notes = list(notes)
    findings: list[Finding] = []
    units: dict[str, gpd.GeoDataFrame] = {}
    sources: dict[str, str] = {}
    for lv in LEVELS:
        if lv not in layers:
            continue
        item = layers[lv]
        if isinstance(item, Layer):
            frame, source = item.frame, item.source
            all_notes.extend(item.notes)
        else:
            frame, source = item, lv
        if frame.crs is None:
            raise InputError(f"The {lv} layer has no CRS; read it with geo.io.read_layers.")
        frame = frame.to_crs(4326) if not frame.crs.equals(4326) else frame
        cols = (level_columns or {}).get(lv, columns)
        unit, found, nts = normalise_units(frame, lv, source=source, columns=cols, repair=repair)
        units[lv] = unit
        sources[lv] = source
        findings.extend(found)
        all_notes.extend(nts)
    if not units:
        raise LevelError("No unit layer was given.")
    everything = pd.concat([u.geometry for u in units.values()])
    metric_crs = metric_crs_for(
        gpd.GeoSeries(everything, crs=4326), max_area_error=settings.area_max_distortion
    )
    all_notes.append(f"Areas and distances in {metric_crs.name}.")
    levels = [lv for lv in LEVELS if lv in units]
    taken: set[str] = set()
    units[levels[0]], nts = fill_codes(units[levels[0]], levels[0], taken=taken)
    all_notes.extend(nts)
    for upper, lower in zip(levels, levels[1:], strict=False):
        units[lower], found, nts = link_parents(
            units[lower],
            units[upper],
            child_level=lower,
            parent_level=upper,
            metric_crs=metric_crs,
            link=link,
        )
        findings.extend(found)
        all_notes.extend(nts)
        units[lower], nts = fill_codes(units[lower], lower, taken=taken)
        all_notes.extend(nts)
    if assignment is not None:
        units, nts, found = apply_assignment(units, assignment)
        all_notes.extend(nts)
        findings.extend(found)
    units, nts = derive_missing_levels(units, metric_crs)
    all_notes.extend(nts)
    grid_kinds_from_communities(units)
    units, found = derive_figures(units, household_size=hh)
    findings.extend(found)
    for frame in units.values():
        frame["area_km2"] = frame.to_crs(metric_crs).geometry.area.to_numpy() / 1e6
        invalid = ~shapely.is_valid(frame.geometry.values)
        frame.loc[invalid, "area_km2"] = np.nan
    findings.extend(check_district(units, metric_crs=metric_crs))
    return District(
        units=units,
        metric_crs=metric_crs,
        findings=findings,
        notes=all_notes,
        sources=sources,
        household_size=hh,
    )


def district_from_frames(frames: Mapping[str, gpd.GeoDataFrame], **kwargs: Any) -> District:
    """Build a :class:`District` from ``level -> GeoDataFrame`` (a convenience for Python use)."""
    return build_district(dict(frames), **kwargs)


def read_district(
    paths: str | Any | Sequence[Any],
    *,
    level: str | None = None,
    layer_levels: Mapping[str, str] | None = None,
    columns: Mapping[str, str] | None = None,
    crs: Any = None,
    coords: str = "wgs84",
    link: str = "auto",
    repair: bool = False,
    household_size: float | None = None,
    assignment: pd.DataFrame | None = None,
) -> District:
    """Read files, folders or archives into a checked :class:`District`.

    Parameters
    ----------
    paths : path-like or sequence of path-like
        A GeoPackage, a folder, or several layer files; a single file is
        fine, its level guessed from codes, name endings or the file name.
    level : str, optional
        The level of a single layer.
    layer_levels : mapping, optional
        ``layer name -> level``.
    columns : mapping, optional
        ``field -> column`` overrides.
    crs, coords :
        See :func:`geo.io.read_layers`.
    link, repair, household_size, assignment :
        See :func:`build_district`.

    Returns
    -------
    District
    """
    layers = read_layers(paths, crs=crs, coords=coords)
    chosen, notes = assign_levels(layers, level=level, layer_levels=layer_levels, columns=columns)
    return build_district(
        chosen,
        columns=columns,
        link=link,
        repair=repair,
        household_size=household_size,
        assignment=assignment,
        notes=notes,
    )


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
    raise InputError(f"No free community code is left under {prefix9}; renumber first.")


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
        raise InputError("The district has no community level to split.")
    comm = district.units["community"]
    row = comm[comm["code"] == code]
    if len(row) != 1:
        raise InputError(f"Community {code} is not in the district (or its code is not unique).")
    row = row.iloc[0]
    geom_line = shape(line) if isinstance(line, Mapping) else line
    if geom_line.geom_type not in ("LineString", "MultiLineString"):
        raise InputError("Draw a line (not a shape) across the community to split it.")
    crs = district.metric_crs
    to_m = gpd.GeoSeries([row.geometry, geom_line], crs=4326).to_crs(crs)
    poly_m, line_m = to_m.iloc[0], to_m.iloc[1]
    parts = [p for p in shapely.get_parts(shapely.ops.split(poly_m, line_m))
             if p.area > settings.sliver_tolerance_m2]
    if len(parts) < 2:
        raise InputError(f"The line does not cut community {row['name'] or code} in two: draw it "
                         "across the community from one edge to the other.")
    if len(parts) > 2:
        raise InputError(f"The line cuts community {row['name'] or code} into {len(parts)} "
                         "pieces; draw a line that crosses it once.")
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
            raise InputError(f"Every grid of {label} lies on one side of the line; draw the line "
                             "between grids so each new community keeps at least one.")
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
    new = build_district(frames, household_size=district.household_size,
                         notes=[*district.notes, f"community {code} split into "
                                f"{new_codes[0]} and {new_codes[1]} ({info['method']})."])
    return new, info
