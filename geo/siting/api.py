"""Siting on a district: :func:`propose_sites`, :func:`run_siting` and :func:`write_sites`.

:func:`propose_sites` adapts GeoDataFrames (district, facilities, network,
candidates) to the array core (:mod:`geo.siting.cover`) in named steps:
residents and candidates (:mod:`geo.siting.candidates`), the sites chosen, the
tables and findings written up. :func:`run_siting` loads them from paths as the
CLI receives them, using the loaders of :mod:`geo.access.audit`;
:func:`write_sites` writes the chosen sites as GeoJSON.

Nothing here is random: ties are broken by candidate order, so the same
inputs give the same sites (every result records ``seed = None``).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from geo._format import plain as _plain
from geo._progress import Progress
from geo.access.coverage import normalise_facilities
from geo.access.reach import DEFAULT_DETOUR, _with_article
from geo.district.model import District
from geo.errors import InputError, RulebookError
from geo.findings import Finding, Phrase, worded
from geo.i18n import N_
from geo.rules.rulebook import FacilityType, Rulebook
from geo.siting.candidates import (
    _Candidates,
    _names,
    _place_residents,
    _progress,
    _Reach,
    _read_candidates,
    _Residents,
    _walking_reach,
)
from geo.siting.cover import SitingSolution, _no_new_sites, maximal_cover, min_sites_for_share
from geo.siting.solvers import MAX_EXACT_NONZEROS, TIME_LIMIT_S, _aggregate, _coverage_matrix

if TYPE_CHECKING:
    from geo.access.network import WalkNetwork

logger = logging.getLogger(__name__)


@dataclass
class SitingResult:
    """Proposed sites with the numbers behind them.

    Attributes
    ----------
    sites : geopandas.GeoDataFrame
        The proposed sites (EPSG:4326 points), most valuable first: ``rank``,
        ``candidate_id``, ``name``, ``newly_covered`` (residents),
        ``newly_covered_households``, ``reachable_residents`` (residents not
        yet covered within reach of the site, shared ones counted for every
        site), ``floor_area_m2``, ``floor_area_assumed``,
        ``capacity_households``, ``snap_m``, ``lon``, ``lat``.
    summary : dict
        Residents covered before and after, shares, method, gap, solve time,
        sizes, sources and notes (JSON-ready).
    findings : list of Finding
        One per site plus what the run found worth knowing.
    candidates : geopandas.GeoDataFrame
        Every candidate considered (EPSG:4326) with ``reachable_residents``.
    demand : geopandas.GeoDataFrame
        Residents as points with ``covered_before`` (bool) and
        ``newly_covered`` (share of the point's residents, 0..1).
    solution : SitingSolution
        The core's answer.
    """

    sites: gpd.GeoDataFrame
    summary: dict[str, Any]
    findings: list[Finding]
    candidates: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    solution: SitingSolution

    def to_dict(self) -> dict[str, Any]:
        """Return summary, sites and findings as JSON-ready data (NaN becomes None)."""
        table = pd.DataFrame(self.sites.drop(columns="geometry"))
        sites = [{k: _plain(v) for k, v in row.items()} for row in table.to_dict("records")]
        return {
            "summary": {k: _plain(v) for k, v in self.summary.items()},
            "sites": sites,
            "findings": [f.to_dict() for f in self.findings],
        }

    def to_json(self) -> str:
        """Return :meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)


def check_goal(k: int | None, target_share: float | None) -> None:
    """Raise :class:`InputError` unless exactly one of ``k`` and ``target_share`` is usable."""
    if k is not None and target_share is not None:
        raise InputError.worded(
            N_(
                "Give either a number of new sites (-k N) or a target share (--target-share S), "
                "not both."
            )
        )
    if k is None and target_share is None:
        raise InputError.worded(
            N_(
                "Say what to aim for: a number of new sites (-k N, e.g. -k 3) or a target share "
                "of residents covered (--target-share S, e.g. 0.9)."
            )
        )
    if k is not None and (isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1):
        raise InputError.worded(
            N_("-k must be a whole number of new sites, at least 1; got {k}."), k=repr(k)
        )
    if target_share is not None and not 0 < float(target_share) <= 1:
        raise InputError.worded(
            N_("--target-share must be above 0 and at most 1 (0.9 means 90%); got {share}."),
            share=repr(target_share),
        )


def _facility_type(rulebook: Rulebook, key: str, *, capacity: bool) -> FacilityType:
    """Return the facility type, checking it has a floor-area ratio when capacity is asked for."""
    ftype = rulebook.facility(key)
    if capacity and not ftype.m2_per_100_households:
        raise RulebookError.worded(
            N_(
                "{facility_type} has no {key} in the rulebook, so a site's capacity cannot be "
                "worked out. Add the ratio to the rulebook or leave out --capacity."
            ),
            facility_type=ftype.named(),
            key="m2_per_100_households",
        )
    return ftype


@dataclass(frozen=True)
class SolverOptions:
    """How hard the solver tries (see :func:`~geo.siting.cover.maximal_cover`).

    Attributes
    ----------
    time_limit_s : float
        Time limit of each HiGHS solve, seconds.
    exact : bool, optional
        Force (``True``) or forbid (``False``) the integer programme; by default it is
        solved exactly up to ``max_nonzeros``, greedily beyond.
    max_nonzeros : int
        Largest integer programme (nonzeros after aggregation) solved exactly by default.
    """

    time_limit_s: float = TIME_LIMIT_S
    exact: bool | None = None
    max_nonzeros: int = MAX_EXACT_NONZEROS


def _choose_sites(
    res: _Residents,
    cand: _Candidates,
    reach: _Reach,
    ftype: FacilityType,
    *,
    k: int | None,
    target_share: float | None,
    solver: SolverOptions,
    notes: list[str],
) -> SitingSolution:
    """Choose the sites: maximal cover for ``k`` sites, or fewest for a share (step 5)."""
    r = float(ftype.service_radius_m)
    unc = reach.uncovered
    w_unc = res.pop[unc]
    if len(unc) and not any(len(s) for s in reach.sets):
        raise InputError.worded(
            N_(
                "None of the {n:,} candidates ({how}) lies within {radius:,.0f} m walk of any of "
                "the {residents:,.0f} residents not yet covered by {facility}, so no site can "
                "add coverage. Try other candidates (--candidates grid, buildings or a layer "
                "nearer those residents) or check the walking network (is it connected and does "
                "it reach the candidates?)."
            ),
            n=len(cand.frame),
            how=cand.how,
            radius=r,
            residents=float(w_unc.sum()),
            facility=_with_article(ftype.named(lower=True)),
        )
    if len(unc) == 0:
        notes.append(
            Phrase(
                N_(
                    "Every resident already lives within {radius:,.0f} m of {facility}; no new "
                    "site adds coverage."
                ),
                radius=r,
                facility=_with_article(ftype.named(lower=True)),
            )
        )
        return _no_new_sites(
            _aggregate(_coverage_matrix(reach.sets, 0), np.zeros(0), None), 0, solve_time_s=0.0
        )
    solve_kw: dict[str, Any] = {
        "capacity": cand.capacity_hh,
        "hh": res.households[unc],
        "time_limit_s": solver.time_limit_s,
        "exact": solver.exact,
        "max_nonzeros": solver.max_nonzeros,
    }
    if k is not None:
        return maximal_cover(reach.sets, w_unc, k=k, **solve_kw)
    assert target_share is not None
    return min_sites_for_share(
        reach.sets,
        w_unc,
        share=float(target_share),
        covered_weight=reach.covered_weight(res.pop),
        total_weight=res.total,
        **solve_kw,
    )


def _site_tables(
    res: _Residents, cand: _Candidates, reach: _Reach, sol: SitingSolution, *, metric: Any,
    capacity: bool,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Tabulate the chosen sites, every candidate and the residents in EPSG:4326 (step 6)."""
    to_ll = pyproj.Transformer.from_crs(metric, 4326, always_xy=True)
    lon, lat = to_ll.transform(cand.x, cand.y)
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    j = sol.sites
    frame = cand.frame
    sites = gpd.GeoDataFrame(
        {
            "rank": np.arange(1, len(j) + 1),
            "candidate_id": frame["candidate_id"].to_numpy()[j],
            "name": _names(frame["name"].to_numpy()[j]),
            "newly_covered": sol.site_weight,
            "newly_covered_households": sol.site_households,
            "reachable_residents": reach.reachable[j],
            "floor_area_m2": cand.area[j] if capacity else frame["floor_area_m2"].to_numpy()[j],
            "floor_area_assumed": cand.assumed[j] if capacity else np.zeros(len(j), dtype=bool),
            "capacity_households": cand.capacity_hh[j]
            if cand.capacity_hh is not None
            else np.full(len(j), np.nan),
            "snap_m": cand.snap_m[j],
            "lon": lon[j],
            "lat": lat[j],
        },
        geometry=gpd.points_from_xy(lon[j], lat[j]),
        crs=4326,
    )
    candidates = gpd.GeoDataFrame(
        {
            "candidate_id": frame["candidate_id"].to_numpy(),
            "name": _names(frame["name"].to_numpy()),
            "floor_area_m2": frame["floor_area_m2"].to_numpy(),
            "reachable_residents": reach.reachable,
            "chosen": np.isin(np.arange(len(frame)), j),
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs=4326,
    )
    newly = np.zeros(len(res.frame))
    newly[reach.uncovered] = sol.demand_served if len(reach.uncovered) else 0.0
    demand = res.frame.assign(covered_before=reach.covered_before, newly_covered=newly)
    return sites, candidates, demand


def _siting_findings(
    sites: gpd.GeoDataFrame,
    ftype: FacilityType,
    facility_type: str,
    *,
    beyond: float,
    approximate: bool,
    detour: float,
    notes: list[str],
) -> list[Finding]:
    """Write one finding per site, plus what the run found worth knowing (step 7)."""
    r = float(ftype.service_radius_m)
    findings: list[Finding] = []
    if approximate:
        findings.append(
            Finding(
                rule="siting.approximate",
                level="district",
                severity="warning",
                **worded(
                    N_(
                        "No walking network: reach is straight-line distance × {detour:g}, an "
                        "approximation. Give a network for walking distances."
                    ),
                    detour=detour,
                ),
            )
        )
    for row in sites.itertuples(index=False):
        name = row.name if isinstance(row.name, str) and row.name else None
        label = f"{name} ({row.candidate_id})" if name else str(row.candidate_id)
        area_text = ""
        if np.isfinite(row.floor_area_m2) and row.floor_area_assumed:
            area_text = Phrase(
                N_("; floor area {area:,.0f} m² (assumed: the type's minimum)"),
                area=row.floor_area_m2,
            )
        elif np.isfinite(row.floor_area_m2):
            area_text = Phrase(N_("; floor area {area:,.0f} m²"), area=row.floor_area_m2)
        cap_text = (
            Phrase(
                N_(", serving up to {households:,.0f} households"),
                households=row.capacity_households,
            )
            if np.isfinite(row.capacity_households)
            else ""
        )
        findings.append(
            Finding(
                rule=f"siting.{facility_type}",
                level="site",
                severity="info",
                code=str(row.candidate_id),
                name=name,
                value=float(row.newly_covered),
                unit="residents",
                lon=float(row.lon),
                lat=float(row.lat),
                source=ftype.radius_source,
                status=ftype.radius_status,
                **worded(
                    N_(
                        "New {facility_type} #{rank} at {site}: brings {residents:,.0f} more "
                        "residents within {radius:,.0f} m walk{capacity}{floor_area}."
                    ),
                    facility_type=ftype.named(lower=True),
                    rank=row.rank,
                    site=label,
                    residents=row.newly_covered,
                    radius=r,
                    capacity=cap_text,
                    floor_area=area_text,
                ),
            )
        )
    if beyond > 0:
        findings.append(
            Finding(
                rule="siting.beyond_candidates",
                level="district",
                severity="warning",
                value=beyond,
                unit="residents",
                **worded(
                    N_(
                        "{residents:,.0f} residents not yet covered live more than "
                        "{radius:,.0f} m from every candidate, so no choice among these "
                        "candidates reaches them. Add candidates nearer them or check the "
                        "network there."
                    ),
                    residents=beyond,
                    radius=r,
                ),
            )
        )
    # a note written as a Phrase reads in the app's language; a plain one as it is
    findings.extend(
        Finding(
            rule="siting.note", level="district", severity="info", **worded(N_("{note}"), note=note)
        )
        for note in notes
    )
    return findings


def propose_sites(
    district: District,
    rulebook: Rulebook,
    *,
    facility_type: str,
    k: int | None = None,
    target_share: float | None = None,
    candidates: str | gpd.GeoDataFrame = "grid",
    capacity: bool = False,
    network: WalkNetwork | None = None,
    demand: gpd.GeoDataFrame | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    detour: float = DEFAULT_DETOUR,
    solver: SolverOptions | None = None,
    sources: dict[str, str] | None = None,
    progress: Progress | None = None,
) -> SitingResult:
    """Propose new sites for a facility type, keeping the existing facilities.

    The steps: place the residents, read the candidates, find whom the existing
    facilities cover and whom each candidate would reach, choose the sites, write up.

    Parameters
    ----------
    district : District
        The district; its finest units hold the residents.
    rulebook : Rulebook
        Gives the type's ``service_radius_m``, ``min_floor_area_m2`` and
        ``m2_per_100_households``.
    facility_type : str
        Rulebook key of the facility type, e.g. ``community_service_centre``.
    k : int, optional
        Number of new sites (maximal covering). Give this or ``target_share``.
    target_share : float, optional
        Share of residents to have covered, existing facilities included, with
        the fewest new sites (set covering).
    candidates : {"grid", "buildings"} or geopandas.GeoDataFrame
        ``"grid"``: each finest unit's centroid, moved to the nearest network
        node; ``"buildings"``: buildings with footprint × floors at least the
        type's minimum floor area; or a layer of points or polygons (a
        ``floor_area_m2`` column is read where present).
    capacity : bool
        Limit each site to the households its floor area supports
        (floor area / ``m2_per_100_households`` × 100). Candidates without a
        floor area are assumed to have the type's minimum (and say so).
    network : geo.access.network.WalkNetwork, optional
        The walking network; without it straight-line distance × ``detour``
        (an approximation, said in every output).
    demand : geopandas.GeoDataFrame, optional
        Residents as points (:func:`geo.access.population.demand_points`); default
        built from the district and ``buildings``.
    facilities : geopandas.GeoDataFrame, optional
        Existing facilities (any types; those of ``facility_type`` are kept).
        Without them every resident counts as not yet covered.
    buildings : geopandas.GeoDataFrame, optional
        Building footprints, to place residents and for ``"buildings"`` candidates.
    detour : float
        Straight-line distance × this stands for walking without a network.
    solver : SolverOptions, optional
        Time limit and exactness of the solver (:func:`~geo.siting.cover.maximal_cover`).
    sources : dict, optional
        Where the inputs came from, copied into the summary.
    progress : callable, optional
        ``progress(step, fraction)``.

    Returns
    -------
    SitingResult

    Raises
    ------
    InputError
        Both or neither of ``k`` and ``target_share``; no candidates; ``k``
        above the number of candidates; no candidate within reach of any
        resident not yet covered; a target share out of reach.
    RulebookError
        A facility type not in the rulebook, or ``capacity`` for a type
        without a floor-area ratio.
    """
    check_goal(k, target_share)
    solver = solver or SolverOptions()
    ftype = _facility_type(rulebook, facility_type, capacity=capacity)
    r = float(ftype.service_radius_m)
    metric = network.crs if network is not None else district.metric_crs
    notes: list[str] = []

    _progress(progress, "placing residents", 0.0)
    household_size = district.household_size or rulebook.household_size
    res = _place_residents(district, demand, buildings, metric, household_size)

    _progress(progress, "reading candidates", 0.1)
    cand = _read_candidates(
        candidates, district, buildings, ftype, metric=metric,
        has_network=network is not None, k=k, capacity=capacity, notes=notes,
    )

    _progress(progress, "existing coverage", 0.2)
    existing = None
    if facilities is not None and len(facilities):
        fac = normalise_facilities(facilities)
        existing = fac[fac["type"] == facility_type].to_crs(metric).reset_index(drop=True)
    reach = _walking_reach(
        res, cand, existing, network=network, radius_m=r, detour=detour, notes=notes,
        progress=progress,
    )

    _progress(progress, "choosing sites", 0.6)
    sol = _choose_sites(
        res, cand, reach, ftype, k=k, target_share=target_share, solver=solver, notes=notes
    )
    notes.extend(sol.notes)

    _progress(progress, "writing up", 0.95)
    sites, cand_out, dem_out = _site_tables(
        res, cand, reach, sol, metric=metric, capacity=capacity
    )
    total = res.total
    covered_w = reach.covered_weight(res.pop)
    new_w = float(sol.objective)
    approximate = network is None
    summary: dict[str, Any] = {
        "facility_type": facility_type,
        "facility_name": ftype.name,
        "facility_name_zh": ftype.name_zh,
        "service_radius_m": r,
        "goal": "sites" if k is not None else "target_share",
        "k": k,
        "target_share": target_share,
        "existing_facilities": reach.n_existing,
        "residents": total,
        "covered_before": covered_w,
        "share_before": covered_w / total,
        "newly_covered": new_w,
        "covered_after": covered_w + new_w,
        "share_after": (covered_w + new_w) / total,
        "beyond_every_candidate": reach.beyond,
        "best_possible_share": (covered_w + sol.best_possible) / total
        if sol.best_possible is not None
        else None,
        "sites": len(sol.sites),
        "candidates": len(cand.frame),
        "candidate_source": cand.how,
        "capacity": bool(capacity),
        "m2_per_100_households": ftype.m2_per_100_households if capacity else None,
        "method": sol.method,
        "method_text": sol.method_text,
        "optimal": sol.optimal,
        "bound": sol.bound,
        "gap": sol.gap,
        "solve_time_s": sol.solve_time_s,
        "seed": sol.seed,
        "demand_points": int(len(reach.uncovered)),
        "demand_rows": sol.demand_rows,
        "nonzeros": sol.nonzeros,
        "network": network.source if network is not None else None,
        "approximate": approximate,
        "detour": detour if approximate else None,
        "sources": dict(sources or {}),
        "notes": notes,
    }
    findings = _siting_findings(
        sites, ftype, facility_type, beyond=reach.beyond, approximate=approximate,
        detour=detour, notes=notes,
    )
    logger.info(
        "siting %s: %d sites, %.0f newly covered (%s)",
        facility_type, len(sol.sites), new_w, sol.method,
    )
    _progress(progress, "done", 1.0)
    return SitingResult(
        sites=sites,
        summary=summary,
        findings=findings,
        candidates=cand_out,
        demand=dem_out,
        solution=sol,
    )


PathLike = str | os.PathLike[str]


def run_siting(
    district: District,
    rulebook: Rulebook,
    *,
    facility_type: str,
    k: int | None = None,
    target_share: float | None = None,
    candidates: str | PathLike | gpd.GeoDataFrame = "grid",
    capacity: bool = False,
    facilities: PathLike | gpd.GeoDataFrame | None = None,
    network: PathLike | Any | None = None,
    buildings: PathLike | gpd.GeoDataFrame | None = None,
    osm: PathLike | None = None,
    straight_line: bool = False,
    sample: bool = False,
    detour: float = DEFAULT_DETOUR,
    solver: SolverOptions | None = None,
    progress: Progress | None = None,
) -> SitingResult:
    """Load the inputs as :func:`geo.access.audit.run_audit` does and run :func:`propose_sites`.

    Parameters are those of :func:`propose_sites` and :func:`geo.access.audit.run_audit`;
    ``candidates`` may also be a path to a layer. Existing facilities are
    optional here: without them (and without ``osm`` or ``sample``) every
    resident counts as not yet covered, and the summary says so.
    """
    from geo.access.audit import (
        osm_facilities,
        read_point_layer,
        resolve_buildings,
        resolve_network,
    )

    check_goal(k, target_share)
    _facility_type(rulebook, facility_type, capacity=capacity)
    sources: dict[str, str] = {}
    services: dict[str, Any] = {}
    if sample:
        from geo.sample.build import sample_services

        services = sample_services()
    _progress(progress, "reading facilities", 0.0)
    fac: gpd.GeoDataFrame | None = None
    if isinstance(facilities, gpd.GeoDataFrame):
        fac, sources["facilities"] = facilities, "given layer"
    elif facilities is not None:
        fac, sources["facilities"] = read_point_layer(facilities), Path(facilities).name
    elif osm is not None:
        fac = osm_facilities(osm, rulebook)
        sources["facilities"] = f"{Path(osm).name} (OpenStreetMap tags from the rulebook)"
    elif services:
        fac, sources["facilities"] = services["facilities"], "built-in sample (fictional)"
    else:
        sources["facilities"] = "none given: every resident counts as not yet covered"
    bld, bld_source = resolve_buildings(buildings, osm=osm, services=services)
    if bld_source is not None:
        sources["buildings"] = bld_source
    _progress(progress, "loading the walking network", 0.1)
    net = resolve_network(network, osm=osm, services=services, straight_line=straight_line)
    cand: str | gpd.GeoDataFrame
    if isinstance(candidates, gpd.GeoDataFrame) or candidates in ("grid", "buildings"):
        cand = candidates  # type: ignore[assignment]
        sources["candidates"] = (
            "given layer" if isinstance(candidates, gpd.GeoDataFrame) else str(candidates)
        )
    else:
        path = Path(candidates)  # type: ignore[arg-type]
        if not path.exists():
            raise InputError.worded(
                N_(
                    "Candidates file {path} does not exist. Give --candidates grid, --candidates "
                    "buildings or a layer of candidate sites (points or polygons)."
                ),
                path=str(path),
            )
        cand, sources["candidates"] = read_point_layer(path), path.name

    def inner(text: str, frac: float) -> None:
        _progress(progress, text, 0.2 + 0.8 * frac)

    return propose_sites(
        district,
        rulebook,
        facility_type=facility_type,
        k=k,
        target_share=target_share,
        candidates=cand,
        capacity=capacity,
        network=net,
        facilities=fac,
        buildings=bld,
        detour=detour,
        solver=solver,
        sources=sources,
        progress=inner,
    )


def write_sites(result: SitingResult, path: PathLike) -> Path:
    """Write the proposed sites as GeoJSON (RFC 7946), atomically; return the path."""
    import pyogrio

    from geo.io import atomic_path

    target = Path(path)
    frame = result.sites.copy()
    frame["floor_area_assumed"] = frame["floor_area_assumed"].astype("int8")
    frame["name"] = frame["name"].astype(object).where(frame["name"].notna(), None)
    with atomic_path(target) as tmp:
        pyogrio.write_dataframe(
            frame,
            tmp,
            driver="GeoJSON",
            layer_options={"RFC7946": "YES", "WRITE_NAME": "NO"},
        )
    return target


__all__ = [
    "SitingResult",
    "SolverOptions",
    "check_goal",
    "propose_sites",
    "run_siting",
    "write_sites",
]
