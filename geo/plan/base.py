"""What every plan on one district shares: the :class:`PlanBase` and the :class:`Street`.

Everything that does not change while editing is computed once per district
in a read-only :class:`PlanBase` (shared by every plan on that district):
block areas and perimeters in the district's metric CRS, figures, a point on
each block, and the rook adjacency as a CSR graph carrying the length of
each shared boundary. :class:`~geo.plan.model.Plan` reads it to update its
street totals incrementally.

Examples
--------
>>> base = PlanBase.from_district(district)               # doctest: +SKIP
>>> base.n_blocks, base.noun                              # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyproj
import shapely
from scipy.sparse import csr_matrix

from geo.district.model import District
from geo.district.topology import adjacency_pairs
from geo.errors import InputError, PlanError
from geo.findings import Word
from geo.i18n import N_
from geo.propose.barriers import Barriers, cut_pairs

logger = logging.getLogger(__name__)


NOUNS: dict[str, tuple[str, str]] = {
    "community": ("community", "communities"),
    "grid": ("grid", "grids"),
}

_CAPITALISED = {"community": N_("Community"), "communities": N_("Communities"),
                "grid": N_("Grid"), "grids": N_("Grids")}


def capital_word(noun: str) -> Word:
    """Return the noun of a level (``communities``) capitalised, as a word of the interface.

    Examples
    --------
    >>> capital_word("grids"), capital_word("blocks")
    ('Grids', 'Blocks')
    """
    return Word(_CAPITALISED.get(noun, noun.capitalize()))

MIN_SHARED_M = 1.0
"""Blocks sharing less boundary than this (m) do not count as neighbours for contiguity."""


IntArray = npt.NDArray[np.int64]


FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Street:
    """A street-level unit of a plan (街道 street office, 镇 town or 乡 township).

    Parameters
    ----------
    code, name : str
        Its code (12-digit statistical code where known) and name.
    kind : str
        ``street``, ``town`` or ``township``; rulebooks apply rules by kind.
    locked : bool
        A locked street refuses moves in and out.
    """

    code: str
    name: str
    kind: str = "street"
    locked: bool = False

    @property
    def label(self) -> str:
        """Return ``name (code)``, or the code alone when the street has no name."""
        return f"{self.name} ({self.code})" if self.name and self.name != self.code else self.code


@dataclass(frozen=True, eq=False)
class PlanBase:
    """What every plan on one district shares, computed once: block arrays and adjacency.

    Build it with :meth:`from_district` (cached per district). All arrays are
    read-only and indexed by block position (the order of the block layer).

    Attributes
    ----------
    level : str
        The block level: ``community``, or ``grid`` without a community level.
    codes, names : numpy.ndarray
        Block codes and names (object arrays of str).
    area_m2, perimeter_m : numpy.ndarray
        Block area and perimeter in :attr:`metric_crs`.
    population, households : numpy.ndarray
        Block figures; missing figures count as 0 and are flagged in
        ``population_missing`` / ``households_missing``.
    indptr, indices, shared_m : numpy.ndarray
        Symmetric CSR adjacency: the neighbours of block ``b`` are
        ``indices[indptr[b]:indptr[b + 1]]`` and ``shared_m`` the boundary
        length each shares with it (every positive shared length, so that the
        perimeter arithmetic is exact).
    rook : numpy.ndarray
        Per CSR entry, whether the pair shares at least ``min_shared_m`` of
        boundary (rook contiguity, used for pieces).
    lon, lat : numpy.ndarray
        A point inside each block (WGS-84).
    geometry : numpy.ndarray
        Block polygons in EPSG:4326, for drawing.
    streets : tuple of Street
        The district's street-level units, in order.
    initial : numpy.ndarray
        The district's own assignment (street position per block).
    district_key : str
        A hash of the block level and codes; guards against loading a plan on
        the wrong district.
    """

    level: str
    codes: npt.NDArray[np.object_]
    names: npt.NDArray[np.object_]
    area_m2: FloatArray
    perimeter_m: FloatArray
    population: FloatArray
    households: FloatArray
    population_missing: npt.NDArray[np.bool_]
    households_missing: npt.NDArray[np.bool_]
    indptr: IntArray
    indices: IntArray
    shared_m: FloatArray
    rook: npt.NDArray[np.bool_]
    lon: FloatArray
    lat: FloatArray
    geometry: npt.NDArray[np.object_]
    streets: tuple[Street, ...]
    initial: IntArray
    metric_crs: pyproj.CRS
    district_key: str
    coverage_valid: bool
    min_shared_m: float
    rook_graph: csr_matrix = field(repr=False)
    index: dict[str, int] = field(repr=False)
    district: District | None = field(default=None, repr=False)
    barrier_cuts: int = 0
    """Neighbour pairs cut apart by barriers (0 without barriers)."""

    @property
    def n_blocks(self) -> int:
        """Number of building blocks."""
        return len(self.codes)

    @property
    def noun(self) -> str:
        """The block level's noun, singular (``community``)."""
        return NOUNS.get(self.level, (self.level, self.level + "s"))[0]

    @property
    def nouns(self) -> str:
        """The block level's noun, plural (``communities``)."""
        return NOUNS.get(self.level, (self.level, self.level + "s"))[1]

    def neighbours(self, block: int) -> IntArray:
        """Return the positions of the blocks sharing boundary with block ``block``."""
        return self.indices[self.indptr[block] : self.indptr[block + 1]]

    def positions(self, codes: Sequence[str]) -> IntArray:
        """Return the positions of block codes.

        Raises
        ------
        PlanError
            Naming every code that is not a block of this district.
        """
        out = np.empty(len(codes), dtype=np.int64)
        unknown = []
        for k, code in enumerate(codes):
            pos = self.index.get(str(code))
            if pos is None:
                unknown.append(str(code))
                pos = -1
            out[k] = pos
        if unknown:
            if len(unknown) <= 5:
                raise PlanError.worded(
                    N_("Unknown {noun} code(s) {codes}: not in this plan's district. Pick "
                       "{nouns} from the map or the table, or check the codes."),
                    noun=Word(self.noun), codes=", ".join(unknown), nouns=Word(self.nouns),
                )
            raise PlanError.worded(
                N_("Unknown {noun} code(s) {codes} and {more} more: not in this plan's "
                   "district. Pick {nouns} from the map or the table, or check the codes."),
                noun=Word(self.noun), codes=", ".join(unknown[:5]), more=len(unknown) - 5,
                nouns=Word(self.nouns),
            )
        return out

    @classmethod
    def from_district(
        cls,
        district: District,
        *,
        min_shared_m: float | None = None,
        barriers: Barriers | None = None,
    ) -> PlanBase:
        """Return the shared arrays of a district, computing them on first use.

        Parameters
        ----------
        district : District
            A district with a street level and at least one level below it.
        min_shared_m : float, optional
            Least shared boundary (m) that makes two blocks neighbours for
            contiguity; default :data:`MIN_SHARED_M`.
        barriers : geo.propose.barriers.Barriers, optional
            Rivers, railways, expressways: neighbours whose shared boundary runs
            along one with no crossing are not adjacent (:func:`geo.propose.barriers.cut_pairs`).

        Returns
        -------
        PlanBase
            The same object for the same district (and ``min_shared_m`` and
            barriers) as long as the district lives.

        Raises
        ------
        InputError
            If the district has no street level, no level below it, blocks
            without a code or a street, or duplicate block codes.
        """
        tol = MIN_SHARED_M if min_shared_m is None else float(min_shared_m)
        key = (id(district), tol, id(barriers) if barriers is not None else 0)
        with _BASES_LOCK:
            hit = _BASES.get(key)
            if hit is not None and hit[0]() is district:
                return hit[1]
            for k in [k for k, (ref, _) in _BASES.items() if ref() is None]:
                del _BASES[k]
        base = _build_base(district, min_shared_m=tol, barriers=barriers)
        with _BASES_LOCK:
            _BASES[key] = (weakref.ref(district), base)
        return base


_BASES: dict[tuple[int, float, int], tuple[weakref.ReferenceType[District], PlanBase]] = {}
_BASES_LOCK = threading.Lock()


def _frozen(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def district_key(level: str, codes: Sequence[str]) -> str:
    """Return the key that ties a stored plan to its district: a hash of the block codes."""
    text = level + "\n" + "\n".join(sorted(str(c) for c in codes))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _build_base(
    district: District, *, min_shared_m: float, barriers: Barriers | None = None
) -> PlanBase:
    started = time.perf_counter()
    if "street" not in district.units:
        raise InputError.worded(
            N_("The district has no street level, so a plan has no streets to move "
               "communities between. Load a street layer too, or give the communities a "
               "street code column (parent_code) so the streets are built from them."))
    level = "community" if "community" in district.units else district.building_block
    if level == "street":
        raise InputError.worded(
            N_("The district has only streets. Load its communities (or grids) as well: a plan "
               "moves whole communities between streets."))
    noun, nouns = NOUNS.get(level, (level, level + "s"))
    frame = district.units[level]
    codes = [_text(c) for c in frame["code"]]
    if any(c is None for c in codes):
        raise InputError.worded(
            N_("{n} {nouns} have no code. Give every {noun} a code (the column mapped to code) "
               "before planning."),
            n=sum(c is None for c in codes), nouns=Word(nouns), noun=Word(noun),
        )
    code_list = [str(c) for c in codes]
    dupes = pd.Series(code_list)[pd.Series(code_list).duplicated()].unique().tolist()
    if dupes:
        raise InputError.worded(
            N_("{Noun} code(s) {codes} are used more than once. Make {noun} codes unique before "
               "planning."),
            Noun=capital_word(noun), codes=", ".join(map(str, dupes[:5])), noun=Word(noun),
        )
    streets_frame = district.units["street"]
    streets = []
    for _, row in streets_frame.iterrows():
        code = _text(row["code"])
        if code is None:
            raise InputError.worded(
                N_("A street has no code. Give every street a code before planning."))
        kind = _text(row.get("kind")) or "street"
        streets.append(Street(code=code, name=_text(row.get("name")) or code, kind=kind))
    street_pos = {s.code: k for k, s in enumerate(streets)}
    parents = [_text(p) for p in frame["parent_code"]]
    orphans = [c for c, p in zip(code_list, parents, strict=True) if p not in street_pos]
    if orphans:
        raise InputError.worded(
            N_("{n} {nouns} belong to no street (e.g. {codes}). Link them first: build the "
               "district with link='spatial' (CLI: --link spatial) to take each one's street "
               "from the largest overlap, or apply an assignment table."),
            n=len(orphans), nouns=Word(nouns), codes=", ".join(orphans[:5]),
        )
    initial = np.array([street_pos[str(p)] for p in parents], dtype=np.int64)

    wgs = np.asarray(frame.geometry.values, dtype=object)
    metric = np.asarray(frame.geometry.to_crs(district.metric_crs).values, dtype=object)
    invalid = ~shapely.is_valid(metric)
    if invalid.any():
        logger.warning(
            "%d %s have invalid polygons; their repaired shapes are used for plan totals",
            int(invalid.sum()),
            nouns,
        )
        metric = metric.copy()
        metric[invalid] = shapely.make_valid(metric[invalid])
        wgs = wgs.copy()
        wgs[invalid] = shapely.make_valid(wgs[invalid])
    area = shapely.area(metric).astype(float)
    perim = shapely.length(metric).astype(float)

    n = len(code_list)
    pairs = adjacency_pairs(gpd.GeoSeries(metric, crs=district.metric_crs), min_shared_m=0.0)
    i = pairs["i"].to_numpy(dtype=np.int64)
    j = pairs["j"].to_numpy(dtype=np.int64)
    s = pairs["shared_m"].to_numpy(dtype=float)
    keep = s > 0
    i, j, s = i[keep], j[keep], s[keep]
    rows = np.concatenate([i, j])
    cols = np.concatenate([j, i])
    weight = np.concatenate([s, s])
    order = np.lexsort((cols, rows))
    rows, cols, weight = rows[order], cols[order], weight[order]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))]).astype(np.int64)
    rook = weight >= min_shared_m
    if barriers is not None:
        cut = cut_pairs(metric, rows, cols, barriers, district.metric_crs) & rook
        n_cut = int(cut.sum()) // 2  # each pair appears in both directions
        logger.info("%d neighbour pairs cut apart by barriers", n_cut)
        rook &= ~cut
    else:
        n_cut = 0
    rook_graph = csr_matrix(
        (np.ones(int(rook.sum()), dtype=np.int8), (rows[rook], cols[rook])), shape=(n, n)
    )

    pop = pd.to_numeric(frame["population"], errors="coerce").to_numpy(dtype=float)
    hh = pd.to_numeric(frame["households"], errors="coerce").to_numpy(dtype=float)
    pop_missing = ~np.isfinite(pop)
    hh_missing = ~np.isfinite(hh)
    if pop_missing.any() or hh_missing.any():
        logger.info(
            "%d %s lack residents and %d lack households; they count as 0 in plan totals",
            int(pop_missing.sum()),
            nouns,
            int(hh_missing.sum()),
        )
    points = shapely.get_coordinates(shapely.point_on_surface(wgs))
    try:
        coverage_valid = bool(shapely.coverage_is_valid(wgs))
    except Exception:  # pragma: no cover - GEOS without coverage support
        coverage_valid = False
    base = PlanBase(
        level=level,
        codes=_frozen(np.array(code_list, dtype=object)),
        names=_frozen(np.array([_text(x) or "" for x in frame["name"]], dtype=object)),
        area_m2=_frozen(area),
        perimeter_m=_frozen(perim),
        population=_frozen(np.where(pop_missing, 0.0, pop)),
        households=_frozen(np.where(hh_missing, 0.0, hh)),
        population_missing=_frozen(pop_missing),
        households_missing=_frozen(hh_missing),
        indptr=_frozen(indptr),
        indices=_frozen(cols.astype(np.int64)),
        shared_m=_frozen(weight.astype(float)),
        rook=_frozen(rook),
        lon=_frozen(points[:, 0].copy()),
        lat=_frozen(points[:, 1].copy()),
        geometry=_frozen(wgs),
        streets=tuple(streets),
        initial=_frozen(initial),
        metric_crs=district.metric_crs,
        district_key=district_key(level, code_list),
        coverage_valid=coverage_valid,
        min_shared_m=min_shared_m,
        rook_graph=rook_graph,
        index={c: k for k, c in enumerate(code_list)},
        district=district,
        barrier_cuts=n_cut,
    )
    logger.info(
        "plan base: %d %s, %d streets, %d neighbour pairs in %.2f s",
        n,
        nouns,
        len(streets),
        len(i),
        time.perf_counter() - started,
    )
    return base


__all__ = ["MIN_SHARED_M", "PlanBase", "Street", "district_key"]
