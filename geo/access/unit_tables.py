"""The audit's unit tables: coverage and floor area per street, community and grid, judged.

:func:`_unit_tables` gives one table per level: per unit and facility type, the
residents within reach, the median and farthest walk (in metres, "> limit" or
"unreachable"), and the floor area per 100 households of the unit's community
stock (:func:`stock_types`) against the rulebook's norm. :func:`_judge_units`
turns shortfalls into findings, says which units are not judged and why, and
:func:`_summarise` adds the district-wide findings. Weighted medians
(:func:`grouped_weighted_median`) and honest distance texts
(:func:`distance_text`) are shared with :mod:`geo.access.summaries`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import settings
from geo.access.reach import BEYOND_LIMIT, UNREACHABLE, _with_article
from geo.district.model import District
from geo.findings import Finding, Named, Phrase, Word, listed, worded
from geo.i18n import N_
from geo.rules.rulebook import FacilityType, Rulebook, kind_word

if TYPE_CHECKING:
    from geo.access.coverage import TypeResult


def grouped_weighted_median(
    groups: np.ndarray, values: np.ndarray, weights: np.ndarray
) -> pd.Series:
    """Return the weighted median of ``values`` in each group, weighted by ``weights``.

    The weighted median is the smallest value whose cumulative weight (values
    in ascending order) reaches half the group's weight, so that at least half
    the weight lies at or below it. Values may be ``inf``; rows without weight
    are ignored, and a group without weight gets NaN.

    Examples
    --------
    >>> grouped_weighted_median(np.array(["a"] * 4), np.array([100.0, 200, 300, 400]),
    ...                         np.array([1.0, 1, 1, 10])).item()
    400.0
    """
    frame = pd.DataFrame({"g": groups, "v": values, "w": weights})
    all_groups = pd.unique(frame["g"])
    frame = frame[frame["w"] > 0].sort_values(["g", "v"], kind="stable")
    cum = frame.groupby("g", sort=False)["w"].cumsum()
    half = frame.groupby("g", sort=False)["w"].transform("sum") / 2.0
    hit = frame[cum >= half * (1.0 - 1e-12)]
    median = hit.groupby("g", sort=False)["v"].first()
    return median.reindex(all_groups)


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """Return the weighted median of ``values`` (see :func:`grouped_weighted_median`)."""
    if len(values) == 0:
        return math.nan
    med = grouped_weighted_median(np.zeros(len(values), dtype=np.int64), values, weights)
    return float(med.iloc[0])


def distance_text(value: float, *, limit_m: float, unreachable: bool = False) -> str:
    """Return a distance as a planner reads it: ``"480 m"``, ``"> 1,500 m"`` or ``"unreachable"``.

    The last two are :class:`~geo.findings.Phrase` objects (``str``), so that a
    finding quoting them reads in the app's language.

    Parameters
    ----------
    value : float
        Metres; ``inf`` or NaN when the search stopped at ``limit_m``.
    limit_m : float
        The search limit.
    unreachable : bool
        The distance is infinite because no walk leads to a facility.
    """
    if unreachable:
        return Phrase(N_("unreachable (network cut or no facility)"))
    if value is None or not math.isfinite(value):
        return Phrase(N_("> {limit:,.0f} m (search limit)"), limit=limit_m)
    return f"{value:,.0f} m"


def stock_types(rulebook: Rulebook, key: str) -> tuple[str, ...]:
    """Return the facility types whose floor area counts towards ``key``'s per-household norm.

    ``key`` itself and the types in its rulebook entry's ``ratio_includes``.
    """
    return (key, *(k for k in rulebook.facility(key).ratio_includes if k != key))


def benchmark_of(rulebook: Rulebook, key: str) -> tuple[float, str] | None:
    """Return ``(average floor area m², source)`` a type is benchmarked against, or None.

    From the rulebook entry's ``benchmark_floor_area_m2`` and ``benchmark_source``.
    """
    ftype = rulebook.facility(key)
    if ftype.benchmark_floor_area_m2 is None or not ftype.benchmark_floor_area_m2 > 0:
        return None
    return float(ftype.benchmark_floor_area_m2), ftype.benchmark_source


def _reach_texts(
    median: pd.Series, farthest: pd.Series, agg: pd.DataFrame, limit: float
) -> tuple[list[str], list[str]]:
    """Describe medians and farthest distances honestly: metres, '> limit' or 'unreachable'."""
    res = agg["residents"].to_numpy(dtype=float)
    unr = agg["unreachable"].to_numpy(dtype=float)
    med = median.reindex(agg.index).to_numpy(dtype=float)
    far = farthest.reindex(agg.index).to_numpy(dtype=float)
    # residents ordered: distance known < beyond the limit < unreachable
    unreach_median = (res - unr) < res / 2.0 * (1.0 - 1e-12)
    med_text = [
        distance_text(m, limit_m=limit, unreachable=bool(u)) if r > 0 else "—"
        for m, u, r in zip(med, unreach_median, res, strict=True)
    ]
    far_text = [
        distance_text(f, limit_m=limit, unreachable=bool(u > 0)) if r > 0 else "—"
        for f, u, r in zip(far, unr, res, strict=True)
    ]
    return med_text, far_text


_UNIT_TABLE_COLUMNS = [
    "type",
    "code",
    "name",
    "residents",
    "households",
    "covered",
    "share_covered",
    "beyond",
    "beyond_search_limit",
    "unreachable",
    "median_distance_m",
    "median_distance",
    "farthest_m",
    "farthest",
    "m2_per_100hh",
    "stock_m2",
    "stock_facilities",
    "stock_no_floor_area",
    "m2_per_100hh_2sfca",
]
"""The columns of a unit table, in order (those a table has)."""


def _unit_tables(
    district: District,
    dem: gpd.GeoDataFrame,
    results: dict[str, TypeResult],
    codes: dict[str, np.ndarray],
    findings: list[Finding],
    fac: gpd.GeoDataFrame,
    fac_codes: dict[str, np.ndarray],
    incomplete: dict[str, list[str]],
    rulebook: Rulebook,
) -> dict[str, pd.DataFrame]:
    """Tabulate coverage per unit at every level and judge the units of one level.

    Findings are appended to ``findings``; units whose stock lacks floor areas
    are added to ``incomplete``.
    """
    judged = "community" if "community" in district.levels else district.levels[-1]
    stock_levels = [lv for lv in district.levels if lv != "grid"] or [district.levels[-1]]
    tables = {}
    local: list[Finding] = []
    not_judged: dict[str, list[tuple[str, str]]] = {}
    for lv in district.levels:
        rows = [
            _type_unit_rows(
                lv, t, res, dem, codes[lv], fac, fac_codes[lv], rulebook, lv in stock_levels
            )
            for t, res in results.items()
        ]
        table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
        if not table.empty:
            table = _finish_unit_table(table, district.units[lv])
        tables[lv] = table
        if not table.empty and lv == judged:
            local.extend(
                _judge_units(
                    lv, table, district.units[lv], results, rulebook, incomplete, not_judged
                )
            )
    findings.extend(_summarise(local, results, tables))
    findings.extend(_not_judged_findings(not_judged, results, judged))
    return tables


def _type_unit_rows(
    lv: str,
    t: str,
    res: TypeResult,
    dem: gpd.GeoDataFrame,
    codes: np.ndarray,
    fac: gpd.GeoDataFrame,
    fac_codes: np.ndarray,
    rulebook: Rulebook,
    counts_stock: bool,
) -> pd.DataFrame:
    """Sum one type's coverage, distances and floor area per unit of level ``lv``."""
    pop = dem["population"].to_numpy(dtype=float)
    hh = dem["households"].to_numpy(dtype=float)
    reach = res.reach if res.reach is not None else np.zeros(len(pop), dtype=int)
    frame = pd.DataFrame(
        {
            "code": codes,
            "pop": pop,
            "hh": hh,
            "cov": np.where(res.covered, pop, 0.0),
            "lim": np.where(reach == BEYOND_LIMIT, pop, 0.0),
            "unr": np.where(reach == UNREACHABLE, pop, 0.0),
            "dist": np.where(pop > 0, res.distance_m, -1.0),
        }
    )
    if res.provision_m2_per_100hh is not None:
        frame["prov_hh"] = res.provision_m2_per_100hh * hh
        frame["prov_nan"] = np.isnan(frame["prov_hh"]) & (hh > 0)
    g = frame.groupby("code", sort=False)
    agg = pd.DataFrame(
        {
            "residents": g["pop"].sum(),
            "households": g["hh"].sum(),
            "covered": g["cov"].sum(),
            "beyond_search_limit": g["lim"].sum(),
            "unreachable": g["unr"].sum(),
        }
    )
    farthest = g["dist"].max().where(lambda s: s >= 0)
    median = grouped_weighted_median(codes, res.distance_m, pop)
    med_text, far_text = _reach_texts(median, farthest, agg, res.limit_m)
    finite = median.reindex(agg.index)
    agg["median_distance_m"] = finite.where(np.isfinite(finite))
    agg["median_distance"] = med_text
    agg["farthest_m"] = farthest.where(np.isfinite(farthest))
    agg["farthest"] = far_text
    if res.ftype.m2_per_100_households is not None and counts_stock:
        _add_stock_columns(agg, t, fac, fac_codes, rulebook)
    if "prov_hh" in frame:
        two = g["prov_hh"].sum() / agg["households"].where(agg["households"] > 0)
        agg["m2_per_100hh_2sfca"] = two.where(~g["prov_nan"].max().astype(bool))
    agg["type"] = t
    return agg.reset_index()


def _add_stock_columns(
    agg: pd.DataFrame, t: str, fac: gpd.GeoDataFrame, fac_codes: np.ndarray, rulebook: Rulebook
) -> None:
    """Add each unit's floor-area stock of type ``t`` and its m² per 100 households to ``agg``."""
    area = fac["floor_area_m2"].to_numpy(dtype=float)
    members = np.isin(fac["type"].to_numpy(), stock_types(rulebook, t))
    fc = pd.Series(fac_codes[members], dtype=object)
    fa = pd.Series(area[members])
    stock = pd.DataFrame(
        {
            "stock_m2": fa.groupby(fc).sum(min_count=1),
            "stock_facilities": fa.groupby(fc).size(),
            "stock_no_floor_area": fa.isna().groupby(fc).sum(),
        }
    )
    stock = stock.reindex(agg.index)
    n_fac = stock["stock_facilities"].fillna(0)
    n_missing = stock["stock_no_floor_area"].fillna(0)
    # no facility at all: truly 0 m²; facilities whose area is all missing: unknown
    m2 = stock["stock_m2"].where(n_fac > n_missing, np.nan)
    m2 = m2.where(n_fac > 0, 0.0)
    agg["stock_m2"] = m2
    agg["stock_facilities"] = n_fac.astype(int)
    agg["stock_no_floor_area"] = n_missing.astype(int)
    agg["m2_per_100hh"] = 100.0 * m2 / agg["households"].where(agg["households"] > 0)


def _finish_unit_table(table: pd.DataFrame, units: gpd.GeoDataFrame) -> pd.DataFrame:
    """Add shares and unit names to a level's table and put its columns in order."""
    table["beyond"] = table["residents"] - table["covered"]
    for col in ("stock_facilities", "stock_no_floor_area"):
        if col in table:
            table[col] = table[col].astype("Int64")
    table["share_covered"] = table["covered"] / table["residents"].where(table["residents"] > 0)
    names = dict(zip(units["code"], units["name"], strict=True))
    table.insert(1, "name", table["code"].map(names))
    return table[[c for c in _UNIT_TABLE_COLUMNS if c in table.columns]]


def _unit_places(units: gpd.GeoDataFrame) -> dict[Any, tuple[float | None, float | None]]:
    """Return one representative point per unit as ``(x, y)`` (None where not drawable)."""
    unit_geoms = np.asarray(units.geometry.values)
    drawable = ~shapely.is_empty(unit_geoms) & shapely.is_valid(unit_geoms)
    rep = shapely.point_on_surface(np.where(drawable, unit_geoms, np.array(None)))
    places: dict[Any, tuple[float | None, float | None]] = {}
    for code, x, y in zip(units["code"], shapely.get_x(rep), shapely.get_y(rep), strict=True):
        drawn = math.isfinite(x) and math.isfinite(y)
        places[code] = (float(x), float(y)) if drawn else (None, None)
    return places


def _judge_units(
    lv: str,
    table: pd.DataFrame,
    units: gpd.GeoDataFrame,
    results: dict[str, TypeResult],
    rulebook: Rulebook,
    incomplete: dict[str, list[str]],
    not_judged: dict[str, list[tuple[str, str]]],
) -> list[Finding]:
    """Judge each unit's coverage and floor area against its type's norms.

    Units of a kind the type's norms do not apply to go to ``not_judged``;
    units whose stock lacks floor areas go to ``incomplete``.
    """
    places = _unit_places(units)
    unit_kinds = dict(zip(units["code"], units["kind"], strict=True)) if "kind" in units else {}
    out: list[Finding] = []
    for row in table.to_dict(orient="records"):
        ftype = results[row["type"]].ftype
        kind = _community_kind(lv, unit_kinds.get(row["code"]))
        if kind is not None and kind not in ftype.kinds:
            not_judged.setdefault(row["type"], []).append((str(row["name"] or row["code"]), kind))
            continue
        lon, lat = places.get(row["code"], (None, None))
        if row["residents"] > 0 and row["share_covered"] < settings.audit_short_share:
            out.append(_coverage_shortfall(lv, row, results[row["type"]], lon, lat))
        ratio = ftype.m2_per_100_households
        if ratio is None or "m2_per_100hh" not in row or not row["households"] > 0:
            continue
        if row["stock_no_floor_area"] > 0:
            incomplete.setdefault(row["type"], []).append(str(row["name"] or row["code"]))
            continue
        value = row["m2_per_100hh"]
        if np.isfinite(value) and value < ratio:
            out.append(_floor_area_shortfall(lv, row, ftype, ratio, results, rulebook, lon, lat))
    return out


def _coverage_shortfall(
    lv: str, row: dict[str, Any], res: TypeResult, lon: float | None, lat: float | None
) -> Finding:
    """Warn that few of a unit's residents live within walking reach of the type."""
    ftype = res.ftype
    short = settings.audit_short_share
    cut: list[str] = []
    if row["beyond_search_limit"] > 0:
        cut.append(Phrase(N_("{n:,.0f} beyond the search limit"), n=row["beyond_search_limit"]))
    if row["unreachable"] > 0:
        cut.append(Phrase(N_("{n:,.0f} with no walk to any (network cut)"), n=row["unreachable"]))
    args = {
        "level": Word(lv),
        "name": row["name"] or row["code"],
        "share": row["share_covered"],
        "residents": row["residents"],
        "radius": ftype.service_radius_m,
        "facility": _with_article(ftype.named(lower=True)),
        "beyond": row["beyond"],
        # the table's text, as a phrase the app translates
        "farthest": distance_text(
            row["farthest_m"], limit_m=res.limit_m, unreachable=row["unreachable"] > 0
        ),
    }
    if cut:
        args["cut"] = Phrase.joined(cut)
        template = N_(
            "{level} {name}: only {share:.0%} of {residents:,.0f} residents live within "
            "{radius:,.0f} m walk of {facility}; {beyond:,.0f} are beyond reach ({cut}) "
            "(farthest {farthest}). Consider a facility nearer them."
        )
    else:
        template = N_(
            "{level} {name}: only {share:.0%} of {residents:,.0f} residents live within "
            "{radius:,.0f} m walk of {facility}; {beyond:,.0f} are beyond reach "
            "(farthest {farthest}). Consider a facility nearer them."
        )
    return Finding(
        rule=f"coverage.{row['type']}",
        level=lv,
        severity="warning",
        code=row["code"],
        name=row["name"],
        value=float(row["share_covered"]),
        minimum=short,
        unit="share",
        lon=lon,
        lat=lat,
        source=ftype.radius_source,
        status=ftype.radius_status,
        **worded(template, **args),
    )


def _floor_area_shortfall(
    lv: str,
    row: dict[str, Any],
    ftype: FacilityType,
    ratio: float,
    results: dict[str, TypeResult],
    rulebook: Rulebook,
    lon: float | None,
    lat: float | None,
) -> Finding:
    """Report a unit whose floor area per 100 households is below the norm ``ratio``."""
    value = row["m2_per_100hh"]
    kinds = _joined_and(
        [
            results[s].ftype.named(lower=True) if s in results
            else Named(s.replace("_", " "), zh=rulebook.facilities[s].name_zh)
            if s in rulebook.facilities else s.replace("_", " ")
            for s in stock_types(rulebook, row["type"])
        ]
    )
    template = (
        N_(
            "{level} {name}: {stock:,.0f} m² of {kinds} space in {n} facility for "
            "{households:,.0f} households is {value:,.1f} m² per 100 households, below the "
            "norm of {ratio:g} (all such space in the {level} ÷ its households)."
        )
        if row["stock_facilities"] == 1
        else N_(
            "{level} {name}: {stock:,.0f} m² of {kinds} space in {n} facilities for "
            "{households:,.0f} households is {value:,.1f} m² per 100 households, below the "
            "norm of {ratio:g} (all such space in the {level} ÷ its households)."
        )
    )
    return Finding(
        rule=f"floor_area.{row['type']}",
        level=lv,
        severity=ftype.severity("ratio"),
        code=row["code"],
        name=row["name"],
        value=float(value),
        minimum=ratio,
        deviation=float(value - ratio),
        deviation_pct=float(100 * (value - ratio) / ratio),
        unit="m² per 100 households",
        lon=lon,
        lat=lat,
        source=ftype.ratio_source,
        status=ftype.ratio_status,
        **worded(
            template,
            level=Word(lv),
            name=row["name"] or row["code"],
            stock=row["stock_m2"],
            kinds=kinds,
            n=int(row["stock_facilities"]),
            households=row["households"],
            value=value,
            ratio=ratio,
        ),
    )


def _joined_and(names: Sequence[str]) -> str:
    """Return ``a and b and c`` (a phrase the app translates; one name as it is)."""
    out = names[0]
    for name in names[1:]:
        out = Phrase(N_("{first} and {second}"), first=out, second=name)
    return out


_GRID_TO_COMMUNITY_KIND = {"grid": "community", "village_grid": "village"}


def _community_kind(level: str, kind: Any) -> str | None:
    """Return the community kind a unit's kind stands for (None: unknown, judged as urban)."""
    if not isinstance(kind, str):
        return None
    if level == "community":
        return kind
    if level == "grid":
        return _GRID_TO_COMMUNITY_KIND.get(kind)
    return None


def _not_judged_findings(
    not_judged: dict[str, list[tuple[str, str]]], results: dict[str, TypeResult], level: str
) -> list[Finding]:
    """One info finding per facility type naming the units its norms do not apply to.

    A facility type's ``kinds`` say which community kinds its norms apply to
    (urban residents' committees by default): a village is not held to an
    urban norm, so its figures are shown in the tables but not judged.
    """
    out = []
    for t, units in not_judged.items():
        ftype = results[t].ftype
        by_kind = sorted({k for _, k in units})
        out.append(
            Finding(
                rule="facility.not_judged",
                level="district",
                severity="info",
                value=float(len(units)),
                unit=f"{level} units",
                **worded(
                    N_(
                        "{facility_type} ({key}): {n} {level} unit(s) of kind {kinds} are not "
                        "judged against its walking-radius and floor-area norms, which the "
                        "rulebook applies to {applies} only (villages are not held to urban "
                        "norms): {units}. Their figures are in the coverage table. To judge "
                        "them, add their kind to kinds under [facilities.{key}]."
                    ),
                    facility_type=ftype.named(),
                    key=t,
                    n=len(units),
                    level=Word(level),
                    kinds=_kinds_text(by_kind),
                    applies=_kinds_text(ftype.kinds),
                    units=_names_text([n for n, _ in units]),
                ),
            )
        )
    return out


def _names_text(names: Sequence[str], k: int = 10) -> str:
    """Return the first ``k`` names, then "and N more" (a phrase the app translates)."""
    return listed(names[:k], len(names) - k)


def _kinds_text(kinds: Sequence[str]) -> str:
    """Return unit kinds joined by commas, each a word the app translates."""
    out: str = kind_word(kinds[0])
    for kind in kinds[1:]:
        out = Phrase(N_("{first}, {second}"), first=out, second=kind_word(kind))
    return out


def _summarise(
    local: list[Finding], results: dict[str, TypeResult], tables: dict[str, pd.DataFrame]
) -> list[Finding]:
    """Keep per-unit findings where few units fail; one district finding where most do.

    When most units fall short for a facility type the cause is the number of
    facilities, not any one unit; a hundred identical findings would bury the
    rest, so they are folded into one that names the worst units (every unit
    stays in the coverage tables).
    """
    out: list[Finding] = []
    by_rule: dict[str, list[Finding]] = {}
    for f in local:
        by_rule.setdefault(f.rule, []).append(f)
    for rule, group in by_rule.items():
        level = group[0].level
        t = rule.split(".", 1)[1]
        table = tables.get(level)
        n_units = (
            int(((table["type"] == t) & (table["residents"] > 0)).sum())
            if table is not None and len(table)
            else len(group)
        )
        if len(group) <= max(5, n_units // 2):
            out.extend(group)
            continue
        ftype = results[t].ftype
        worst = sorted(group, key=lambda f: f.value if f.value is not None else 0.0)[:5]
        names = ", ".join(
            f"{f.name or f.code} ({f.value:.0%})"
            if rule.startswith("coverage")
            else f"{f.name or f.code} ({f.value:,.1f})"
            for f in worst
        )
        args = {
            "n": len(group),
            "n_units": n_units,
            "level": Word(level),
            "n_facilities": len(results[t].facility_index),
            "worst": names,
        }
        if rule.startswith("coverage"):
            args |= {
                "share": settings.audit_short_share,
                "radius": ftype.service_radius_m,
                "facility": _with_article(ftype.named(lower=True)),
            }
            template = N_(
                "{n} of {n_units} {level} units have fewer than {share:.0%} of their residents "
                "within {radius:,.0f} m walk of {facility}: too few facilities ({n_facilities}) "
                "for the district rather than a few badly placed ones. Worst: {worst}. See the "
                "coverage table for every unit."
            )
        else:
            args |= {"facility_type": ftype.named(lower=True), "ratio": ftype.m2_per_100_households}
            template = N_(
                "{n} of {n_units} {level} units have less {facility_type} space than {ratio:g} "
                "m² per 100 households: too few facilities ({n_facilities}) for the district "
                "rather than a few badly placed ones. Worst: {worst}. See the coverage table "
                "for every unit."
            )
        out.append(
            Finding(
                rule=rule,
                level="district",
                severity=group[0].severity,
                value=float(len(group)),
                unit=f"{level} units",
                source=group[0].source,
                status=group[0].status,
                **worded(template, **args),
            )
        )
    return out


__all__ = [
    "benchmark_of",
    "distance_text",
    "grouped_weighted_median",
    "stock_types",
    "weighted_median",
]
