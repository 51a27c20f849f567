"""Putting a coverage audit together: facilities, residents and the walking network.

:func:`run_audit` takes paths and choices as the CLI and the app receive
them, loads what is needed (or the built-in sample's), and returns a
:class:`geo.access.coverage.CoverageResult`. The sources it used are recorded in the
result's provenance so every number in the report can be traced.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd

from geo._progress import Progress
from geo.access.coverage import (
    CoverageResult,
    audit_coverage,
    facilities_from_osm,
    normalise_facilities,
)
from geo.access.network import WalkNetwork, read_network
from geo.access.population import demand_points
from geo.access.reach import check_detour
from geo.district.model import District
from geo.errors import InputError, NotGeodataError
from geo.findings import Phrase, Word
from geo.i18n import N_
from geo.io import read_layers
from geo.rules.rulebook import Rulebook

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]


def osm_facilities(pbf: PathLike, rulebook: Rulebook) -> gpd.GeoDataFrame:
    """Read points of interest from a ``.osm.pbf`` and type them by the rulebook's OSM tags."""
    import pyrosm

    wanted: dict[str, list[str]] = {}
    for ftype in rulebook.facilities.values():
        for tag, values in ftype.osm:
            wanted.setdefault(tag, []).extend(values)
    if not wanted:
        raise InputError.worded(
            N_("The rulebook maps no facility type to OpenStreetMap tags (osm = ...); give a "
               "facilities layer instead.")
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pois = pyrosm.OSM(str(pbf)).get_pois(custom_filter=wanted)
    except Exception as exc:  # pyrosm raises assorted errors for damaged files
        raise NotGeodataError.worded(
            N_("{file} could not be read for facilities ({reason}). Check the extract is "
               "complete."),
            file=Path(pbf).name, reason=str(exc),
        ) from exc
    if pois is None or len(pois) == 0:
        raise InputError.worded(
            N_("{file} holds no features with the rulebook's facility tags. Give a facilities "
               "layer with --facilities."),
            file=Path(pbf).name,
        )
    return facilities_from_osm(pois.set_crs(4326, allow_override=True), rulebook)


def osm_buildings(pbf: PathLike) -> gpd.GeoDataFrame | None:
    """Read building footprints from a ``.osm.pbf`` (None when it has none)."""
    import pyrosm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = pyrosm.OSM(str(pbf)).get_buildings()
    if b is None or len(b) == 0:
        return None
    b = b[b.geom_type.isin(["Polygon", "MultiPolygon"])]
    return b.set_crs(4326, allow_override=True)


def read_point_layer(path: PathLike) -> gpd.GeoDataFrame:
    """Read one layer of points or polygons (facilities, buildings) in EPSG:4326."""
    layers = read_layers(path)
    if len(layers) > 1:
        names = ", ".join(lay.name for lay in layers)
        raise InputError.worded(
            N_("{file} holds several layers ({names}); give a file with one layer."),
            file=Path(path).name, names=names,
        )
    return layers[0].frame


def resolve_buildings(
    buildings: PathLike | gpd.GeoDataFrame | None,
    *,
    osm: PathLike | None,
    services: dict[str, Any],
) -> tuple[gpd.GeoDataFrame | None, str | None]:
    """Return the buildings to place residents in and where they came from.

    A given layer wins, then the extract's buildings, then the sample's; ``(None,
    None)`` when there is nothing (residents are then spread over their units).
    """
    if isinstance(buildings, gpd.GeoDataFrame):
        return buildings, Phrase(N_("given layer"))
    if buildings is not None:
        return read_point_layer(buildings), Path(buildings).name
    if osm is not None:
        bld = osm_buildings(osm)
        return bld, (Phrase(N_("{file} (OpenStreetMap buildings)"), file=Path(osm).name)
                     if bld is not None else Phrase(N_("none")))
    if services:
        return services["buildings"], Phrase(N_("built-in sample (fictional)"))
    return None, None


def resolve_network(
    network: PathLike | Any | None,
    *,
    osm: PathLike | None,
    services: dict[str, Any],
    straight_line: bool,
) -> WalkNetwork | None:
    """Return the walking network to use (``None`` for straight-line distance).

    A given network (object or file) wins, then the extract, then the sample's.

    Raises
    ------
    InputError
        When none is given and straight-line distance was not asked for.
    """
    if straight_line:
        return None
    if network is not None and not isinstance(network, (str, os.PathLike)):
        return network
    if network is not None:
        return read_network(network)
    if osm is not None:
        return read_network(osm)
    if services:
        from geo.access.network import network_from_tables

        return network_from_tables(
            services["network_nodes"],
            services["network_edges"],
            source=Phrase(N_("built-in sample network (fictional)")),
        )
    raise InputError.worded(
        N_("No walking network was given. Pass --network FILE.osm.pbf (or a saved .npz), "
           "--osm FILE.osm.pbf, or --straight-line to use straight-line distance (an "
           "approximation).")
    )


def run_audit(
    district: District,
    rulebook: Rulebook,
    *,
    facilities: PathLike | gpd.GeoDataFrame | None = None,
    network: PathLike | Any | None = None,
    buildings: PathLike | gpd.GeoDataFrame | None = None,
    osm: PathLike | None = None,
    straight_line: bool = False,
    sample: bool = False,
    types: Sequence[str] | None = None,
    detour: float | None = None,
    progress: Progress | None = None,
) -> CoverageResult:
    """Load the audit's inputs and run :func:`geo.access.coverage.audit_coverage`.

    Parameters
    ----------
    district : District
        The checked district.
    rulebook : Rulebook
        Facility types and norms.
    facilities : path or GeoDataFrame, optional
        A facilities layer (points or polygons with ``type``, ``name``,
        ``floor_area_m2``). Without it, facilities come from ``osm`` tags or
        the sample.
    network : path or WalkNetwork, optional
        A ``.osm.pbf`` or saved ``.npz`` network; default ``osm`` or the sample's.
    buildings : path or GeoDataFrame, optional
        Building footprints for spreading residents; default ``osm``'s
        buildings or the sample's, else residents spread over each unit.
    osm : path, optional
        A ``.osm.pbf`` extract supplying whichever of the above is not given.
    straight_line : bool
        Use straight-line distance × ``detour`` instead of a network.
    sample : bool
        Use the built-in sample's facilities, buildings and network.
    types : sequence of str, optional
        Facility types to audit.
    detour : float, optional
        Detour factor for straight-line distance, a finite number ≥ 1; default
        :data:`geo.settings.audit_detour`.
    progress : callable, optional
        ``progress(step, fraction)``.

    Raises
    ------
    InputError
        An unusable input: a bad ``detour``, missing or unreadable files, or a
        network that does not reach the district's residents.
    """
    if detour is not None:
        check_detour(detour)  # before any file is read

    def step(text: str, frac: float) -> None:
        if progress is not None:
            progress(text, frac)

    sources: dict[str, str] = {}
    fac_frame: gpd.GeoDataFrame | None = None
    services: dict[str, Any] = {}
    if sample:
        from geo.sample.build import sample_services

        services = sample_services()
    step("reading facilities", 0.0)
    if isinstance(facilities, gpd.GeoDataFrame):
        fac_frame = normalise_facilities(facilities)
        sources["facilities"] = Phrase(N_("given layer"))
    elif facilities is not None:
        fac_frame = normalise_facilities(read_point_layer(facilities))
        sources["facilities"] = Path(facilities).name
    elif osm is not None:
        fac_frame = osm_facilities(osm, rulebook)
        sources["facilities"] = Phrase(N_("{file} (OpenStreetMap tags from the rulebook)"),
                                       file=Path(osm).name)
    elif services:
        fac_frame = normalise_facilities(services["facilities"])
        sources["facilities"] = Phrase(N_("built-in sample (fictional)"))
    else:
        raise InputError.worded(
            N_("No facilities were given. Pass a facilities layer (--facilities) or an "
               "OpenStreetMap extract (--osm FILE.osm.pbf).")
        )
    step("reading buildings", 0.1)
    bld, bld_source = resolve_buildings(buildings, osm=osm, services=services)
    if bld_source is not None:
        sources["buildings"] = bld_source
    step("loading the walking network", 0.2)
    net = resolve_network(network, osm=osm, services=services, straight_line=straight_line)
    step("placing residents", 0.3)
    block = district.units[district.building_block]
    demand = demand_points(
        block, metric_crs=district.metric_crs, buildings=bld, household_size=district.household_size
    )
    by_buildings = int((demand["method"] == "buildings").sum())
    level = Word(district.building_block)
    if by_buildings and (demand["method"] == "spread").any():
        pop_source = Phrase(
            N_("{level} populations split over {n:,} buildings by footprint × floors "
               "({source}); units without buildings spread evenly"),
            level=level, n=by_buildings, source=sources["buildings"])
    elif by_buildings:
        pop_source = Phrase(
            N_("{level} populations split over {n:,} buildings by footprint × floors "
               "({source})"), level=level, n=by_buildings, source=sources["buildings"])
    else:
        pop_source = Phrase(N_("{level} populations split over points spread evenly inside "
                               "each unit"), level=level)

    def inner(text: str, frac: float) -> None:
        step(text, 0.35 + 0.65 * frac)

    result = audit_coverage(
        district,
        rulebook,
        demand=demand,
        facilities=fac_frame,
        network=net,
        types=types,
        detour=detour,
        population_source=pop_source,
        progress=inner,
    )
    result.provenance["facilities"] = sources.get("facilities", "")
    return result
