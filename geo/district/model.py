"""The district model: a :class:`District` of units at up to three levels, and their kinds.

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
from dataclasses import dataclass, field

import geopandas as gpd
import pyproj
import shapely
import shapely.ops

from geo import LEVELS, settings
from geo.findings import Finding

logger = logging.getLogger(__name__)

FIELDS = ("code", "name", "parent_code", "population", "households")
"""The attributes a unit layer is mapped to."""
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


def _label(code: str | None, name: str | None) -> str:
    if name and code:
        return f"{name} ({code})"
    return str(name or code or "(unnamed)")


def _labels(units: gpd.GeoDataFrame, k: int) -> list[str]:
    """``name (code)`` of the first ``k`` units, for a message naming some of them."""
    return [_label(c, n) for c, n in zip(units["code"][:k], units["name"][:k], strict=True)]


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
