"""The audit's summaries: per facility, per type, per category, and against benchmarks.

:func:`_facility_table` lists each facility with its load and snapping;
:func:`_type_table` and :func:`_category_table` sum coverage per facility type
and per category of community public affairs; :func:`_benchmark_table` compares
floor area with the rulebook's benchmarks; :func:`_missing_floor_area` names the
facilities whose floor area is missing where it matters.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo.access.reach import BEYOND_LIMIT, UNREACHABLE, _unit_names
from geo.access.unit_tables import (
    _community_kind,
    _names_text,
    benchmark_of,
    distance_text,
    stock_types,
    weighted_median,
)
from geo.district.model import District
from geo.findings import Finding, Phrase, worded
from geo.i18n import N_
from geo.rules.rulebook import Rulebook

if TYPE_CHECKING:
    from geo.access.coverage import TypeResult


def _facility_table(
    fac: gpd.GeoDataFrame,
    results: dict[str, TypeResult],
    findings: list[Finding],
    metric: pyproj.CRS,
    snap: np.ndarray | None,
    fac_kinds: np.ndarray,
) -> pd.DataFrame:
    lon, lat = pyproj.Transformer.from_crs(metric, 4326, always_xy=True).transform(
        shapely.get_x(fac.geometry.values), shapely.get_y(fac.geometry.values)
    )
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    table = pd.DataFrame(
        {
            "type": fac["type"],
            "name": fac["name"],
            "floor_area_m2": fac["floor_area_m2"],
            # six decimals of a degree are about 0.1 m: enough to find the door
            "lon": np.round(lon, 6),
            "lat": np.round(lat, 6),
        }
    )
    n = len(table)
    min_area = np.full(n, np.nan)
    catchment = np.full(n, np.nan)
    per_100hh = np.full(n, np.nan)
    status = np.full(n, "not audited", dtype=object)
    areas = fac["floor_area_m2"].to_numpy(dtype=float)
    names = fac["name"].to_numpy(dtype=object)
    if snap is not None:
        table["snap_m"] = np.round(snap, 1)
    for t, res in results.items():
        ftype = res.ftype
        for k, j in enumerate(res.facility_index):
            area = areas[j]
            load = (
                float(res.facility_load_households[k])
                if len(res.facility_load_households)
                else np.nan
            )
            catchment[j] = load
            if np.isfinite(area) and load > 0:
                per_100hh[j] = 100.0 * area / load
            name = names[j] or f"#{j}"
            minimum = ftype.min_floor_area_m2
            min_area[j] = minimum if minimum is not None else np.nan
            kind = fac_kinds[j]
            if kind is not None and kind not in ftype.kinds:
                status[j] = f"not judged ({kind}: not held to urban norms)"
            elif not np.isfinite(area):
                status[j] = "no floor area"
            elif minimum is not None and area < minimum:
                status[j] = "below minimum"
                findings.append(
                    Finding(
                        rule=f"facility_size.{t}",
                        level="facility",
                        severity=ftype.severity("floor_area"),
                        code=str(j),
                        name=name,
                        value=float(area),
                        minimum=minimum,
                        deviation=float(area - minimum),
                        deviation_pct=float(100 * (area - minimum) / minimum),
                        unit="m²",
                        lon=float(lon[j]),
                        lat=float(lat[j]),
                        source=ftype.floor_area_source,
                        status=ftype.floor_area_status,
                        **worded(
                            N_(
                                "{facility_type} {name} has {area:,.0f} m², below the minimum "
                                "of {minimum:,.0f} m² by {shortfall:,.0f} m² ({pct:.0f}%)."
                            ),
                            facility_type=ftype.named(),
                            name=name,
                            area=area,
                            minimum=minimum,
                            shortfall=minimum - area,
                            pct=100 * (minimum - area) / minimum,
                        ),
                    )
                )
            else:
                status[j] = "ok"
    table["min_floor_area_m2"] = min_area
    table["catchment_households"] = catchment
    table["m2_per_100hh_in_catchment"] = per_100hh
    table["status"] = status
    if snap is not None:
        table["snap_m"] = table.pop("snap_m")
    return table


def _facility_kinds(district: District, fac_codes: dict[str, np.ndarray]) -> np.ndarray:
    """Return the community kind of the unit each facility lies in (None: unknown)."""
    level = "community" if "community" in district.levels else district.levels[-1]
    units = district.units[level]
    kinds = dict(zip(units["code"], units["kind"], strict=True)) if "kind" in units else {}
    return np.array(
        [_community_kind(level, kinds.get(c)) for c in fac_codes[level]], dtype=object
    )


def _floor_area_matters(rulebook: Rulebook, key: str) -> bool:
    """Return True when some norm or benchmark reads ``key``'s floor area."""
    ftype = rulebook.facilities.get(key)
    if ftype is None:
        return False
    if ftype.min_floor_area_m2 is not None or ftype.m2_per_100_households is not None:
        return True
    if benchmark_of(rulebook, key) is not None:
        return True
    return any(
        key in stock_types(rulebook, other)
        for other, spec in rulebook.facilities.items()
        if spec.m2_per_100_households is not None
    )


def _missing_floor_area(
    fac: gpd.GeoDataFrame, rulebook: Rulebook, incomplete: dict[str, list[str]]
) -> list[Finding]:
    """One finding per facility type: which facilities have no floor area and what is skipped.

    Missing is not zero: such facilities are left out of every floor-area norm,
    and units whose stock holds one are not judged against the per-household norm.
    """
    out = []
    area = fac["floor_area_m2"].to_numpy(dtype=float)
    for key, ftype in rulebook.facilities.items():
        mine = (fac["type"] == key).to_numpy()
        missing = mine & ~np.isfinite(area)
        if not missing.any() or not _floor_area_matters(rulebook, key):
            continue
        names = [
            str(n) if n else f"#{j}"
            for j, n in zip(np.flatnonzero(missing), fac["name"].to_numpy()[missing], strict=True)
        ]
        skipped = [
            Phrase(
                N_(
                    "{n} unit(s) are not judged against the {facility_type} norm of {ratio:g} "
                    "m² per 100 households ({units})"
                ),
                n=len(units),
                facility_type=other.named(lower=True),
                ratio=other.m2_per_100_households,
                units=_names_text(units, 5),
            )
            for other_key, units in incomplete.items()
            if key in stock_types(rulebook, other_key)
            for other in [rulebook.facility(other_key)]
        ]
        args = {
            "facility_type": ftype.named(),
            "key": key,
            "n": int(missing.sum()),
            "n_all": int(mine.sum()),
            "names": _names_text(names),
        }
        if skipped:
            args["skipped"] = Phrase.joined(skipped)
            template = N_(
                "{facility_type} ({key}): {n} of {n_all} facilities have no floor area: "
                "{names}. They are audited for distance only and left out of the floor-area "
                "norms and benchmarks (not counted as 0 m²); {skipped}. Add floor_area_m2 to "
                "the facilities layer."
            )
        else:
            template = N_(
                "{facility_type} ({key}): {n} of {n_all} facilities have no floor area: "
                "{names}. They are audited for distance only and left out of the floor-area "
                "norms and benchmarks (not counted as 0 m²). Add floor_area_m2 to the "
                "facilities layer."
            )
        out.append(
            Finding(
                rule="facility.no_floor_area",
                level="district",
                severity="info",
                value=float(missing.sum()),
                unit="facilities",
                related=tuple(str(j) for j in np.flatnonzero(missing)),
                **worded(template, **args),
            )
        )
    return out


def _type_table(
    results: dict[str, TypeResult], dem: gpd.GeoDataFrame, fac: gpd.GeoDataFrame
) -> pd.DataFrame:
    pop = dem["population"].to_numpy(dtype=float)
    area = fac["floor_area_m2"].to_numpy(dtype=float)
    rows = []
    total = float(np.nansum(pop))
    for t, res in results.items():
        cov = float(pop[res.covered].sum())
        reach = res.reach if res.reach is not None else np.zeros(len(pop), dtype=int)
        unreachable = float(pop[reach == UNREACHABLE].sum())
        median = weighted_median(res.distance_m, pop)
        unreach_median = total - unreachable < total / 2.0 * (1.0 - 1e-12)
        areas = area[res.facility_index]
        rows.append(
            {
                "type": t,
                "name": res.ftype.name,
                "name_zh": res.ftype.name_zh,
                "category": res.ftype.category,
                "service_radius_m": res.ftype.service_radius_m,
                "search_limit_m": res.limit_m,
                "facilities": len(res.facility_index),
                "facilities_without_floor_area": int((~np.isfinite(areas)).sum()),
                "mean_floor_area_m2": float(np.nanmean(areas))
                if np.isfinite(areas).any()
                else np.nan,
                "residents": total,
                "covered": cov,
                "share_covered": cov / total if total > 0 else np.nan,
                "beyond": total - cov,
                "beyond_search_limit": float(pop[reach == BEYOND_LIMIT].sum()),
                "unreachable": unreachable,
                "median_distance_m": median if math.isfinite(median) else np.nan,
                "median_distance": distance_text(
                    median, limit_m=res.limit_m, unreachable=unreach_median
                )
                if total > 0
                else "—",
            }
        )
    return pd.DataFrame(rows)


def _category_table(type_table: pd.DataFrame, rulebook: Rulebook) -> pd.DataFrame:
    rows = []
    for key, cat in rulebook.categories.items():
        sub = type_table[type_table["category"] == key] if len(type_table) else type_table
        defined = [f.name for f in rulebook.facilities.values() if f.category == key]
        if len(sub):
            measured, audited = "by facilities", ", ".join(sub["name"])
        elif defined:
            measured = "no facilities of its types in the input"
            audited = ", ".join(defined)
        else:
            measured = "not measured by facilities"
            audited = cat.note or "not measured by facilities"
        rows.append(
            {
                "category": key,
                "name": cat.name,
                "name_zh": cat.name_zh,
                "responsible": cat.responsible,
                "measured": measured,
                "facility_types": audited,
                "note_zh": "" if len(sub) or defined else cat.note_zh,
                "lowest_share_covered": float(sub["share_covered"].min()) if len(sub) else np.nan,
            }
        )
    return pd.DataFrame(rows)


def _benchmark_table(
    district: District, fac: gpd.GeoDataFrame, fac_codes: dict[str, np.ndarray], rulebook: Rulebook
) -> pd.DataFrame:
    """Average floor area per facility, for the district and each street, against a benchmark.

    A benchmark is an achieved average (such as Qingdao's 800 m², 2017), not a
    minimum: the table compares, it does not judge. Facilities without a floor
    area are counted but left out of the average.
    """
    rows = []
    area = fac["floor_area_m2"].to_numpy(dtype=float)
    top = district.levels[0]
    names = _unit_names(district, top)
    for key in rulebook.facilities:
        bench = benchmark_of(rulebook, key)
        mine = (fac["type"] == key).to_numpy()
        if bench is None or not mine.any():
            continue
        value, source = bench
        groups: list[tuple[str, Any, Any, np.ndarray]] = [("district", None, None, mine)]
        if top != district.levels[-1] or top == "street":
            for code in district.units[top]["code"]:
                groups.append((top, code, names.get(code), mine & (fac_codes[top] == code)))
        for level, code, name, sel in groups:
            known = sel & np.isfinite(area)
            mean = float(area[known].mean()) if known.any() else np.nan
            rows.append(
                {
                    "type": key,
                    "level": level,
                    "code": code,
                    "name": name,
                    "facilities": int(sel.sum()),
                    "with_floor_area": int(known.sum()),
                    "mean_floor_area_m2": mean,
                    "benchmark_floor_area_m2": value,
                    "difference_m2": mean - value,
                    "share_of_benchmark": mean / value,
                    "benchmark_source": source,
                }
            )
    return pd.DataFrame(rows)
