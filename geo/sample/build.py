"""The built-in sample district: deterministic, seeded and entirely FICTIONAL.

``sample_district()`` builds a made-up district, 示例区（虚构）/ Sample District
(fictional), with the three levels of grid management: about ten street offices
(街道, one of them a town 镇), about 125 communities (社区, and villages 村 in the
town) and about 1,050-1,100 grids (网格), with about one million residents. Every
name, code, boundary and head count is invented; the district sits at a
plausible but fictional spot near 120.45°E, 36.15°N under a county code (99)
that does not exist.

Construction
------------
Everything is computed in UTM zone 51N (EPSG:32651, metres) and converted to
EPSG:4326 at the end. The only source of randomness is
``numpy.random.default_rng(seed)``, drawn in a fixed order, so one seed always
gives byte-identical output.

1. **Outline.** An ellipse of about 5.6 km x 4.4 km, its radius perturbed by a
   few low harmonics, rotated at random and rescaled to the planned total area.
2. **Density.** A smooth residential-density field (persons/km²): a dense core
   in the south-west (~30,000/km²), a secondary centre, a small town seat in
   the east and a rural floor of ~3,000/km², with gentle wave-like noise.
3. **Planned density.** About 40,000 uniform points are split into the
   planned units of step 5 by a power diagram balancing area, as the grids are
   later, and the field is multiplied by a smooth blend (1 km Gaussian) of
   per-unit factors until every unit holds its planned residents.
4. **Grids.** Grid managers draw grids by household count, so grid sites are
   placed with a local density proportional to the planned households: one
   site per ~385 households (the usual band is 300-500) in the streets and at
   the town seat, one per ~110 in the town's villages, which are drawn village
   by village. Dart throwing on candidates thinned in proportion to that
   intensity (and kept half a spacing inside the outline) gives the sites;
   ten steps of weighted Lloyd relaxation (cell centroids weighted by
   intensity²) even them out, so grids are small in the core and large in the
   country and about 95% of the street grids hold 300-500 households.
   ``shapely.voronoi_polygons`` gives the cell edges; these are noded together
   with the outline on a 5 cm grid and polygonised, so neighbouring grids
   share exactly the same vertices. Slivers left where the outline cuts a cell
   are merged into their longest-bordering neighbour with
   ``shapely.coverage_union_all``.
5. **Streets.** A fixed plan of ten units, each with a target area and
   population, chosen so the sample exercises the street sizing guideline
   (6-8 km², 80,000-120,000 residents): four streets inside both bands, one far
   too large, one far too small, one over-populated, one under-populated, one
   a little small, and a large, sparse rural town. Grids are assigned to the
   units by a capacity-constrained power diagram (weighted Voronoi on grid
   centroids whose weights are tuned until each unit has its target area), then
   stray pieces are handed to a neighbour so every unit is contiguous.
6. **Communities.** Inside each street the same power-diagram partition, now
   balancing residents, splits the street's grids into communities of about
   8,000 residents (the town: two neighbourhood committees 居委会 at the town
   seat and about ten villages 村委会), again made contiguous on the grid
   adjacency graph. Street and community are therefore clusters of whole
   grids, and nesting is exact by construction.
7. **People.** Each grid gets planned density x area x a little noise
   residents (2% of grids are parks or industry and nearly empty), rescaled
   per street to the street's planned total and rounded to integers by
   largest remainder; households are residents / 2.62 with a little noise.
   Community and street figures are exact sums of their grids.
8. **Codes and names.** 12-digit statistical division codes (统计用区划代码)
   under the fictional county prefix ``370299``: streets ``370299 001 000``...,
   the town ``370299 101 000``; communities append a 3-digit village number
   (居委会 001-199, 村委会 200-399); grids append two more digits (CJ/T
   213-2005 style, 14 digits). Names combine a small list of two-character
   stems with suffixes (街道, 镇, 社区, 村) and are unique within each level.
9. **Geometry.** Grids are converted to EPSG:4326 and rounded to 7 decimals
   (about 1 cm); rounding is a pure function of each vertex, so shared
   vertices stay shared. Each community is ``shapely.coverage_union_all`` of
   its grids and each street the coverage union of its communities, which
   yields single polygons without slivers or holes.

Services
--------
``sample_services()`` adds what a service-coverage audit needs, generated
after the district from a random stream of its own
(``numpy.random.SeedSequence(seed, spawn_key=(1,))``), so the district is the
same whether or not they are made:

* **Walking network.** A lattice of streets ~115 m apart (irregular spacing),
  turned by a random angle, gently warped and jittered. Where fewer people
  live only every 2nd, 4th or 8th line is built; every 8th line (~900 m
  apart) is a main road built everywhere, so the finer patches always join
  the coarser lines. About 5% of local links are missing. The network
  reaches 150 m beyond the outline. A spot of ~0.6 km² at the edge (1,000-
  4,000 planned residents, a river bend without a bridge) loses every link to
  the rest: a deliberate island. Edge lengths are the straight line x
  1.0-1.1; node ids are large and non-contiguous, like OSM ids.
* **Buildings.** Rectangles turned with the street grid, inside the grids,
  clear of the streets and of each other; tall in the dense core (12-30
  floors), low in villages (1-3). A quarter of the village grids have none.
* **Facilities.** Points 3-25 m from a node of the main network (never on the
  island): a community service centre near the centre of each community
  except a few (up to 8) far from their neighbours' (under-served), service stations,
  health stations, one health centre and one police post per street, elderly
  day care, and one day care centre recorded far out at sea (outside the
  network). Floor areas are drawn around the rulebook's norms, some below
  the minimums and a few missing.

``write_sample()`` (:mod:`geo.sample.write`) writes the three levels to one
GeoPackage and three RFC 7946 GeoJSON files, the services to
``facilities.geojson``, ``buildings.geojson`` and ``network.npz``, plus a README
that says the data is fictional.

Where the steps live
--------------------
This module builds the district and its services from the steps of
:mod:`geo.sample.design` (the constants, the planned streets, the names),
:mod:`geo.sample.geometry` (outline, grid cells, power-diagram partitions,
contiguity; steps 1, 4-6), :mod:`geo.sample.population` (density and
residents; steps 2, 3 and 7), :mod:`geo.sample.network` (the walking network)
and :mod:`geo.sample.facilities` (buildings and facilities); it assembles
codes, names and geometry (steps 8 and 9) itself.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry.polygon import orient

from geo import settings
from geo._atomic import atomic_path
from geo.errors import WanggeError
from geo.sample.design import (
    _BUILDING_DECIMALS,
    _COMMUNITY_SUFFIXES,
    _DECIMALS,
    _NODE_ID_BASE,
    _SERVICES_STREAM,
    _STEMS,
    _STREET_SUFFIXES,
    _SURNAMES,
    _VILLAGE_SUFFIXES,
    CENTER_LONLAT,
    COUNTY_PREFIX,
    DISTRICT_NAME,
    METRIC_CRS,
    OUTPUT_CRS,
    _jittered_plan,
    _resolve_seed,
    _UnitPlan,
)
from geo.sample.facilities import _buildings, _facilities
from geo.sample.geometry import (
    _Adjacency,
    _assign_communities,
    _assign_streets,
    _grid_faces,
    _outline,
    _uniform_points,
)
from geo.sample.network import _walk_network
from geo.sample.population import (
    _DensityField,
    _households,
    _planned_density,
    _raw_population,
    _scale_population,
)

logger = logging.getLogger(__name__)


def sample_district(*, seed: int | None = None) -> dict[str, gpd.GeoDataFrame]:
    """Build the fictional sample district.

    Parameters
    ----------
    seed : int or None
        Seed of ``numpy.random.default_rng``; ``None`` uses
        ``geo.settings.sample_seed``. The same seed always gives identical output.

    Returns
    -------
    dict of str to geopandas.GeoDataFrame
        Keys ``"street"``, ``"community"`` and ``"grid"``. Each frame is in
        EPSG:4326 with columns ``code``, ``name``, ``parent_code`` (missing for
        streets), ``population``, ``households`` and ``geometry`` (Polygon), and
        carries ``attrs`` naming the district, the level and the seed.

    Raises
    ------
    geo.errors.InputError
        If ``seed`` is not a non-negative integer.

    Notes
    -----
    The construction is described in the module docstring. A district is built
    once per seed and process; each call returns a fresh copy of it.
    """
    return _copied(_district_of(_resolve_seed(seed)))


@functools.lru_cache(maxsize=2)
def _district_of(seed: int) -> dict[str, gpd.GeoDataFrame]:
    """Return the district of ``seed``, built once per process (callers get copies)."""
    return _kept("district", seed, lambda: _build_district(seed))


@functools.lru_cache(maxsize=2)
def _services_of(seed: int) -> dict[str, Any]:
    """Return the services of ``seed``'s district, built once per process (callers get copies)."""
    return _kept("services", seed, lambda: _services(_district_of(seed), seed))


def _kept(what: str, seed: int, build: Callable[[], Any]) -> Any:
    """Return ``build()``, kept in the per-user cache across processes.

    Building the sample takes seconds; every start of the app and every
    command on the sample needs it. The file is named by a digest of the code
    that builds it and of the libraries' versions, so a change to either builds
    it anew (and the older file is removed); an unreadable file is built anew
    too. Only the default seed is kept. Set ``WANGGE_SAMPLE_CACHE=0`` to always
    build.
    """
    if os.environ.get("WANGGE_SAMPLE_CACHE", "1") == "0" or seed != settings.sample_seed:
        return build()
    path = _cache_folder() / f"sample-{what}-{seed}-{_code_digest()}.pickle"
    try:
        return pickle.loads(path.read_bytes())  # noqa: S301 - our own file in the user's cache
    except FileNotFoundError:
        pass
    except Exception:  # noqa: BLE001 - a damaged or foreign file is rebuilt, never trusted
        logger.info("rebuilding the cached sample %s (%s unreadable)", what, path)
    built = build()
    try:
        with atomic_path(path) as tmp:
            tmp.write_bytes(pickle.dumps(built, protocol=pickle.HIGHEST_PROTOCOL))
        for old in path.parent.glob(f"sample-{what}-*.pickle"):
            if old != path:
                old.unlink(missing_ok=True)
    except (WanggeError, OSError) as exc:  # a full or read-only cache: the sample still works
        logger.info("the sample is not kept: %s", exc)
    return built


def _cache_folder() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("wangge")) / "sample"


@functools.lru_cache(maxsize=1)
def _code_digest() -> str:
    """Return a digest of the sample's code, the settings and the versions of what computes it."""
    import importlib.metadata

    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for source in [*sorted(here.glob("*.py")), here.parent / "settings.py"]:
        digest.update(source.read_bytes())
    for package in ("numpy", "shapely", "pandas", "geopandas", "pyproj", "scipy"):
        digest.update(f"{package}={importlib.metadata.version(package)};".encode())
    return digest.hexdigest()[:16]


def _copied(parts: dict[str, Any]) -> dict[str, Any]:
    """Return ``parts`` with every frame copied, so a caller cannot change the cached one."""
    return {k: v.copy() if hasattr(v, "copy") else v for k, v in parts.items()}


def _build_district(seed: int) -> dict[str, gpd.GeoDataFrame]:
    """Build the district of ``seed`` (see :func:`sample_district`)."""
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    plan = _jittered_plan(rng)
    to_metric = Transformer.from_crs(OUTPUT_CRS, METRIC_CRS, always_xy=True)
    cx, cy = to_metric.transform(*CENTER_LONLAT)
    centre = np.array([cx, cy])

    outline = _outline(rng, centre, sum(p.area_km2 for p in plan) * 1e6)
    field = _DensityField(rng, centre, plan)
    points = _uniform_points(rng, outline)
    density, intensity = _planned_density(plan, centre, points, field, outline.area)
    faces = _grid_faces(rng, outline, points, intensity)
    adjacency = _Adjacency(faces)
    centroids = shapely.get_coordinates(shapely.centroid(faces))
    areas = shapely.area(faces)

    street_of = _assign_streets(plan, centre, centroids, areas, adjacency)
    raw = _raw_population(rng, density, centroids, areas)
    community_of = _assign_communities(rng, plan, street_of, centroids, raw, adjacency)
    population = _scale_population(plan, street_of, raw, centroids)
    households = _households(rng, population)

    layers = _assemble(rng, plan, faces, street_of, community_of, population, households, field)
    for level, frame in layers.items():
        frame.attrs.update({"district": DISTRICT_NAME, "fictional": True, "seed": seed})
        frame.attrs["level"] = level
    logger.info(
        "sample district (seed %d): %d streets, %d communities, %d grids, %d residents in %.2f s",
        seed,
        len(layers["street"]),
        len(layers["community"]),
        len(layers["grid"]),
        int(layers["grid"]["population"].sum()),
        time.perf_counter() - started,
    )
    return layers


def sample_services(*, seed: int | None = None) -> dict[str, Any]:
    """Build what a service-coverage audit of the sample district needs.

    Everything is generated with the district from the same seed, from a random
    stream of its own (``SeedSequence(seed, spawn_key=(1,))``), so the
    district's layers are the same with or without it. All of it is fictional.

    Parameters
    ----------
    seed : int or None
        Seed of the district; ``None`` uses ``geo.settings.sample_seed``.

    Returns
    -------
    dict of str to DataFrame
        ``"network_nodes"``
            pandas DataFrame: ``id`` (int64, large and non-contiguous like OSM
            ids), ``lon``, ``lat`` (EPSG:4326).
        ``"network_edges"``
            pandas DataFrame: ``u``, ``v`` (node ids) and ``length`` (metres).
            A walking network for :func:`geo.access.network.network_from_tables`:
            main roads about 900 m apart and local streets about 115 m apart
            in the dense core, 230 m or 460 m where fewer people live (parks,
            the rural town), warped and jittered, lengths 1.0-1.1 x the
            straight line, reaching 150 m beyond the outline. A spot of about
            0.6 km² at the district's edge (inside a river bend without a
            bridge) has no link to the rest and holds residents but no
            facility: the audit's island.
        ``"buildings"``
            GeoDataFrame (EPSG:4326) of rectangular footprints with ``floors``
            (int; 12-30 in the dense core, 1-3 in villages), inside the grids
            and off the streets. A quarter of the village grids have none.
        ``"facilities"``
            GeoDataFrame (EPSG:4326) of points: ``type`` (see
            :data:`~geo.sample.design.FACILITY_TYPES`), ``name`` and ``floor_area_m2`` (float, a
            few NaN). A community service centre near the centre of most
            communities, but a few (up to 8) far from their neighbours' have none;
            service stations in a fifth of the larger communities; a health
            station in half of them; one health centre and one police post
            per street; elderly day care in a third of the communities, and
            one day care centre recorded 800 m or more out at sea, outside
            the network. Several floor areas fall below the rulebook's
            minimums. Facilities lie 3-25 m from a network node.

    Raises
    ------
    geo.errors.InputError
        If ``seed`` is not a non-negative integer.
    """
    return _copied(_services_of(_resolve_seed(seed)))


def _assemble(
    rng: np.random.Generator,
    plan: list[_UnitPlan],
    faces: np.ndarray,
    street_of: np.ndarray,
    community_of: np.ndarray,
    population: np.ndarray,
    households: np.ndarray,
    field: _DensityField,
) -> dict[str, gpd.GeoDataFrame]:
    """Give codes and names, then merge the grids into the three output layers."""
    centroids = shapely.get_coordinates(shapely.centroid(faces))
    to_lonlat = Transformer.from_crs(METRIC_CRS, OUTPUT_CRS, always_xy=True)

    def lonlat(coords: np.ndarray) -> np.ndarray:
        lon, lat = to_lonlat.transform(coords[:, 0], coords[:, 1])
        return np.round(np.column_stack([lon, lat]), _DECIMALS)

    grid_geoms = shapely.transform(faces, lonlat)

    def reading_order(xy: np.ndarray) -> np.ndarray:
        # North to south in 600 m bands, west to east inside a band.
        return np.lexsort((xy[:, 0], -np.floor(xy[:, 1] / 600.0)))

    # Streets: 街道 numbered 001.. outwards from the core; the town is 101.
    street_xy = np.array([np.average(centroids[street_of == s], axis=0) for s in range(len(plan))])
    ordinary = [s for s in range(len(plan)) if not plan[s].town]
    ordinary.sort(key=lambda s: float(np.hypot(*(street_xy[s] - field.core))))
    street_code: dict[int, str] = {}
    for number, s in enumerate(ordinary, start=1):
        street_code[s] = f"{COUNTY_PREFIX}{number:03d}000"
    for number, s in enumerate((s for s in range(len(plan)) if plan[s].town), start=101):
        street_code[s] = f"{COUNTY_PREFIX}{number:03d}000"

    stems = list(rng.permutation(len(_STEMS)))
    street_name: dict[int, str] = {}
    for s in sorted(street_code, key=street_code.__getitem__):
        stem = _STEMS[stems.pop()]
        if plan[s].town:
            street_name[s] = stem + "镇"
        else:
            street_name[s] = stem + _STREET_SUFFIXES[int(rng.integers(len(_STREET_SUFFIXES)))]

    community_names = [
        _STEMS[i] + suffix for i in stems for suffix in _COMMUNITY_SUFFIXES
    ]  # stems left unused by streets, so no community repeats a street's name
    community_pool = list(rng.permutation(len(community_names)))
    village_names = [a + b for a in _SURNAMES for b in _VILLAGE_SUFFIXES]
    village_pool = list(rng.permutation(len(village_names)))

    n_comm = int(community_of.max()) + 1
    comm_xy = np.array([np.average(centroids[community_of == c], axis=0) for c in range(n_comm)])
    comm_density = np.array(
        [population[community_of == c].sum() / shapely.area(faces[community_of == c]).sum()
         for c in range(n_comm)]
    )  # fmt: skip
    comm_street = np.array([street_of[community_of == c][0] for c in range(n_comm)])
    comm_code: dict[int, str] = {}
    comm_name: dict[int, str] = {}
    for s in sorted(street_code, key=street_code.__getitem__):
        mine = np.flatnonzero(comm_street == s)
        mine = mine[reading_order(comm_xy[mine])]
        prefix = street_code[s][:9]
        if plan[s].town:
            # The two densest units form the town seat's neighbourhood committees.
            seat = set(mine[np.argsort(-comm_density[mine], kind="stable")[:2]].tolist())
            residents = [c for c in mine.tolist() if c in seat]
            villages = [c for c in mine.tolist() if c not in seat]
        else:
            residents, villages = mine.tolist(), []
        for number, c in enumerate(residents, start=1):
            comm_code[c] = f"{prefix}{number:03d}"
            comm_name[c] = community_names[community_pool.pop()] + "社区"
        for number, c in enumerate(villages, start=201):
            comm_code[c] = f"{prefix}{number:03d}"
            comm_name[c] = village_names[village_pool.pop()] + "村"

    grid_code = np.empty(len(faces), dtype=object)
    grid_name = np.empty(len(faces), dtype=object)
    for c in range(n_comm):
        mine = np.flatnonzero(community_of == c)
        if len(mine) > 99:
            raise RuntimeError("a sample community has more than 99 grids")
        mine = mine[reading_order(centroids[mine])]
        for number, g in enumerate(mine.tolist(), start=1):
            grid_code[g] = f"{comm_code[c]}{number:02d}"
            grid_name[g] = f"{comm_name[c]}第{number:02d}网格"

    grid_order = np.argsort(grid_code.astype(str), kind="stable")
    grids = _frame(
        codes=grid_code[grid_order].tolist(),
        names=grid_name[grid_order].tolist(),
        parents=[comm_code[int(c)] for c in community_of[grid_order]],
        population=population[grid_order],
        households=households[grid_order],
        geometry=grid_geoms[grid_order],
    )

    comm_ids = sorted(comm_code, key=comm_code.__getitem__)
    comm_geoms = [shapely.coverage_union_all(grid_geoms[community_of == c]) for c in comm_ids]
    communities = _frame(
        codes=[comm_code[c] for c in comm_ids],
        names=[comm_name[c] for c in comm_ids],
        parents=[street_code[int(comm_street[c])] for c in comm_ids],
        population=np.array([population[community_of == c].sum() for c in comm_ids]),
        households=np.array([households[community_of == c].sum() for c in comm_ids]),
        geometry=np.array(comm_geoms, dtype=object),
    )

    street_ids = sorted(street_code, key=street_code.__getitem__)
    comm_geom_of = dict(zip(comm_ids, comm_geoms, strict=True))
    street_geoms = [
        shapely.coverage_union_all([comm_geom_of[c] for c in comm_ids if comm_street[c] == s])
        for s in street_ids
    ]
    streets = _frame(
        codes=[street_code[s] for s in street_ids],
        names=[street_name[s] for s in street_ids],
        parents=[None] * len(street_ids),
        population=np.array([population[street_of == s].sum() for s in street_ids]),
        households=np.array([households[street_of == s].sum() for s in street_ids]),
        geometry=np.array(street_geoms, dtype=object),
    )
    layers = {"street": streets, "community": communities, "grid": grids}
    for level, frame in layers.items():
        types = set(shapely.get_type_id(frame.geometry.values))
        if types != {3} or not frame.geometry.is_valid.all():
            raise RuntimeError(f"sample {level} geometry is not all valid single polygons")
    return layers


def _frame(
    *,
    codes: list[str],
    names: list[str],
    parents: list[str] | list[None],
    population: np.ndarray,
    households: np.ndarray,
    geometry: np.ndarray,
) -> gpd.GeoDataFrame:
    """Build one output layer with the standard columns and dtypes."""
    data = pd.DataFrame(
        {
            "code": pd.Series(codes, dtype="str"),
            "name": pd.Series(names, dtype="str"),
            "parent_code": pd.Series(parents, dtype="str"),
            "population": pd.Series(population, dtype="int64"),
            "households": pd.Series(households, dtype="int64"),
        }
    )
    # Exterior rings counter-clockwise, as RFC 7946 recommends.
    oriented = [orient(polygon, sign=1.0) for polygon in geometry]
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(oriented, crs=OUTPUT_CRS), crs=OUTPUT_CRS)


def _services(layers: dict[str, gpd.GeoDataFrame], seed: int) -> dict[str, Any]:
    """Generate the network, buildings and facilities of the sample's ``layers``."""
    started = time.perf_counter()
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_SERVICES_STREAM,)))
    grids = layers["grid"].to_crs(METRIC_CRS)
    communities = layers["community"].to_crs(METRIC_CRS)
    streets = layers["street"].to_crs(METRIC_CRS)
    grid_geoms = np.asarray(grids.geometry.values, dtype=object)
    grid_pop = grids["population"].to_numpy(dtype=float)
    grid_density = grid_pop / shapely.area(grid_geoms) * 1e6
    outline = shapely.coverage_union_all(np.asarray(streets.geometry.values, dtype=object))

    net = _walk_network(rng, outline, grid_geoms, grid_density, grid_pop)
    floors, footprints = _buildings(rng, grids, grid_density, net)
    facilities = _facilities(rng, grids, communities, streets, net, outline)

    to_lonlat = Transformer.from_crs(METRIC_CRS, OUTPUT_CRS, always_xy=True)
    lon, lat = to_lonlat.transform(net.xy[:, 0], net.xy[:, 1])
    gaps = rng.integers(1, 60_000, size=len(net.xy), dtype=np.int64)
    ids = rng.permutation(_NODE_ID_BASE + np.cumsum(gaps))
    nodes = pd.DataFrame(
        {
            "id": ids.astype(np.int64),
            "lon": np.round(np.asarray(lon, dtype=float), _DECIMALS),
            "lat": np.round(np.asarray(lat, dtype=float), _DECIMALS),
        }
    )
    flip = rng.random(len(net.u)) < 0.5  # ways point either way, as in OpenStreetMap
    edges = pd.DataFrame(
        {
            "u": ids[np.where(flip, net.v, net.u)],
            "v": ids[np.where(flip, net.u, net.v)],
            "length": np.round(net.length, 2),
        }
    )

    def lonlat(coords: np.ndarray, decimals: int) -> np.ndarray:
        x, y = to_lonlat.transform(coords[:, 0], coords[:, 1])
        return np.round(np.column_stack([x, y]), decimals)

    buildings = gpd.GeoDataFrame(
        {"floors": pd.Series(floors, dtype="int64")},
        geometry=gpd.GeoSeries(
            shapely.transform(footprints, lambda c: lonlat(c, _BUILDING_DECIMALS)), crs=OUTPUT_CRS
        ),
        crs=OUTPUT_CRS,
    )
    facilities = facilities.set_geometry(
        shapely.transform(np.asarray(facilities.geometry.values), lambda c: lonlat(c, _DECIMALS)),
        crs=OUTPUT_CRS,
    )
    attrs = {"district": DISTRICT_NAME, "fictional": True, "seed": seed}
    for frame in (nodes, edges, buildings, facilities):
        frame.attrs.update(attrs)
    logger.info(
        "sample services (seed %d): %d network nodes, %d edges, %d buildings, %d facilities "
        "in %.2f s",
        seed,
        len(nodes),
        len(edges),
        len(buildings),
        len(facilities),
        time.perf_counter() - started,
    )
    return {
        "network_nodes": nodes,
        "network_edges": edges,
        "buildings": buildings,
        "facilities": facilities,
    }
