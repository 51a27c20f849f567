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

``write_sample()`` writes the three levels to one GeoPackage and three
RFC 7946 GeoJSON files, the services to ``facilities.geojson``,
``buildings.geojson`` and ``network.npz``, plus a README that says the data
is fictional.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import Transformer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from shapely.geometry.polygon import orient

from geo import __version__, settings
from geo._atomic import atomic_path
from geo.errors import InputError

logger = logging.getLogger(__name__)

DISTRICT_NAME: str = "示例区（虚构）/ Sample District (fictional)"
"""Name of the fictional sample district."""

DISTRICT_CODE: str = "370299000000"
"""Fictional 12-digit code of the sample district (county 99 does not exist)."""

COUNTY_PREFIX: str = DISTRICT_CODE[:6]
"""Province 37 (Shandong) + prefecture 02 + fictional county 99."""

METRIC_CRS: str = "EPSG:32651"
"""Local metric CRS the sample is built in (UTM zone 51N)."""

OUTPUT_CRS: str = "EPSG:4326"
"""CRS of the returned layers."""

CENTER_LONLAT: tuple[float, float] = (120.45, 36.15)
"""Approximate centre of the fictional district (longitude, latitude)."""

COLUMNS: tuple[str, ...] = ("code", "name", "parent_code", "population", "households", "geometry")
"""Columns of every level, in order."""

LAYER_NAMES: dict[str, str] = {"street": "streets", "community": "communities", "grid": "grids"}
"""Layer (and file) name of each level in the written sample."""

GPKG_NAME: str = "sample_district.gpkg"
"""File name of the written GeoPackage."""

_LEVELS: tuple[str, str, str] = ("street", "community", "grid")
_SNAP_M = 0.05  # vertices are snapped to a 5 cm grid in the metric CRS
_DECIMALS = 7  # decimals kept in EPSG:4326 (about 1 cm)
_PLAN_POINTS = 40_000  # uniform points that plan the density and the grid sites
_GRID_HOUSEHOLDS = 385.0  # planned households of a grid (the usual band is 300-500)
_VILLAGE_GRID_HOUSEHOLDS = 110.0  # planned households of a grid in the town's villages
_PACKING = 0.58  # sites per r² that random sequential packing reaches with these candidates
_EDGE = 0.5  # candidate sites keep this share of their spacing away from the outline
_RELAX_STEPS = 10  # weighted Lloyd steps that even out the grid cells
_NOISE = 0.05  # log-normal noise of grid residents around the planned figure
_EMPTY_SHARE = 0.02  # share of nearly empty grids (parks, industry)
_BLEND_M = 1000.0  # length scale (m) of the smooth street-by-street density correction
_PEOPLE_PER_COMMUNITY = 8300.0
_FILE_DATE = "2017-04-19T00:00:00Z"  # fixed GeoPackage timestamp, for reproducible bytes

FACILITY_TYPES: tuple[str, ...] = (
    "community_service_centre",
    "community_service_station",
    "health_station",
    "health_centre",
    "elderly_day_care",
    "police_post",
)
"""Facility types of the sample's services (keys of the default rulebook)."""

SERVICE_FILES: dict[str, str] = {
    "facilities": "facilities.geojson",
    "buildings": "buildings.geojson",
    "network": "network.npz",
}
"""File name of each service layer in the written sample."""

_SERVICES_STREAM = 1  # spawn key of the services' random stream (the units use the root)
_BLOCK_M = 115.0  # mean spacing of the street lattice (dense-core block size)
_MAIN_EVERY = 8  # every 8th lattice line is a main road, about 900 m apart
_MARGIN_M = 150.0  # the network reaches this far beyond the district's outline
_ISLAND_AREA_M2 = 6.0e5  # area of the cap cut off from the rest of the network
_NODE_ID_BASE = 1_100_000_000  # node ids start here and climb in random steps, as OSM ids do
_BUILDING_DECIMALS = 6  # decimals of building footprints in EPSG:4326 (about 10 cm)
_ZIP_DATE = (2017, 4, 19, 0, 0, 0)  # fixed timestamp of the members of network.npz


@dataclass(frozen=True)
class _UnitPlan:
    """Planned street-level unit: position (km from the centre), area and residents."""

    x_km: float
    y_km: float
    area_km2: float
    population: int
    town: bool = False


# Four streets inside both guideline bands (6-8 km², 80-120k residents) and six outside.
_PLAN: tuple[_UnitPlan, ...] = (
    _UnitPlan(-3.6, -2.2, 4.1, 106_000),  # old town: too small in area
    _UnitPlan(-1.4, -2.6, 7.3, 165_000),  # dense core: too populous
    _UnitPlan(-4.2, 0.2, 6.6, 108_000),  # inside both bands
    _UnitPlan(-1.9, -0.3, 7.2, 110_000),  # inside both bands
    _UnitPlan(0.6, -2.2, 7.6, 98_000),  # inside both bands
    _UnitPlan(0.3, 0.2, 5.6, 88_000),  # a little small in area
    _UnitPlan(-2.3, 2.3, 6.9, 92_000),  # inside both bands
    _UnitPlan(2.6, -1.9, 6.8, 62_000),  # under-populated new development
    _UnitPlan(0.3, 2.8, 11.2, 116_000),  # far too large in area
    _UnitPlan(4.0, 1.0, 13.5, 46_000, town=True),  # rural town 镇 with villages
)
_CORE_KM = (-2.8, -1.8)
_SUBCENTRE_KM = (0.4, 1.2)

_STEMS: tuple[str, ...] = (
    "海晏", "宁和", "望潮", "听涛", "枫林", "松岭", "云溪", "金沙", "青榆", "石湾",
    "柳岸", "桃源", "兴华", "安澜", "翠屏", "长乐", "嘉禾", "明德", "福瑞", "泰和",
    "丰乐", "瑞昌", "永宁", "凤鸣", "鹤山", "龙湾", "白沙", "银滩", "紫荆", "观澜",
    "临港", "晨曦", "春和", "秋实", "梧桐", "玉泉", "清溪", "锦绣", "文昌", "仁和",
    "德润", "康宁", "怡海", "滨河", "南岭", "北苑", "东篱", "西岚", "朝阳", "澄波",
    "浮岚", "辽岸", "台阁", "江屿", "宁远", "海韵", "书院", "新桥", "古槐", "双泉",
)  # fmt: skip
_STREET_SUFFIXES: tuple[str, ...] = ("路街道", "街道", "路街道", "新区街道", "街道")
_COMMUNITY_SUFFIXES: tuple[str, ...] = tuple("路 里 苑 园 花园 新村 湾 街 山庄 坊".split())
_SURNAMES: tuple[str, ...] = (
    "王", "李", "张", "刘", "陈", "杨", "赵", "周", "吴", "徐", "孙", "朱", "高", "林",
    "郭", "马", "于", "姜", "宋", "崔", "曲", "隋", "薛", "纪", "韩", "董", "邵", "丁",
)  # fmt: skip
_VILLAGE_SUFFIXES: tuple[str, ...] = tuple("家庄 家疃 家屯 家洼 家埠 家沟 家岭 家河".split())


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
    return _build_district(seed)


@functools.lru_cache(maxsize=2)
def _services_of(seed: int) -> dict[str, Any]:
    """Return the services of ``seed``'s district, built once per process (callers get copies)."""
    return _services(_district_of(seed), seed)


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
            :data:`FACILITY_TYPES`), ``name`` and ``floor_area_m2`` (float, a
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


def write_sample(out_dir: str | os.PathLike[str], *, seed: int | None = None) -> list[Path]:
    """Write the fictional sample district to a folder.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Folder to write into; created if needed. Existing files of the same
        name are replaced.
    seed : int or None
        Seed passed to :func:`sample_district`; ``None`` uses
        ``geo.settings.sample_seed``.

    Returns
    -------
    list of pathlib.Path
        The files written: ``sample_district.gpkg`` (layers ``streets``,
        ``communities``, ``grids``), ``streets.geojson``,
        ``communities.geojson``, ``grids.geojson`` (RFC 7946, 7 decimals),
        the services of :func:`sample_services`: ``facilities.geojson``
        (RFC 7946, 7 decimals), ``buildings.geojson`` (RFC 7946, compact, 6
        decimals, about 10 cm) and ``network.npz`` (the walking network, for
        :func:`geo.access.network.load_network`), and ``README.txt``.

    Raises
    ------
    geo.errors.InputError
        If ``seed`` is not a non-negative integer.

    Notes
    -----
    Each file is written under a temporary name in ``out_dir`` and moved into
    place with ``os.replace``, so readers never see a half-written file. The
    GeoPackage timestamp and the dates inside ``network.npz`` are pinned, so
    the same seed gives the same bytes. Buildings are kept out of the
    GeoPackage so that it still holds exactly the three levels.
    """
    from geo.access.network import network_from_tables, save_network

    seed = _resolve_seed(seed)
    layers, services = _district_of(seed), _services_of(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    description = f"{DISTRICT_NAME}: fictional sample data generated by wangge from seed {seed}"

    gpkg = out / GPKG_NAME
    with _pinned_gdal_date(), atomic_path(gpkg) as tmp:
        for level in _LEVELS:
            pyogrio.write_dataframe(
                layers[level],
                tmp,
                layer=LAYER_NAMES[level],
                driver="GPKG",
                layer_options={"DESCRIPTION": f"{level} level; {description}"},
            )
    written.append(gpkg)

    for level in _LEVELS:
        target = out / f"{LAYER_NAMES[level]}.geojson"
        with atomic_path(target) as tmp:
            pyogrio.write_dataframe(
                layers[level],
                tmp,
                layer=LAYER_NAMES[level],
                driver="GeoJSON",
                layer_options={
                    "RFC7946": "YES",
                    "COORDINATE_PRECISION": str(_DECIMALS),
                    "DESCRIPTION": f"{level} level; {description}",
                },
            )
        written.append(target)

    target = out / SERVICE_FILES["facilities"]
    with atomic_path(target) as tmp:
        pyogrio.write_dataframe(
            services["facilities"],
            tmp,
            layer="facilities",
            driver="GeoJSON",
            layer_options={
                "RFC7946": "YES",
                "COORDINATE_PRECISION": str(_DECIMALS),
                "DESCRIPTION": f"service facilities; {description}",
            },
        )
    written.append(target)

    target = out / SERVICE_FILES["buildings"]
    with atomic_path(target) as tmp:
        tmp.write_text(
            _buildings_geojson(services["buildings"], f"building footprints; {description}"),
            encoding="utf-8",
        )
    written.append(target)

    target = out / SERVICE_FILES["network"]
    network = network_from_tables(
        services["network_nodes"],
        services["network_edges"],
        source=f"built-in sample network (fictional), seed {seed}",
    )
    with atomic_path(target) as tmp:
        raw = tmp.with_name(f"{tmp.stem}.raw.npz")
        try:
            save_network(network, raw)
            _pin_zip_dates(raw, tmp)
        finally:
            raw.unlink(missing_ok=True)
    written.append(target)

    readme = out / "README.txt"
    with atomic_path(readme) as tmp:
        tmp.write_text(_readme_text(seed, layers, services), encoding="utf-8")
    written.append(readme)
    logger.info("wrote the sample district (seed %d) to %s", seed, out)
    return written


# --------------------------------------------------------------------------- helpers


def _resolve_seed(seed: int | None) -> int:
    """Return ``seed``, or the default sample seed when it is ``None``.

    Raises
    ------
    InputError
        If the seed is not a non-negative integer.
    """
    value = settings.sample_seed if seed is None else seed
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise InputError(f"sample seed must be a non-negative integer, got {value!r}")
    return int(value)


def _jittered_plan(rng: np.random.Generator) -> list[_UnitPlan]:
    """Return the unit plan with positions, areas and populations jittered a little."""
    units = []
    for p in _PLAN:
        dx, dy = rng.uniform(-0.25, 0.25, size=2)
        area_factor, pop_factor = rng.uniform(0.975, 1.025, size=2)
        units.append(
            _UnitPlan(
                p.x_km + float(dx),
                p.y_km + float(dy),
                p.area_km2 * float(area_factor),
                int(round(p.population * float(pop_factor), -1)),
                p.town,
            )
        )
    return units


def _outline(rng: np.random.Generator, centre: np.ndarray, area_m2: float) -> shapely.Polygon:
    """Return an irregular, star-shaped district outline of the given area (metres)."""
    theta = np.linspace(0.0, 2.0 * np.pi, 361)[:-1]
    a, b = 5600.0, 4400.0
    radius = a * b / np.hypot(b * np.cos(theta), a * np.sin(theta))
    wobble = np.zeros_like(theta)
    for k in range(2, 7):
        amplitude = rng.uniform(0.015, 0.05) / np.sqrt(k - 1)
        wobble += amplitude * np.cos(k * theta + rng.uniform(0.0, 2.0 * np.pi))
    radius = radius * (1.0 + wobble)
    rotation = rng.uniform(-0.15, 0.15)
    xy = np.column_stack([radius * np.cos(theta + rotation), radius * np.sin(theta + rotation)])
    polygon = shapely.Polygon(xy)
    xy *= np.sqrt(area_m2 / polygon.area)
    return shapely.Polygon(xy + centre)


class _DensityField:
    """Smooth residential density (persons/km²) over the district, in metres."""

    def __init__(self, rng: np.random.Generator, centre: np.ndarray, plan: list[_UnitPlan]):
        self.core = centre + 1000.0 * np.array(_CORE_KM) + rng.normal(0.0, 150.0, size=2)
        self.subcentre = centre + 1000.0 * np.array(_SUBCENTRE_KM) + rng.normal(0.0, 150.0, 2)
        town = next(p for p in plan if p.town)
        self.seat = centre + 1000.0 * np.array([town.x_km, town.y_km])
        self.waves = [
            (rng.uniform(0.0, 2.0 * np.pi), rng.uniform(1.5e-3, 3.5e-3), rng.uniform(0, 2 * np.pi))
            for _ in range(4)
        ]

    def __call__(self, xy: np.ndarray) -> np.ndarray:
        """Return the density at points ``xy`` (n x 2, metres), persons/km²."""
        d_core = np.hypot(*(xy - self.core).T)
        d_sub = np.hypot(*(xy - self.subcentre).T)
        d_seat = np.hypot(*(xy - self.seat).T)
        density = (
            3000.0
            + 27000.0 * np.exp(-((d_core / 3800.0) ** 2))
            + 7000.0 * np.exp(-((d_sub / 1800.0) ** 2))
            + 6000.0 * np.exp(-((d_seat / 900.0) ** 2))
        )
        noise = np.zeros(len(xy))
        for direction, frequency, phase in self.waves:
            along = xy[:, 0] * np.cos(direction) + xy[:, 1] * np.sin(direction)
            noise += np.cos(frequency * along + phase)
        return np.asarray(density * np.exp(0.06 * noise))


def _uniform_points(rng: np.random.Generator, outline: shapely.Polygon) -> np.ndarray:
    """Return about ``_PLAN_POINTS`` uniform random points inside ``outline`` (metres)."""
    xmin, ymin, xmax, ymax = outline.bounds
    count = int(_PLAN_POINTS * (xmax - xmin) * (ymax - ymin) / outline.area)
    xy = rng.uniform([xmin, ymin], [xmax, ymax], size=(count, 2))
    return np.asarray(xy[shapely.contains_xy(outline, xy[:, 0], xy[:, 1])])


class _PlannedDensity:
    """The density field times a smooth street-by-street factor that meets the plan."""

    def __init__(self, field: _DensityField, street_xy: np.ndarray, factor: np.ndarray):
        self.field = field
        self.street_xy = street_xy
        self.factor = factor

    def __call__(self, xy: np.ndarray) -> np.ndarray:
        """Return the planned density at points ``xy`` (n x 2, metres), persons/km²."""
        return np.asarray(self.field(xy) * (_blend(xy, self.street_xy) @ self.factor))


def _blend(xy: np.ndarray, street_xy: np.ndarray) -> np.ndarray:
    """Gaussian weights (n x k, rows summing to 1) of the streets around each point."""
    d2 = ((xy[:, None, :] - street_xy[None, :, :]) ** 2).sum(axis=2)
    blend = np.exp(-d2 / _BLEND_M**2)
    return np.asarray(blend / blend.sum(axis=1, keepdims=True))


def _planned_density(
    plan: list[_UnitPlan],
    centre: np.ndarray,
    points: np.ndarray,
    field: _DensityField,
    area_m2: float,
) -> tuple[_PlannedDensity, _SiteIntensity]:
    """Plan the residential density, and from it the grid sites, before any grid exists.

    The uniform ``points`` are split into the planned streets as the grids
    will be later (a power diagram balancing area), and the density field is
    corrected by a smooth blend of per-street factors until each street holds
    its planned residents.
    """
    k = len(plan)
    seeds = centre + 1000.0 * np.array([[p.x_km, p.y_km] for p in plan])
    targets = np.array([p.area_km2 for p in plan])
    centres, weights = _power_fit(
        points, np.ones(len(points)), seeds, targets, spread_m2=area_m2 / k / np.pi, lloyd=0.15
    )
    label = _power_label(points, centres, weights)
    if len(np.unique(label)) != k:
        raise RuntimeError("a planned street of the sample district came out empty")
    street_xy = np.array([points[label == s].mean(axis=0) for s in range(k)])
    people = field(points) * (area_m2 / len(points) / 1e6)
    blend = _blend(points, street_xy)
    wanted = np.array([float(p.population) for p in plan])
    factor = np.ones(k)
    for _ in range(30):
        factor *= wanted / np.bincount(label, weights=people * (blend @ factor), minlength=k)
    density = _PlannedDensity(field, street_xy, factor)
    town = next(s for s in range(k) if plan[s].town)
    return density, _SiteIntensity(density, centres, weights, town)


class _SiteIntensity:
    """Wanted grid sites per m²: planned households over the households a grid should hold.

    Grid managers draw grids by household count, so a grid should hold about
    ``_GRID_HOUSEHOLDS`` households in the streets and at the town seat, and
    about ``_VILLAGE_GRID_HOUSEHOLDS`` in the town's villages, which are
    drawn village by village rather than by count.
    """

    def __init__(
        self, density: _PlannedDensity, centres: np.ndarray, weights: np.ndarray, town: int
    ):
        self.density = density
        self.centres = centres
        self.weights = weights
        self.town = town

    def __call__(self, xy: np.ndarray) -> np.ndarray:
        """Return the wanted sites per m² at points ``xy`` (n x 2, metres)."""
        density = self.density(xy)
        per_grid = np.full(len(xy), _GRID_HOUSEHOLDS)
        town = _power_label(xy, self.centres, self.weights) == self.town
        seat = np.clip((density[town] - 5000.0) / 3000.0, 0.0, 1.0)
        per_grid[town] = _VILLAGE_GRID_HOUSEHOLDS + seat * (
            _GRID_HOUSEHOLDS - _VILLAGE_GRID_HOUSEHOLDS
        )
        return np.asarray(density / 1e6 / settings.household_size / per_grid)


def _grid_faces(
    rng: np.random.Generator,
    outline: shapely.Polygon,
    points: np.ndarray,
    intensity: _SiteIntensity,
) -> np.ndarray:
    """Return the grid polygons (metres): a Voronoi tessellation clipped to ``outline``."""
    sites = _relax(_dart_throw(rng, outline, points, intensity(points)), outline, intensity)
    edges = shapely.voronoi_polygons(
        shapely.multipoints(sites), extend_to=outline.buffer(2000.0), only_edges=True
    )
    linework = shapely.union_all([edges, outline.exterior], grid_size=_SNAP_M)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(linework)))
    inside = shapely.contains(outline, shapely.point_on_surface(faces))
    faces = faces[inside]
    return _merge_slivers(faces)


def _dart_throw(
    rng: np.random.Generator, outline: shapely.Polygon, points: np.ndarray, intensity: np.ndarray
) -> np.ndarray:
    """Place grid sites with a minimum spacing that shrinks as the wanted intensity grows.

    Candidates are the ``points`` thinned in proportion to ``intensity``, so
    every part of the district gets about as many tries per site, and kept
    half a spacing away from the outline, as a grid cannot reach past it.
    """
    # Random sequential packing fills about _PACKING / r² sites per unit area.
    radius = np.sqrt(_PACKING / intensity)
    keep = rng.random(len(points)) < intensity / intensity.max()
    keep &= shapely.distance(outline.exterior, shapely.points(points)) >= _EDGE * radius
    xy, radius = points[keep], radius[keep]
    xmin, ymin = xy.min(axis=0)
    cell = float(radius.max())
    buckets: dict[tuple[int, int], list[int]] = {}
    keys = np.floor((xy - [xmin, ymin]) / cell).astype(np.int64)
    accepted: list[int] = []
    for i in range(len(xy)):
        kx, ky = int(keys[i, 0]), int(keys[i, 1])
        x, y, r = xy[i, 0], xy[i, 1], radius[i]
        ok = True
        for bx in (kx - 1, kx, kx + 1):
            for by in (ky - 1, ky, ky + 1):
                for j in buckets.get((bx, by), ()):
                    if (xy[j, 0] - x) ** 2 + (xy[j, 1] - y) ** 2 < (0.5 * (r + radius[j])) ** 2:
                        ok = False
                        break
                if not ok:
                    break
            if not ok:
                break
        if ok:
            buckets.setdefault((kx, ky), []).append(i)
            accepted.append(i)
    return np.asarray(xy[accepted])


def _relax(sites: np.ndarray, outline: shapely.Polygon, intensity: _SiteIntensity) -> np.ndarray:
    """Even out the grid cells with a few steps of weighted Lloyd relaxation.

    Each site moves to the centroid of its Voronoi cell (clipped to the
    outline) weighted by intensity², which lets the sites settle at a local
    density proportional to the intensity, so that every cell holds about the
    same number of planned households. Taking the weight as linear across a
    cell, that centroid is the plain centroid shifted by the cell's second
    moments times the weight's gradient; the shift is capped for cells that
    straddle the step in intensity at the edge of the town.
    """
    frame = outline.buffer(2000.0)
    for _ in range(_RELAX_STEPS):
        cells = shapely.voronoi_polygons(shapely.multipoints(sites), extend_to=frame, ordered=True)
        parts, owner = shapely.get_parts(
            shapely.intersection(shapely.get_parts(cells), outline), return_index=True
        )
        area, centroid, inertia = _moments(parts, owner, len(sites))
        if not (area > 0).all():
            raise RuntimeError("a grid site of the sample district left the outline")
        # d ln(intensity²) by central differences over a quarter of the cell size.
        h = 0.25 * np.sqrt(area)
        grad = np.empty_like(centroid)
        for axis in (0, 1):
            step = np.zeros_like(centroid)
            step[:, axis] = h
            rise = np.log(intensity(centroid + step)) - np.log(intensity(centroid - step))
            grad[:, axis] = rise / h  # = 2 x (rise / 2h)
        gx, gy = grad.T
        shift = np.column_stack(
            [
                inertia[:, 0, 0] * gx + inertia[:, 0, 1] * gy,
                inertia[:, 1, 0] * gx + inertia[:, 1, 1] * gy,
            ]
        )
        shift /= area[:, None]
        cap = 0.3 * np.sqrt(area) / np.maximum(np.hypot(shift[:, 0], shift[:, 1]), 1e-9)
        sites = centroid + shift * np.minimum(1.0, cap)[:, None]
    return sites


def _moments(
    parts: np.ndarray, owner: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Area, centroid and central second-moment matrix of each cell (parts grouped by owner)."""
    coords, ring = shapely.get_coordinates(shapely.get_exterior_ring(parts), return_index=True)
    origin = coords.mean(axis=0)
    xy = coords - origin
    same = ring[:-1] == ring[1:]
    x0, y0 = xy[:-1][same].T
    x1, y1 = xy[1:][same].T
    ring = ring[:-1][same]
    cross = x0 * y1 - x1 * y0
    cross *= np.sign(np.bincount(ring, weights=cross, minlength=len(parts)))[ring]  # CCW
    who = owner[ring]

    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(who, weights=values * cross, minlength=n)

    area = total(np.full(len(cross), 0.5))
    sx, sy = total((x0 + x1) / 6.0), total((y0 + y1) / 6.0)
    sxx = total((x0 * x0 + x0 * x1 + x1 * x1) / 12.0)
    syy = total((y0 * y0 + y0 * y1 + y1 * y1) / 12.0)
    sxy = total((x0 * y1 + 2.0 * x0 * y0 + 2.0 * x1 * y1 + x1 * y0) / 24.0)
    cx, cy = sx / area, sy / area
    inertia = np.empty((n, 2, 2))
    inertia[:, 0, 0] = sxx - area * cx * cx
    inertia[:, 1, 1] = syy - area * cy * cy
    inertia[:, 0, 1] = inertia[:, 1, 0] = sxy - area * cx * cy
    return area, np.column_stack([cx, cy]) + origin, inertia


def _merge_slivers(faces: np.ndarray) -> np.ndarray:
    """Merge faces far smaller than their neighbours into the longest-bordering one."""
    while True:
        areas = shapely.area(faces)
        adjacency = _Adjacency(faces)
        local = areas.copy()
        for i in range(len(faces)):
            if adjacency.degree(i):
                local[i] = np.median(areas[adjacency.neighbours(i)])
        small = np.flatnonzero(areas < 0.2 * local)
        if len(small) == 0:
            return faces
        target = np.arange(len(faces))
        taken: set[int] = set()
        for i in small[np.argsort(areas[small], kind="stable")]:
            if int(i) in taken:
                continue
            neighbour = adjacency.longest_neighbour(int(i))
            if neighbour < 0 or neighbour in taken:
                continue
            target[i] = neighbour
            taken.update({int(i), neighbour})
        groups = [np.flatnonzero(target == t) for t in np.unique(target)]
        faces = np.array([shapely.coverage_union_all(faces[g]) for g in groups], dtype=object)


class _Adjacency:
    """Edge adjacency of polygons that share exact vertices (a clean coverage)."""

    def __init__(self, polygons: np.ndarray):
        rings = shapely.get_exterior_ring(polygons)
        coords, owner = shapely.get_coordinates(rings, return_index=True)
        same = owner[:-1] == owner[1:]
        start, end, owner = coords[:-1][same], coords[1:][same], owner[:-1][same]
        flip = (start[:, 0] > end[:, 0]) | ((start[:, 0] == end[:, 0]) & (start[:, 1] > end[:, 1]))
        lo = np.where(flip[:, None], end, start)
        hi = np.where(flip[:, None], start, end)
        keys = np.column_stack([lo, hi])
        order = np.lexsort(keys.T[::-1])
        keys, owner = keys[order], owner[order]
        shared = np.all(keys[1:] == keys[:-1], axis=1) & (owner[1:] != owner[:-1])
        a, b = owner[:-1][shared], owner[1:][shared]
        length = np.hypot(*(keys[1:, 2:] - keys[1:, :2])[shared].T)
        i, j = np.minimum(a, b), np.maximum(a, b)
        n = len(polygons)
        pair, inverse = np.unique(i * n + j, return_inverse=True)
        total = np.bincount(inverse, weights=length)
        self.n = n
        self._lists: list[dict[int, float]] = [{} for _ in range(n)]
        for p, w in zip(pair.tolist(), total.tolist(), strict=True):
            u, v = divmod(p, n)
            self._lists[u][v] = w
            self._lists[v][u] = w

    def neighbours(self, i: int) -> list[int]:
        """Return the polygons sharing an edge with polygon ``i``."""
        return list(self._lists[i])

    def degree(self, i: int) -> int:
        """Return the number of edge neighbours of polygon ``i``."""
        return len(self._lists[i])

    def shared(self, i: int, j: int) -> float:
        """Return the length of the boundary shared by polygons ``i`` and ``j``."""
        return self._lists[i].get(j, 0.0)

    def longest_neighbour(self, i: int) -> int:
        """Return the neighbour sharing the longest boundary with ``i`` (-1 if none)."""
        lst = self._lists[i]
        return max(lst, key=lambda j: (lst[j], -j)) if lst else -1


def _power_partition(
    xy: np.ndarray,
    measure: np.ndarray,
    seeds: np.ndarray,
    targets: np.ndarray,
    *,
    spread_m2: float,
    lloyd: float = 0.3,
) -> np.ndarray:
    """Split points into clusters of given total measure; see :func:`_power_fit`."""
    centres, weights = _power_fit(xy, measure, seeds, targets, spread_m2=spread_m2, lloyd=lloyd)
    return _power_label(xy, centres, weights)


def _power_label(xy: np.ndarray, centres: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Return the power-diagram cell (index into ``centres``) of each point."""
    origin = centres.mean(axis=0)
    cx, cy = (centres - origin).T
    x, y = (xy - origin).T
    # |p - c|² - w, less the |p|² that all cells share.
    cost = (cx**2 + cy**2 - weights)[None, :] - 2.0 * (x[:, None] * cx + y[:, None] * cy)
    return np.asarray(np.argmin(cost, axis=1))


def _power_fit(
    xy: np.ndarray,
    measure: np.ndarray,
    seeds: np.ndarray,
    targets: np.ndarray,
    *,
    spread_m2: float,
    iterations: int = 120,
    lloyd: float = 0.3,
) -> tuple[np.ndarray, np.ndarray]:
    """Fit a power diagram that splits points into clusters of given total measure.

    Parameters
    ----------
    xy : numpy.ndarray
        Point coordinates (n x 2, metres).
    measure : numpy.ndarray
        Non-negative measure of each point (area or residents).
    seeds : numpy.ndarray
        Initial cluster centres (k x 2).
    targets : numpy.ndarray
        Wanted measure of each cluster; rescaled to the total measure.
    spread_m2 : float
        Typical squared cluster radius, which sets the weight step.
    iterations : int
        Number of weight updates.
    lloyd : float
        Share by which centres move towards their cluster's centroid during the
        first half of the iterations (keeps clusters compact).

    Returns
    -------
    tuple of numpy.ndarray
        Centres (k x 2) and weights (k) of the iteration with the smallest
        worst relative error; :func:`_power_label` applies them.
    """
    seeds = seeds.astype(float).copy()
    targets = targets * (measure.sum() / targets.sum())
    weights = np.zeros(len(seeds))
    best, best_error = (seeds.copy(), weights.copy()), np.inf
    for step in range(iterations):
        label = _power_label(xy, seeds, weights)
        got = np.bincount(label, weights=measure, minlength=len(seeds))
        error = (got - targets) / targets
        worst = float(np.abs(error).max())
        if worst < best_error:
            best, best_error = (seeds.copy(), weights.copy()), worst
        rate = 0.6 * (1.0 - step / iterations) + 0.05
        weights -= rate * spread_m2 * np.clip(error, -1.0, 1.0)
        if step < iterations // 2 and lloyd > 0:
            mass = np.bincount(label, weights=measure + 1e-9, minlength=len(seeds))
            for axis in (0, 1):
                moment = np.bincount(
                    label, weights=(measure + 1e-9) * xy[:, axis], minlength=len(seeds)
                )
                centroid = np.divide(moment, mass, out=seeds[:, axis].copy(), where=mass > 0)
                seeds[:, axis] += lloyd * (centroid - seeds[:, axis])
    return best


def _make_contiguous(
    label: np.ndarray, members: np.ndarray, adjacency: _Adjacency, measure: np.ndarray
) -> np.ndarray:
    """Hand detached pieces of clusters to the neighbouring cluster they border most.

    Only the points in ``members`` (indices into ``label``) are considered, and
    only their mutual adjacency counts, so clusters stay inside their parent.
    """
    label = label.copy()
    inside = np.zeros(len(label), dtype=bool)
    inside[members] = True
    for _ in range(50):
        pieces = _components(label, members, adjacency, inside)
        main: dict[int, int] = {}
        for index, (lab, nodes) in enumerate(pieces):
            if lab not in main or measure[nodes].sum() > measure[pieces[main[lab]][1]].sum():
                main[lab] = index
        stray = [index for index in range(len(pieces)) if main[pieces[index][0]] != index]
        if not stray:
            return label
        main_of_node = np.full(len(label), -1)
        for lab, index in main.items():
            main_of_node[pieces[index][1]] = lab
        for index in stray:
            lab, nodes = pieces[index]
            border: dict[int, float] = {}
            for u in nodes:
                for v in adjacency.neighbours(u):
                    other = int(main_of_node[v])
                    if inside[v] and other >= 0 and other != lab:
                        border[other] = border.get(other, 0.0) + adjacency.shared(u, v)
            if border:
                label[nodes] = max(border, key=lambda c: (border[c], -c))
    raise RuntimeError("could not make the sample clusters contiguous")


def _components(
    label: np.ndarray, members: np.ndarray, adjacency: _Adjacency, inside: np.ndarray
) -> list[tuple[int, list[int]]]:
    """Return the connected pieces of each cluster as (cluster, nodes), in a stable order."""
    seen: set[int] = set()
    pieces: list[tuple[int, list[int]]] = []
    for start in members.tolist():
        if start in seen:
            continue
        lab = int(label[start])
        stack, nodes = [start], []
        seen.add(start)
        while stack:
            u = stack.pop()
            nodes.append(u)
            for v in adjacency.neighbours(u):
                if inside[v] and v not in seen and label[v] == lab:
                    seen.add(v)
                    stack.append(v)
        pieces.append((lab, sorted(nodes)))
    return pieces


def _assign_streets(
    plan: list[_UnitPlan],
    centre: np.ndarray,
    centroids: np.ndarray,
    areas: np.ndarray,
    adjacency: _Adjacency,
) -> np.ndarray:
    """Assign each grid to a planned street-level unit (index into ``plan``)."""
    seeds = centre + 1000.0 * np.array([[p.x_km, p.y_km] for p in plan])
    targets = np.array([p.area_km2 for p in plan])
    spread = float(areas.sum()) / len(plan) / np.pi
    label = _power_partition(centroids, areas, seeds, targets, spread_m2=spread, lloyd=0.15)
    label = _make_contiguous(label, np.arange(len(label)), adjacency, areas)
    if len(np.unique(label)) != len(plan):
        raise RuntimeError("a planned street of the sample district came out empty")
    return label


def _raw_population(
    rng: np.random.Generator, density: _PlannedDensity, centroids: np.ndarray, areas: np.ndarray
) -> np.ndarray:
    """Unscaled residents of each grid: density x area x noise; a few grids nearly empty."""
    noise = np.exp(rng.normal(0.0, _NOISE, size=len(areas)))
    empty = rng.random(len(areas)) < _EMPTY_SHARE
    noise[empty] *= rng.uniform(0.05, 0.3, size=int(empty.sum()))
    return np.asarray(density(centroids) * areas / 1e6 * noise)


def _assign_communities(
    rng: np.random.Generator,
    plan: list[_UnitPlan],
    street_of: np.ndarray,
    centroids: np.ndarray,
    raw: np.ndarray,
    adjacency: _Adjacency,
) -> np.ndarray:
    """Split each street's grids into communities; return a district-wide community index."""
    community_of = np.full(len(street_of), -1)
    next_id = 0
    for s, unit in enumerate(plan):
        members = np.flatnonzero(street_of == s)
        if unit.town:
            count = int(rng.integers(11, 14))
        else:
            count = max(4, int(round(unit.population / _PEOPLE_PER_COMMUNITY)))
        count = min(count, len(members))
        xy, weight = centroids[members], raw[members]
        seeds = _spread_seeds(rng, xy, count)
        spread = float(np.ptp(xy[:, 0]) * np.ptp(xy[:, 1])) / count / np.pi
        local = _power_partition(xy, weight, seeds, np.ones(count), spread_m2=spread)
        label = np.full(len(street_of), -1)
        label[members] = local
        label = _make_contiguous(label, members, adjacency, raw)
        for lab in np.unique(label[members]):
            community_of[members[label[members] == lab]] = next_id
            next_id += 1
    return community_of


def _spread_seeds(rng: np.random.Generator, xy: np.ndarray, count: int) -> np.ndarray:
    """Pick ``count`` well-spread points of ``xy`` (k-means++ style, seeded)."""
    chosen = [int(rng.integers(len(xy)))]
    distance = ((xy - xy[chosen[0]]) ** 2).sum(axis=1)
    while len(chosen) < count:
        probability = distance
        total = probability.sum()
        index = int(rng.choice(len(xy), p=probability / total)) if total > 0 else len(chosen)
        chosen.append(index)
        distance = np.minimum(distance, ((xy - xy[index]) ** 2).sum(axis=1))
    return np.asarray(xy[chosen])


def _scale_population(
    plan: list[_UnitPlan], street_of: np.ndarray, raw: np.ndarray, centroids: np.ndarray
) -> np.ndarray:
    """Rescale raw residents so each street hits its planned total; integers.

    The raw figures already follow the planned density, so only a small gap
    is left (grids at street borders, noise). A smooth correction (a Gaussian
    blend of per-street factors) takes up most of it, so density changes
    gradually across street borders; a last exact per-street factor closes it.
    """
    k = len(plan)
    targets = np.array([float(p.population) for p in plan])
    street_xy = np.array([centroids[street_of == s].mean(axis=0) for s in range(k)])
    blend = _blend(centroids, street_xy)
    scaled = raw.copy()
    for _ in range(12):
        factor = targets / np.bincount(street_of, weights=scaled, minlength=k)
        scaled *= blend @ factor
    population = np.zeros(len(raw), dtype=np.int64)
    for s in range(k):
        members = np.flatnonzero(street_of == s)
        share = scaled[members] * (targets[s] / scaled[members].sum())
        population[members] = _round_to_total(share, plan[s].population)
    return population


def _round_to_total(values: np.ndarray, total: int) -> np.ndarray:
    """Round non-negative values to integers summing to ``total`` (largest remainder)."""
    floor = np.floor(values).astype(np.int64)
    missing = int(total - floor.sum())
    order = np.argsort(-(values - floor), kind="stable")
    floor[order[:missing]] += 1
    return floor


def _households(rng: np.random.Generator, population: np.ndarray) -> np.ndarray:
    """Households: residents / average household size, with a little noise; at least 1."""
    size = settings.household_size * np.exp(rng.normal(0.0, 0.04, size=len(population)))
    return np.maximum(1, np.rint(population / size)).astype(np.int64)


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


def _buildings_geojson(buildings: gpd.GeoDataFrame, description: str) -> str:
    """Compact RFC 7946 GeoJSON of the building footprints (CCW rings, 6 decimals).

    Written by hand, one feature a line without spaces, because the GDAL
    writer's spacing makes the file about a fifth larger.
    """
    polygons = [orient(p, sign=1.0) for p in buildings.geometry.values]
    coords, owner = shapely.get_coordinates(np.asarray(polygons, dtype=object), return_index=True)
    starts = np.searchsorted(owner, np.arange(len(polygons) + 1))
    text = np.char.add(
        np.char.add("[", np.char.mod(f"%.{_BUILDING_DECIMALS}f", coords[:, 0])),
        np.char.add(",", np.char.add(np.char.mod(f"%.{_BUILDING_DECIMALS}f", coords[:, 1]), "]")),
    ).tolist()
    features = []
    for k, floors in enumerate(buildings["floors"].tolist()):
        ring = ",".join(text[starts[k] : starts[k + 1]])
        features.append(
            f'{{"type":"Feature","properties":{{"floors":{int(floors)}}},'
            f'"geometry":{{"type":"Polygon","coordinates":[[{ring}]]}}}}'
        )
    head = json.dumps(
        {"type": "FeatureCollection", "name": "buildings", "description": description},
        ensure_ascii=False,
        separators=(",", ":"),
    )[:-1]
    return head + ',"features":[\n' + ",\n".join(features) + "\n]}\n"


def _pin_zip_dates(source: Path, target: Path) -> None:
    """Copy a zip archive (an ``.npz``) with every member dated :data:`_ZIP_DATE`."""
    with (
        zipfile.ZipFile(source) as src,
        zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            pinned = zipfile.ZipInfo(info.filename, date_time=_ZIP_DATE)
            pinned.compress_type = zipfile.ZIP_DEFLATED
            pinned.external_attr = info.external_attr
            dst.writestr(pinned, src.read(info.filename))


def _readme_text(seed: int, layers: dict[str, gpd.GeoDataFrame], services: dict[str, Any]) -> str:
    """Text of the README written next to the sample files."""
    streets = layers["street"]
    facilities = services["facilities"]
    kinds = ",\n".join(
        f"    {n:>4} {t}" for t, n in facilities["type"].value_counts(sort=False).items()
    )
    return (
        f"{DISTRICT_NAME}\n"
        f"{'=' * 40}\n\n"
        "THIS DATA IS FICTIONAL. Every boundary, name, code and head count was invented\n"
        f"by wangge {__version__} (geo.sample.build) from seed {seed}; it describes no real\n"
        "place. "
        f"County code 99 under prefix {COUNTY_PREFIX} does not exist. Regenerate with\n"
        f"geo.sample.build.write_sample(out_dir, seed={seed}).\n\n"
        f"Levels: {len(streets)} streets (街道/镇), {len(layers['community'])} communities "
        f"(社区/村), {len(layers['grid'])} grids (网格);\n"
        f"{int(streets['population'].sum()):,} residents, "
        f"{int(streets['households'].sum()):,} households.\n\n"
        f"Files: {GPKG_NAME} (layers streets, communities, grids) and streets.geojson,\n"
        "communities.geojson, grids.geojson (RFC 7946). CRS: EPSG:4326.\n"
        "Columns: code (12-digit 统计用区划代码; grids 14 digits), name, parent_code,\n"
        "population, households, geometry.\n\n"
        "Services, for the coverage audit (wangge audit), equally fictional:\n"
        f"  {SERVICE_FILES['facilities']}: {len(facilities)} facilities:\n{kinds};\n"
        "    columns type (rulebook key), name, floor_area_m2 (m², empty where unknown).\n"
        f"  {SERVICE_FILES['buildings']}: {len(services['buildings']):,} building footprints; "
        "column floors.\n"
        f"  {SERVICE_FILES['network']}: walking network, {len(services['network_nodes']):,} "
        f"nodes and {len(services['network_edges']):,} edges\n"
        "    (geo.access.network.load_network); one part at the district's edge has no link\n"
        "    to the rest.\n"
    )


@contextmanager
def _pinned_gdal_date() -> Iterator[None]:
    """Pin GDAL's notion of "now" so GeoPackage timestamps are reproducible."""
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": _FILE_DATE})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})


# --------------------------------------------------------------------------- services


@dataclass(frozen=True)
class _Network:
    """The sample's walking network in metres: nodes, edges and where the island is."""

    xy: np.ndarray  # (n, 2) node coordinates, metres in METRIC_CRS
    u: np.ndarray  # edge start (node index)
    v: np.ndarray  # edge end (node index)
    length: np.ndarray  # edge length, metres
    main: np.ndarray  # per node: lies on a main road
    island: np.ndarray  # per node: part of the deliberately cut-off island
    theta: float  # rotation of the street grid (radians)


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


def _walk_network(
    rng: np.random.Generator,
    outline: shapely.Polygon,
    grid_geoms: np.ndarray,
    grid_density: np.ndarray,
    grid_pop: np.ndarray,
) -> _Network:
    """Build the walking network: a warped, rotated lattice thinned where few people live.

    Lattice lines are ~115 m apart (irregular spacing); where the density is
    lower only every 2nd, 4th or 8th line is built, and every 8th line (about
    900 m apart) is a main road built everywhere, so the coarser lines always
    run through the finer patches and join them up. A few local links are
    missing (dead ends, superblocks). A spot at the edge of the district (a
    disc around a point of the outline, a river bend without a bridge) loses
    every link to the rest: the island. Fragments left disconnected by the
    thinning are dropped.
    """
    theta = float(rng.uniform(-0.45, 0.45))
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    origin = np.asarray(outline.centroid.coords[0])
    local_outline = (shapely.get_coordinates(outline) - origin) @ rot
    lo = local_outline.min(axis=0) - 300.0
    hi = local_outline.max(axis=0) + 300.0

    def lines(a: float, b: float) -> np.ndarray:
        steps = _BLOCK_M * rng.uniform(0.85, 1.2, size=int((b - a) / (0.85 * _BLOCK_M)) + 2)
        pos = a + np.concatenate([[0.0], np.cumsum(steps)])
        return np.asarray(pos[pos <= b])

    cols, rows = lines(lo[0], hi[0]), lines(lo[1], hi[1])
    nc = len(cols)
    jj, ii = np.meshgrid(np.arange(nc), np.arange(len(rows)))
    i, j = ii.ravel(), jj.ravel()
    local = np.column_stack([cols[j], rows[i]])
    warp = np.zeros_like(local)
    for _ in range(3):
        angle = rng.uniform(0.0, 2.0 * np.pi)
        wavenumber = 2.0 * np.pi / rng.uniform(1800.0, 4000.0)
        phase = rng.uniform(0.0, 2.0 * np.pi, size=2)
        amplitude = rng.uniform(15.0, 35.0, size=2)
        along = local @ np.array([np.cos(angle), np.sin(angle)])
        warp += amplitude * np.sin(wavenumber * along[:, None] + phase)
    jitter = np.clip(rng.normal(0.0, 5.0, size=local.shape), -12.0, 12.0)
    xy = origin + (local + warp + jitter) @ rot.T

    # Streets run up to _MARGIN_M beyond the outline, as in an extract of a real network.
    points = shapely.points(xy)
    near = np.flatnonzero(shapely.dwithin(outline, points, _MARGIN_M))
    grid_tree = shapely.STRtree(grid_geoms)
    point_idx, grid_idx = grid_tree.query_nearest(points[near], all_matches=False)
    inside = np.zeros(len(xy), dtype=bool)
    inside[near] = True
    density = np.zeros(len(xy))
    density[near[point_idx]] = grid_density[grid_idx]
    level = np.select(
        [density >= 12_000.0, density >= 2_500.0, density >= 600.0], [1, 2, 4], _MAIN_EVERY
    )
    i0, j0 = (int(k) for k in rng.integers(_MAIN_EVERY, size=2))

    us, vs, mains = [], [], []
    for step, along_line, ok in ((1, i - i0, j < nc - 1), (nc, j - j0, i < len(rows) - 1)):
        a = np.flatnonzero(ok)
        b = a + step
        both = inside[a] & inside[b]
        a, b, line = a[both], b[both], along_line[a[both]]
        main = line % _MAIN_EVERY == 0
        active = line % np.maximum(level[a], level[b]) == 0
        us.append(a[active])
        vs.append(b[active])
        mains.append(main[active])
    u, v, main = np.concatenate(us), np.concatenate(vs), np.concatenate(mains)
    keep = main | (rng.random(len(u)) >= 0.05)
    u, v, main = u[keep], v[keep], main[keep]

    n = len(xy)
    used = np.zeros(n, dtype=bool)
    used[u] = used[v] = True
    best: tuple[int, np.ndarray, np.ndarray, np.ndarray] | None = None
    for centre, radius in _island_caps(rng, outline, grid_geoms, grid_pop):
        in_cap = np.hypot(*(xy - centre).T) <= radius
        link = in_cap[u] == in_cap[v]  # the river cuts every link across it
        graph = coo_matrix((np.ones(int(link.sum())), (u[link], v[link])), shape=(n, n))
        _, label = connected_components(graph, directed=False)
        cap_sizes = np.bincount(label[used & in_cap], minlength=label.max() + 1)
        if best is None or cap_sizes.max() > best[0]:
            best = (int(cap_sizes.max()), link, label, cap_sizes)
        if cap_sizes.max() >= 25:
            break
    assert best is not None
    _, link, label, cap_sizes = best
    if cap_sizes.max() < 10:
        raise RuntimeError("the island of the sample network came out empty")
    u, v, main = u[link], v[link], main[link]
    used[:] = False
    used[u] = used[v] = True
    sizes = np.bincount(label[used], minlength=label.max() + 1)
    mainland = int(np.argmax(sizes))
    island_label = int(np.argmax(cap_sizes))
    keep_node = used & ((label == mainland) | (label == island_label))
    new_index = np.cumsum(keep_node) - 1
    keep_edge = keep_node[u]
    u, v, main = new_index[u[keep_edge]], new_index[v[keep_edge]], main[keep_edge]
    xy, label = xy[keep_node], label[keep_node]
    on_main = np.zeros(len(xy), dtype=bool)
    on_main[u[main]] = on_main[v[main]] = True
    straight = np.hypot(*(xy[u] - xy[v]).T)
    length = straight * rng.uniform(1.0, 1.1, size=len(u))
    return _Network(xy, u, v, length, on_main, label == island_label, theta)


def _island_caps(
    rng: np.random.Generator, outline: shapely.Polygon, grid_geoms: np.ndarray, grid_pop: np.ndarray
) -> Iterator[tuple[np.ndarray, float]]:
    """Yield spots at the district's edge, about 0.6 km² with 1,000-4,000 residents.

    Each spot is a disc ``(centre, radius)`` around a point of the outline (a
    bend of a river), tried at 24 points of the outline in a random order.
    """
    grid_area = shapely.area(grid_geoms)
    ring = outline.exterior
    for k in rng.permutation(24):
        centre = np.asarray(ring.interpolate(k / 24.0, normalized=True).coords[0])
        lo_r, hi_r = 100.0, 2000.0
        for _ in range(20):  # bisect the radius for the planned area
            r = 0.5 * (lo_r + hi_r)
            if outline.intersection(shapely.Point(centre).buffer(r)).area < _ISLAND_AREA_M2:
                lo_r = r
            else:
                hi_r = r
        radius = 0.5 * (lo_r + hi_r)
        spot = shapely.Point(centre).buffer(radius)
        share = shapely.area(shapely.intersection(grid_geoms, spot)) / grid_area
        if 1000.0 <= float((share * grid_pop).sum()) <= 4000.0:
            yield centre, radius


@dataclass(frozen=True)
class _BuildingClass:
    """How the buildings of a kind of grid look: counts per grid, floors and size (m)."""

    min_density: float  # persons/km² from which a grid is of this class
    count: tuple[int, int]  # buildings per grid, both ends included
    floors: tuple[int, int]  # floors, both ends included
    length: tuple[float, float]
    width: tuple[float, float]


_BUILDING_CLASSES: tuple[_BuildingClass, ...] = (
    _BuildingClass(18_000.0, (5, 8), (12, 30), (24.0, 45.0), (13.0, 18.0)),  # dense core
    _BuildingClass(9_000.0, (5, 8), (6, 18), (20.0, 40.0), (12.0, 16.0)),  # urban
    _BuildingClass(3_500.0, (5, 8), (3, 8), (14.0, 30.0), (10.0, 14.0)),  # suburbs, town seat
    _BuildingClass(0.0, (0, 3), (1, 4), (20.0, 50.0), (14.0, 30.0)),  # parks, industry, edges
)
_VILLAGE_CLASS = _BuildingClass(0.0, (6, 12), (1, 3), (9.0, 15.0), (8.0, 12.0))  # houses


def _buildings(
    rng: np.random.Generator, grids: gpd.GeoDataFrame, density: np.ndarray, net: _Network
) -> tuple[np.ndarray, np.ndarray]:
    """Place building footprints (metres) inside the grids, off the streets and each other.

    Returns ``(floors, footprints)``. Buildings are rectangles turned with the
    street grid (plus a few degrees, a fifth of them crosswise); a quarter of
    the village grids get none, so the audit spreads their residents instead.
    """
    geoms = np.asarray(grids.geometry.values, dtype=object)
    codes = grids["code"].astype(str)
    village = (
        (codes.str[6:9].astype(int) >= 100) & (codes.str[9:12].astype(int) >= 200)
    ).to_numpy()
    n_grids = len(grids)
    classes = (*_BUILDING_CLASSES, _VILLAGE_CLASS)
    cls = np.zeros(n_grids, dtype=np.int64)
    for k in range(len(_BUILDING_CLASSES) - 1, -1, -1):
        cls[density >= _BUILDING_CLASSES[k].min_density] = k
    cls[village] = len(_BUILDING_CLASSES)

    def class_range(field: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pairs = np.array([getattr(k, field) for k in classes], dtype=float)
        return pairs[rows, 0], pairs[rows, 1]

    low, high = class_range("count", cls)
    target = rng.integers(low.astype(np.int64), high.astype(np.int64) + 1)
    target[village & (rng.random(n_grids) < 0.25)] = 0

    # Candidate centres: uniform in each grid's bounding box, kept inside the grid.
    tries = 12 * target
    owner = np.repeat(np.arange(n_grids), tries)
    bounds = shapely.bounds(geoms)[owner]
    xy = bounds[:, :2] + rng.random((len(owner), 2)) * (bounds[:, 2:] - bounds[:, :2])
    c = cls[owner]

    def draw(field: str, extra: float = 0.0) -> np.ndarray:
        low, high = class_range(field, c)
        return np.asarray(low + rng.random(len(owner)) * (high + extra - low))

    length, width = draw("length"), draw("width")
    floors = np.floor(draw("floors", extra=1.0)).astype(np.int64)  # both ends included
    turn = net.theta + rng.normal(0.0, 0.05, size=len(owner))
    turn += np.where(rng.random(len(owner)) < 0.2, 0.5 * np.pi, 0.0)
    half_diagonal = 0.5 * np.hypot(length, width)

    ok = shapely.contains_xy(geoms[owner], xy[:, 0], xy[:, 1])
    ok &= _road_distance(net, xy) >= half_diagonal + 3.0
    chosen: list[int] = []
    candidates = np.flatnonzero(ok)
    starts = np.searchsorted(owner[candidates], np.arange(n_grids + 1))
    for g in range(n_grids):
        mine = candidates[starts[g] : starts[g + 1]]
        taken: list[int] = []
        for k in mine.tolist():
            if len(taken) >= target[g]:
                break
            if taken:
                t = np.asarray(taken)
                gap = np.hypot(xy[t, 0] - xy[k, 0], xy[t, 1] - xy[k, 1])
                if (gap < half_diagonal[t] + half_diagonal[k]).any():
                    continue
            taken.append(k)
        chosen.extend(taken)
    pick = np.asarray(chosen, dtype=np.int64)
    corners = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5]])
    dx = corners[None, :, 0] * length[pick, None]
    dy = corners[None, :, 1] * width[pick, None]
    cos, sin = np.cos(turn[pick])[:, None], np.sin(turn[pick])[:, None]
    ring = np.stack([xy[pick, 0:1] + dx * cos - dy * sin, xy[pick, 1:2] + dx * sin + dy * cos], -1)
    footprints = shapely.polygons(ring)
    inside = shapely.within(footprints, geoms[owner[pick]])
    return floors[pick][inside], footprints[inside]


def _road_distance(net: _Network, xy: np.ndarray) -> np.ndarray:
    """Approximate distance (m) from points to the nearest edge (edges sampled every 8 m)."""
    a, b = net.xy[net.u], net.xy[net.v]
    span = np.hypot(*(b - a).T)
    count = np.maximum(1, np.ceil(span / 8.0).astype(np.int64))
    edge = np.repeat(np.arange(len(span)), count)
    first = np.repeat(np.cumsum(count) - count, count)
    t = (np.arange(len(edge)) - first) / count[edge]
    samples = np.concatenate([a[edge] + t[:, None] * (b - a)[edge], net.xy])
    distance, _ = cKDTree(samples).query(xy)
    return np.asarray(distance) - 4.0  # the true distance is at most 4 m less


def _facilities(
    rng: np.random.Generator,
    grids: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    streets: gpd.GeoDataFrame,
    net: _Network,
    outline: shapely.Polygon,
) -> gpd.GeoDataFrame:
    """Place the service facilities (metres) on the mainland of the network.

    See :func:`sample_services` for the placement rules and the findings they make.
    """
    mainland = np.flatnonzero(~net.island)
    tree = cKDTree(net.xy[mainland])

    def site(point: np.ndarray, nodes: np.ndarray | None = None) -> np.ndarray:
        """Return a spot 3-25 m from the mainland node nearest ``point`` (or of ``nodes``)."""
        if nodes is None:
            node = net.xy[mainland[int(tree.query(point)[1])]]
        else:
            node = net.xy[nodes[int(np.argmin(np.hypot(*(net.xy[nodes] - point).T)))]]
        radius, angle = rng.uniform(3.0, 25.0), rng.uniform(0.0, 2.0 * np.pi)
        return np.asarray(node + radius * np.array([np.cos(angle), np.sin(angle)]))

    comm_geoms = np.asarray(communities.geometry.values, dtype=object)
    comm_names = communities["name"].astype(str).tolist()
    n_comm = len(communities)
    comm_row = {code: k for k, code in enumerate(communities["code"])}
    grid_comm = np.array([comm_row[p] for p in grids["parent_code"]])
    grid_xy = shapely.get_coordinates(shapely.centroid(np.asarray(grids.geometry.values)))
    grid_pop = grids["population"].to_numpy(dtype=float)
    rep = shapely.get_coordinates(shapely.point_on_surface(comm_geoms))
    centre = _weighted_centres(grid_xy, grid_pop, grid_comm, n_comm)
    off = ~shapely.contains_xy(comm_geoms, centre[:, 0], centre[:, 1])
    centre[off] = rep[off]
    node_idx, comm_idx = shapely.STRtree(comm_geoms).query(
        shapely.points(net.xy[mainland]), predicate="within"
    )
    node_comm = np.full(len(mainland), -1)
    node_comm[node_idx] = comm_idx

    def nodes_in(
        c: int, around: np.ndarray, at_least: float, at_most: float = np.inf
    ) -> np.ndarray:
        mine = mainland[node_comm == c]
        gap = np.hypot(*(net.xy[mine] - around).T)
        return np.asarray(mine[(gap >= at_least) & (gap <= at_most)])

    frames: list[pd.DataFrame] = []

    def add(kind: str, names: list[str], area: np.ndarray, xy: np.ndarray) -> None:
        frames.append(
            pd.DataFrame(
                {"type": kind, "name": names, "floor_area_m2": area, "x": xy[:, 0], "y": xy[:, 1]}
            )
        )

    # Community service centres near each community's centre; a few communities have none.
    centres = np.array([site(centre[c]) for c in range(n_comm)])
    present = np.ones(n_comm, dtype=bool)
    wanted = int(rng.integers(5, 9))
    for c in rng.permutation(n_comm).tolist():
        if n_comm - present.sum() >= wanted:
            break
        others = present.copy()
        others[c] = False
        near = cKDTree(centres[others])
        mine = grid_comm == c
        gap = near.query(grid_xy[mine])[0]
        far_share = grid_pop[mine][gap > 500.0].sum() / max(grid_pop[mine].sum(), 1.0)
        if near.query(rep[c])[0] > 550.0 and far_share >= 0.6:
            present[c] = False
    kept = np.flatnonzero(present)
    add(
        "community_service_centre",
        [comm_names[c] + "综合服务中心" for c in kept],
        _floor_areas(rng, len(kept), (600.0, 1200.0), (400.0, 590.0), low=7, missing=1),
        centres[kept],
    )

    # Community service stations in about a fifth of the larger communities.
    areas = shapely.area(comm_geoms)
    large = np.flatnonzero(present & (areas >= np.median(areas)))
    chosen = np.sort(rng.choice(large, size=min(len(large), n_comm // 5), replace=False))
    station_names, station_xy = [], []
    for c in chosen.tolist():
        spots = nodes_in(c, centres[c], 300.0)
        if len(spots):
            station_xy.append(site(net.xy[spots[int(rng.integers(len(spots)))]], spots))
            village = comm_names[c].endswith("村")
            station_names.append(comm_names[c] + ("便民服务站" if village else "服务站"))
    add(
        "community_service_station",
        station_names,
        _floor_areas(rng, len(station_names), (600.0, 900.0), (250.0, 580.0), low=8, missing=0),
        np.array(station_xy).reshape(-1, 2),
    )

    # Health stations in about half of the communities, away from the service centre.
    chosen = np.sort(rng.choice(n_comm, size=n_comm // 2, replace=False))
    clinic_xy = []
    for c in chosen.tolist():
        spots = nodes_in(c, centres[c], 150.0)
        if len(spots):
            clinic_xy.append(site(net.xy[spots[int(rng.integers(len(spots)))]], spots))
        else:
            clinic_xy.append(site(rep[c]))
    add(
        "health_station",
        [
            comm_names[c] + ("卫生室" if comm_names[c].endswith("村") else "卫生服务站")
            for c in chosen
        ],
        _floor_areas(rng, len(chosen), (120.0, 300.0), (80.0, 115.0), low=6, missing=0),
        np.array(clinic_xy),
    )

    # One health centre per street on a main road near its centre; one police post per street.
    street_row = {code: k for k, code in enumerate(streets["code"])}
    comm_street = np.array([street_row[p] for p in communities["parent_code"]])
    street_centre = _weighted_centres(grid_xy, grid_pop, comm_street[grid_comm], len(streets))
    on_main = mainland[net.main[mainland]]
    hospital_xy = np.array([site(p, on_main) for p in street_centre])
    street_names = streets["name"].astype(str).tolist()
    hospital_names = [
        name[:-1] + "卫生院" if name.endswith("镇") else name + "社区卫生服务中心"
        for name in street_names
    ]
    add(
        "health_centre",
        hospital_names,
        _floor_areas(rng, len(streets), (1750.0, 2300.0), (1200.0, 1650.0), low=1, missing=0),
        hospital_xy,
    )
    police_names, police_xy = [], []
    for s in range(len(streets)):
        mine = np.flatnonzero(comm_street == s)
        spots = np.concatenate([nodes_in(int(c), hospital_xy[s], 300.0, 1200.0) for c in mine])
        if len(spots) == 0:
            spots = np.concatenate([nodes_in(int(c), hospital_xy[s], 0.0) for c in mine])
        spot = site(net.xy[spots[int(rng.integers(len(spots)))]], spots)
        police_xy.append(spot)
        inside = np.flatnonzero(shapely.contains_xy(comm_geoms, spot[0], spot[1]))
        police_names.append(comm_names[int(inside[0]) if len(inside) else int(mine[0])] + "警务室")
    add(
        "police_post",
        police_names,
        _floor_areas(rng, len(streets), (60.0, 180.0), (60.0, 60.0), low=0, missing=1),
        np.array(police_xy),
    )

    # Elderly day care in about a third of the communities, mostly beside the service centre.
    chosen = np.sort(rng.choice(n_comm, size=n_comm // 3, replace=False))
    care_xy = []
    for c in chosen.tolist():
        angle = rng.uniform(0.0, 2.0 * np.pi)
        care_xy.append(
            site(centres[c] + rng.uniform(40.0, 90.0) * np.array([np.cos(angle), np.sin(angle)]))
        )
    care_names = [comm_names[c] + "老年人日间照料中心" for c in chosen]
    # ... and one whose recorded location lies far outside the network (a geocoding slip).
    coords = shapely.get_coordinates(outline)
    angle = rng.uniform(0.0, 2.0 * np.pi)
    direction = np.array([np.cos(angle), np.sin(angle)])
    edge = coords[int(np.argmax(coords @ direction))]
    distance = 800.0
    while tree.query(edge + distance * direction)[0] < 650.0:
        distance += 100.0
    care_xy.append(edge + distance * direction)
    nearest = int(np.argmin(shapely.distance(comm_geoms, shapely.Point(edge))))
    care_names.append(comm_names[nearest] + "老年人日间照料中心（海滨分部）")
    add(
        "elderly_day_care",
        care_names,
        _floor_areas(rng, len(care_names), (350.0, 800.0), (200.0, 340.0), low=4, missing=1),
        np.array(care_xy),
    )

    table = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(
        table[["type", "name", "floor_area_m2"]],
        geometry=gpd.points_from_xy(table["x"], table["y"]),
        crs=METRIC_CRS,
    )


def _weighted_centres(xy: np.ndarray, weight: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
    """Weighted mean position of the points of each group ``0..n-1``."""
    total = np.bincount(group, weights=weight, minlength=n) + 1e-9
    return np.column_stack(
        [np.bincount(group, weights=weight * xy[:, k], minlength=n) / total for k in (0, 1)]
    )


def _floor_areas(
    rng: np.random.Generator,
    n: int,
    usual: tuple[float, float],
    small: tuple[float, float],
    *,
    low: int,
    missing: int,
) -> np.ndarray:
    """Floor areas (m², whole numbers): ``low`` drawn from ``small``, ``missing`` NaN."""
    area = np.round(rng.uniform(*usual, size=n))
    order = rng.permutation(n)
    low, missing = min(low, n), min(missing, max(n - low, 0))
    area[order[:low]] = np.round(rng.uniform(*small, size=low))
    area[order[low : low + missing]] = np.nan
    return np.asarray(area, dtype=float)
