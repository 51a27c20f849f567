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

``write_sample()`` writes the three levels to one GeoPackage and three
RFC 7946 GeoJSON files, plus a README that says the data is fictional.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import Transformer
from shapely.geometry.polygon import orient

from geo import __version__, settings
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
    The construction is described in the module docstring.
    """
    seed = _resolve_seed(seed)
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
        ``communities.geojson``, ``grids.geojson`` (RFC 7946, 7 decimals) and
        ``README.txt``.

    Raises
    ------
    geo.errors.InputError
        If ``seed`` is not a non-negative integer.

    Notes
    -----
    Each file is written under a temporary name in ``out_dir`` and moved into
    place with ``os.replace``, so readers never see a half-written file. The
    GeoPackage timestamp is pinned, so the same seed gives the same bytes.
    """
    seed = _resolve_seed(seed)
    layers = sample_district(seed=seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    description = f"{DISTRICT_NAME}: fictional sample data generated by wangge from seed {seed}"

    gpkg = out / GPKG_NAME
    with _pinned_gdal_date(), _atomic_target(gpkg) as tmp:
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
        with _atomic_target(target) as tmp:
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

    readme = out / "README.txt"
    with _atomic_target(readme) as tmp:
        tmp.write_text(_readme_text(seed, layers), encoding="utf-8")
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


def _readme_text(seed: int, layers: dict[str, gpd.GeoDataFrame]) -> str:
    """Text of the README written next to the sample files."""
    streets = layers["street"]
    return (
        f"{DISTRICT_NAME}\n"
        f"{'=' * 40}\n\n"
        "THIS DATA IS FICTIONAL. Every boundary, name, code and head count was invented\n"
        f"by wangge {__version__} (geo.sample) from seed {seed}; it describes no real place.\n"
        f"County code 99 under prefix {COUNTY_PREFIX} does not exist. Regenerate with\n"
        f"geo.sample.write_sample(out_dir, seed={seed}).\n\n"
        f"Levels: {len(streets)} streets (街道/镇), {len(layers['community'])} communities "
        f"(社区/村), {len(layers['grid'])} grids (网格);\n"
        f"{int(streets['population'].sum()):,} residents, "
        f"{int(streets['households'].sum()):,} households.\n\n"
        f"Files: {GPKG_NAME} (layers streets, communities, grids) and streets.geojson,\n"
        "communities.geojson, grids.geojson (RFC 7946). CRS: EPSG:4326.\n"
        "Columns: code (12-digit 统计用区划代码; grids 14 digits), name, parent_code,\n"
        "population, households, geometry.\n"
    )


@contextmanager
def _atomic_target(target: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; move it onto ``target`` on success."""
    tmp = target.with_name(f".{target.stem}.{os.getpid()}.{uuid.uuid4().hex}{target.suffix}")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextmanager
def _pinned_gdal_date() -> Iterator[None]:
    """Pin GDAL's notion of "now" so GeoPackage timestamps are reproducible."""
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": _FILE_DATE})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})
