"""Reading unit layers: which level each holds, which columns mean what, clean figures.

Columns and levels are guessed from names (Chinese and English), codes and the
layer's own evidence; counts are parsed without turning missing into zero; shapes
are checked (and repaired only when asked); figures missing at one level are
derived from another and said so.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
import shapely.ops

from geo import LEVELS, settings
from geo.district.codes import (
    normalise_code,
    refuse_mangled,
)
from geo.district.layers import admin_level_of, sort_layers
from geo.district.model import (
    FIELDS,
    _label,
    _labels,
    _reason_point,
    _rep_point,
    kind_from_code,
    kind_from_name,
)
from geo.errors import ColumnError, LevelError
from geo.findings import Finding, Phrase, Word, listed, worded
from geo.i18n import N_
from geo.io import Layer, require_polygons

logger = logging.getLogger(__name__)

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
            raise ColumnError.worded(
                N_("Unknown field {field} in the column mapping; fields are {fields}."),
                field=repr(fld), fields=", ".join(FIELDS),
            )
        if col not in columns:
            raise ColumnError.worded(
                N_("Column {column} (given for {field}) is not in the layer; its columns are "
                   "{columns}."),
                column=repr(col), field=str(fld),
                columns=", ".join(str(c) for c in columns if c != "geometry"),
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
            return lv, Phrase(N_("{share:.0%} of its codes look like {level} codes"),
                              share=share, level=Word(lv))
    # columns: a layer naming units of two levels (社区名称 and 街道名称) holds the finer
    # one, the coarser being its parents'
    lowered = {str(c).strip().lower() for c in layer.frame.columns}
    named = [
        lv
        for lv in LEVELS
        if any(c in lowered for c in (*LEVEL_COLUMNS[lv]["name"], *LEVEL_COLUMNS[lv]["code"]))
    ]
    if len(named) >= 2:
        return named[-1], Phrase(N_("its columns name {level} units and their {parent}"),
                                 level=Word(named[-1]), parent=Word(named[-2]))
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
        return best[1], Phrase(N_("{share:.0%} of its names end like {level} names"),
                               share=best[0], level=Word(best[1]))
    lv = _level_from_label(layer.name)
    if lv:
        return lv, Phrase(N_("its name {name!r}"), name=layer.name)
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
            raise LevelError.worded(N_("Unknown level {level}; choose one of {levels}."),
                                    level=repr(lv), levels=", ".join(LEVELS))
    if level is not None:
        if len(layers) != 1:
            names = ", ".join(lay.name for lay in layers)
            raise LevelError.worded(
                N_("--level applies to a single layer, but {n} were found ({names}). Map each "
                   "with --layer NAME=LEVEL instead."),
                n=len(layers), names=names,
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
            raise LevelError.worded(
                N_("Both {first} and {second} look like {level} layers. Say which is which with "
                   "--layer NAME=LEVEL (e.g. --layer {name}={near})."),
                first=chosen[lv].source, second=lay.source, level=Word(lv), name=lay.name,
                near=Word(near),
            )
        chosen[lv] = lay
        notes.append(f"{lay.source}: read as the {lv} level ({reason}).")
    if unknown:
        raise LevelError.worded(
            N_("Could not tell the level of {sources}: its codes, names and file name do not "
               "say whether it holds streets, communities or grids. Set it with "
               "--level street|community|grid (one layer) or --layer NAME=LEVEL."),
            sources=", ".join(unknown),
        )
    if not chosen:
        raise LevelError.worded(N_("No layer was mapped to a level. Use --layer NAME=LEVEL."))
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
                **worded(N_("{level} {unit}: {what} {value} is not a number, so it was left out. "
                            "Enter a whole number of {what}."),
                         level=Word(level), unit=str(names.iloc[i] or codes.iloc[i]),
                         what=Word(what), value=repr(raw.iloc[i])),
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
                **worded(N_("{level} {unit}: {what} is negative ({value:,.0f}), so it was left "
                            "out. Correct the figure."),
                         level=Word(level), unit=str(names.iloc[i] or codes.iloc[i]),
                         what=Word(what), value=float(nums.iloc[i])),
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
        raise ColumnError.worded(
            N_("{source}: found no code or name column among {columns}. Name them with "
               "--column code=COLUMN --column name=COLUMN."),
            source=str(source), columns=cols,
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
    for what in (N_("population"), N_("households")):  # words of the findings' messages too
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


INVALID_REASONS = (
    N_("Topology Validation Error"),
    N_("Repeated Point"),
    N_("Hole lies outside shell"),
    N_("Holes are nested"),
    N_("Interior is disconnected"),
    N_("Self-intersection"),
    N_("Ring Self-intersection"),
    N_("Nested shells"),
    N_("Duplicate Rings"),
    N_("Too few distinct points in geometry component"),
    N_("Invalid Coordinate"),
    N_("Ring is not closed"),
)
"""GEOS's reasons a polygon is invalid (before the ``[x y]`` of the place), as words."""


def _invalid_reason(reason: str) -> tuple[str, str]:
    """Split GEOS's ``Self-intersection[x y]`` into its reason and its place ``[x y]``.

    A reason GEOS is known to give is a :class:`~geo.findings.Word` (translated with
    the message); another stays whole, as text, with an empty place.
    """
    what, bracket, where = str(reason).partition("[")
    if what in INVALID_REASONS:
        return Word(what), bracket + where
    return str(reason), ""


def _geometry_findings(units: gpd.GeoDataFrame, level: str, *, repair: bool) -> list[Finding]:
    findings = []
    geoms = units.geometry.values
    valid = shapely.is_valid(geoms)
    for i in np.flatnonzero(~valid):
        reason = shapely.is_valid_reason(geoms[i])
        pt = _reason_point(reason) or _rep_point(geoms[i])
        code, name = units["code"].iloc[i], units["name"].iloc[i]
        what, where = _invalid_reason(reason)
        if repair:
            findings.append(
                Finding(
                    rule="geometry.repaired",
                    level=level,
                    severity="warning",
                    code=code,
                    name=name,
                    lon=pt[0],
                    lat=pt[1],
                    **worded(N_("{level} {unit} had an invalid polygon ({reason}{where}); it was "
                                "repaired with make_valid as asked (--repair). Check the "
                                "repaired shape."),
                             level=Word(level), unit=_label(code, name), reason=what,
                             where=where),
                )
            )
        else:
            findings.append(
                Finding(
                    rule="geometry.invalid",
                    level=level,
                    severity="error",
                    code=code,
                    name=name,
                    lon=pt[0],
                    lat=pt[1],
                    **worded(N_("{level} {unit} has an invalid polygon ({reason}{where}). Its "
                                "area and the nesting checks around it are unreliable, so it is "
                                "left out of them. Fix the boundary in your GIS, or re-run with "
                                "--repair to repair it automatically (make_valid)."),
                             level=Word(level), unit=_label(code, name), reason=what,
                             where=where),
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
                **worded(N_("{level} {unit} has an empty geometry. Draw its boundary."),
                         level=Word(level), unit=_label(code, name)),
            )
        )
    return findings


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
    street level whose shapes are the unions of its communities. A level is
    derived only when nothing coarser was given: grids given with streets but
    no communities were linked to the streets, so their parent codes name
    streets and no community level is made up from them.
    """
    out = dict(units)
    notes = []
    for upper, lower in (("community", "grid"), ("street", "community")):
        if upper in out or lower not in out:
            continue
        if any(lv in units for lv in LEVELS[: LEVELS.index(upper)]):
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
            for what in (N_("population"), N_("households")):  # words of messages too
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
                            **worded(N_("{level} {unit} states {what} {stated:,.0f}, but its "
                                        "units below add up to {children:,.0f}. Correct one of "
                                        "them; the stated figure is used."),
                                     level=Word(lv), unit=_label(row["code"], row["name"]),
                                     what=Word(what), stated=float(row[what]),
                                     children=float(child_sum.iloc[i])),
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
            n_none = int(none.sum())
            labels = listed(_labels(frame.loc[none], 5), n_none - 5)
            findings.append(
                Finding(
                    rule="population.missing",
                    level=lv,
                    severity="warning",
                    value=float(none.sum()),
                    unit="units",
                    **worded(N_("{n} {level} unit(s) have no population and none can be "
                                "derived: {units}. Add a population column (--column "
                                "population=COLUMN) or figures for their units below; "
                                "population rules skip them."),
                             n=n_none, level=Word(lv), units=labels),
                )
            )
        out[lv] = frame
    return out, findings
