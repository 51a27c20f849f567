"""The sample's design: its constants, the planned street-level units and the stock of names.

Everything here is fixed: the fictional district's name and code, the CRSs, the
file names, the planned units (:data:`_PLAN`: four streets inside both bands
of the street sizing guideline and six outside), the tunable sizes of grids,
blocks and roads, and the name stems and suffixes. :func:`_jittered_plan`
moves the planned units a little per seed; :func:`_resolve_seed` checks a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geo import settings
from geo.errors import InputError
from geo.i18n import N_

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


def _resolve_seed(seed: int | None) -> int:
    """Return ``seed``, or the default sample seed when it is ``None``.

    Raises
    ------
    InputError
        If the seed is not a non-negative integer.
    """
    value = settings.sample_seed if seed is None else seed
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise InputError.worded(N_("sample seed must be a non-negative integer, got {value}"),
                                value=repr(value))
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
