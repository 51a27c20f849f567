"""Editable street plans: building blocks assigned to streets, live totals, undo/redo, storage.

A :class:`Plan` assigns the district's building blocks (communities, or grids
when the district has no community level) to streets (街道 street offices,
towns, townships). Planners move whole blocks between streets and see each
street's area, residents, households, compactness and contiguity change at
once, measured against the rulebook's bands.

Everything that does not change while editing is computed once per district
in a read-only :class:`PlanBase` (shared by every plan on that district):
block areas and perimeters in the district's metric CRS, figures, a point on
each block, and the rook adjacency as a CSR graph carrying the length of
each shared boundary. A move then updates the street totals **incrementally**,
looking only at the moved blocks' neighbours; nothing is dissolved:

* area, residents and households are sums over the blocks;
* the perimeter of a street (of the union of its blocks) is the sum of its
  blocks' perimeters less twice the boundary its blocks share with each
  other, so moving block *b* from street *s* to *t* changes
  ``P[s] -= p[b] - 2·shared(b, s)`` and ``P[t] += p[b] - 2·shared(b, t)``;
* compactness is Polsby-Popper, ``4πA / P²``;
* the number of contiguous pieces is recounted only for the streets the last
  edit touched.

Every change is an :class:`Edit` (a small JSON-ready record) on an undo
stack. A :class:`PlanStore` keeps plans in the project GeoPackage (a SQLite
file): each edit is appended to an edit log together with the assignment rows
it changed, in one transaction, so a closed browser or a crash loses nothing.
Every stored step raises the plan's revision; an edit made on an older
revision (another tab or process changed the plan meanwhile) is replayed on
the stored plan first, or refused when it clashes, so no one's edit is lost.

Examples
--------
>>> plan = Plan.from_district(district)                   # doctest: +SKIP
>>> edit = plan.move(["370299001003"], "370299002000")    # doctest: +SKIP
>>> plan.street_table(rulebook)                           # doctest: +SKIP
>>> store = PlanStore("project.gpkg"); store.record(plan, edit)  # doctest: +SKIP
>>> plan.undo(); store.record(plan, plan.redo())          # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import itertools
import json
import logging
import math
import os
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyproj
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from geo._format import bound as _bound
from geo.district.model import District
from geo.district.topology import adjacency_pairs
from geo.errors import InputError, PlanError
from geo.findings import Finding
from geo.io import atomic_path
from geo.propose.barriers import Barriers, cut_pairs
from geo.rules.bands import Band, breach_message
from geo.rules.rulebook import MEASURES, Rule, Rulebook, load_rulebook

logger = logging.getLogger(__name__)

EDIT_OPS = ("move", "new_street", "lock", "rename")
"""What an :class:`Edit` can do."""

STREET_KIND_NUMBERS: dict[str, tuple[int, int]] = {
    "street": (1, 99),
    "town": (100, 199),
    "township": (200, 399),
}
"""Township digits (7th-9th of a 12-digit code) used by each kind of street-level unit."""

NOUNS: dict[str, tuple[str, str]] = {
    "community": ("community", "communities"),
    "grid": ("grid", "grids"),
}

MIN_SHARED_M = 1.0
"""Blocks sharing less boundary than this (m) do not count as neighbours for contiguity."""

_TWELVE = re.compile(r"^\d{12}$")

IntArray = npt.NDArray[np.int64]
_REVISIONS = itertools.count(1)
"""Plan revisions: every change of any plan takes the next number."""
FloatArray = npt.NDArray[np.float64]


# ------------------------------------------------------------------------ records


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


@dataclass(frozen=True)
class Edit:
    """One recorded change to a plan: enough to undo it, redo it and store it as JSON.

    Parameters
    ----------
    op : str
        One of :data:`EDIT_OPS`: ``move`` (blocks to a street), ``new_street``,
        ``lock`` (lock or unlock) or ``rename``.
    street : str
        The street concerned: the target of a move, or the street created,
        locked or renamed.
    blocks : tuple of str
        ``move``: codes of the blocks moved (only those that changed street).
    sources : tuple of str
        ``move``: each moved block's street before the move.
    name, old_name : str or None
        ``new_street``: its name; ``rename``: the new and the old name.
    kind : str or None
        ``new_street``: its kind.
    locked : bool or None
        ``lock``: the new state.
    noop : bool
        True for an edit that changed nothing (moving blocks to the street they
        are in); such edits are not recorded and not stored.
    """

    op: str
    street: str
    blocks: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    name: str | None = None
    old_name: str | None = None
    kind: str | None = None
    locked: bool | None = None
    noop: bool = field(default=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Return the edit as a JSON-ready dictionary (without ``noop``)."""
        out = dataclasses.asdict(self)
        out.pop("noop")
        out["blocks"] = list(self.blocks)
        out["sources"] = list(self.sources)
        return out

    def to_json(self) -> str:
        """Return the edit as compact JSON (UTF-8 text, keys sorted)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Edit:
        """Rebuild an edit from :meth:`to_dict` output.

        Raises
        ------
        PlanError
            If the record is not an edit wangge wrote.
        """
        if not isinstance(data, dict) or data.get("op") not in EDIT_OPS or not data.get("street"):
            raise PlanError(
                f"Not a plan edit: {data!r}. The edit log holds records written by "
                "PlanStore.record; do not edit it by hand."
            )
        names = {f.name for f in dataclasses.fields(cls)} - {"noop"}
        kwargs = {k: v for k, v in data.items() if k in names}
        kwargs["blocks"] = tuple(str(b) for b in data.get("blocks", ()))
        kwargs["sources"] = tuple(str(s) for s in data.get("sources", ()))
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str) -> Edit:
        """Rebuild an edit from :meth:`to_json` output."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PlanError(
                f"An edit record is not valid JSON ({exc}). The plan's edit log is damaged; "
                "delete the plan or restore the project file from a backup."
            ) from exc
        return cls.from_dict(data)

    def describe(self, noun: str = "community", nouns: str = "communities") -> str:
        """Return a short description for an undo/redo button, e.g. ``move 3 communities to X``."""
        if self.op == "move":
            n = len(self.blocks)
            return f"move {n} {noun if n == 1 else nouns} to {self.street}"
        if self.op == "new_street":
            return f"new street {self.name} ({self.street})"
        if self.op == "lock":
            return f"{'lock' if self.locked else 'unlock'} {self.street}"
        return f"rename {self.street} to {self.name}"


# ------------------------------------------------------------------------ the base


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
            shown = ", ".join(unknown[:5]) + (
                f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            )
            raise PlanError(
                f"Unknown {self.noun} code(s) {shown}: not in this plan's district. Pick "
                f"{self.nouns} from the map or the table, or check the codes."
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
        raise InputError(
            "The district has no street level, so a plan has no streets to move "
            "communities between. Load a street layer too, or give the communities a "
            "street code column (parent_code) so the streets are built from them."
        )
    level = "community" if "community" in district.units else district.building_block
    if level == "street":
        raise InputError(
            "The district has only streets. Load its communities (or grids) as well: a plan "
            "moves whole communities between streets."
        )
    noun, nouns = NOUNS.get(level, (level, level + "s"))
    frame = district.units[level]
    codes = [_text(c) for c in frame["code"]]
    if any(c is None for c in codes):
        raise InputError(
            f"{sum(c is None for c in codes)} {nouns} have no code. Give every {noun} a "
            "code (the column mapped to code) before planning."
        )
    code_list = [str(c) for c in codes]
    dupes = pd.Series(code_list)[pd.Series(code_list).duplicated()].unique().tolist()
    if dupes:
        raise InputError(
            f"{noun.capitalize()} code(s) {', '.join(map(str, dupes[:5]))} are used more than "
            f"once. Make {noun} codes unique before planning."
        )
    streets_frame = district.units["street"]
    streets = []
    for _, row in streets_frame.iterrows():
        code = _text(row["code"])
        if code is None:
            raise InputError("A street has no code. Give every street a code before planning.")
        kind = _text(row.get("kind")) or "street"
        streets.append(Street(code=code, name=_text(row.get("name")) or code, kind=kind))
    street_pos = {s.code: k for k, s in enumerate(streets)}
    parents = [_text(p) for p in frame["parent_code"]]
    orphans = [c for c, p in zip(code_list, parents, strict=True) if p not in street_pos]
    if orphans:
        raise InputError(
            f"{len(orphans)} {nouns} belong to no street (e.g. {', '.join(orphans[:5])}). Link "
            "them first: build the district with link='spatial' (CLI: --link spatial) to take "
            "each one's street from the largest overlap, or apply an assignment table."
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


# ------------------------------------------------------------------------ the plan


@dataclass(frozen=True)
class _Pieces:
    count: int
    smallest: IntArray


@lru_cache(maxsize=1)
def _default_rulebook() -> Rulebook:
    return load_rulebook()


_STATUS_COLUMNS = {
    "area_km2": "area_status",
    "population": "population_status",
    "households": "households_status",
    "density_per_km2": "density_status",
}


class Plan:
    """Assignment of building blocks (communities; grids if the district has no community level) to streets, with live totals and undo/redo.

    Parameters
    ----------
    base : PlanBase
        The district's shared arrays (:meth:`PlanBase.from_district`).
    name : str
        The plan's name (its key in a :class:`PlanStore`).
    streets : sequence of Street, optional
        The streets; default the district's.
    assignment : array-like of int, optional
        Street position per block; default the district's own assignment.
    done, undone : sequence of Edit, optional
        The history a stored plan comes back with: edits :meth:`undo` can take back
        (oldest first) and edits :meth:`redo` can replay (the last one first).

    Notes
    -----
    A plan is not thread-safe: give each browser session its own plan (they
    may share the :class:`PlanBase`).
    """  # noqa: E501

    def __init__(
        self,
        base: PlanBase,
        *,
        name: str = "current",
        streets: Sequence[Street] | None = None,
        assignment: npt.ArrayLike | None = None,
        done: Sequence[Edit] = (),
        undone: Sequence[Edit] = (),
    ) -> None:
        self.name = str(name)
        self._base = base
        self._streets: list[Street] = list(base.streets if streets is None else streets)
        self._pos = {s.code: k for k, s in enumerate(self._streets)}
        if len(self._pos) != len(self._streets):
            raise PlanError("Two streets of the plan share a code; street codes must be unique.")
        raw = base.initial if assignment is None else assignment
        a = np.array(raw, dtype=np.int64)
        if a.shape != (base.n_blocks,) or (
            len(a) and (a.min() < 0 or a.max() >= len(self._streets))
        ):
            raise PlanError(
                f"The assignment must give one street position (0 to {len(self._streets) - 1}) "
                f"for each of the {base.n_blocks} {base.nouns}."
            )
        self._assignment = a
        self._undo: list[Edit] = list(done)
        self._redo: list[Edit] = list(undone)
        self._pieces: dict[str, _Pieces] = {}
        self._geoms: dict[str, shapely.Geometry] = {}
        self._touched: tuple[str, ...] = ()
        self._revision = next(_REVISIONS)
        self._digest: tuple[int, str] | None = None
        self._recount()
        self._prev_area = self._area.copy()
        self._prev_pop = self._pop.copy()

    # ---------------------------------------------------------------- construction

    @classmethod
    def from_district(
        cls,
        district: District,
        *,
        name: str = "current",
        min_shared_m: float | None = None,
        barriers: Barriers | None = None,
    ) -> Plan:
        """Start a plan from a district's own assignment of blocks to streets.

        Parameters
        ----------
        district : District
            A district with a street level and communities (or grids).
        name : str
            The plan's name.
        min_shared_m, barriers : optional
            See :meth:`PlanBase.from_district`.

        Returns
        -------
        Plan

        Raises
        ------
        InputError
            If the district has no street level or blocks without a street.
        """
        base = PlanBase.from_district(district, min_shared_m=min_shared_m, barriers=barriers)
        return cls(base, name=name)

    def copy(self, *, name: str) -> Plan:
        """Return an independent plan with the same streets and assignment and no history."""
        other = Plan(self._base, name=name, streets=self._streets, assignment=self._assignment)
        other._geoms = dict(self._geoms)
        other._pieces = dict(self._pieces)
        return other

    # ---------------------------------------------------------------- state

    @property
    def base(self) -> PlanBase:
        """The district's shared arrays."""
        return self._base

    @property
    def streets(self) -> list[Street]:
        """The streets, in order (a copy; change them through edits)."""
        return list(self._streets)

    @property
    def assignment(self) -> IntArray:
        """Street position per block (a read-only view)."""
        view = self._assignment.view()
        view.setflags(write=False)
        return view

    @property
    def revision(self) -> int:
        """A number that changes with every change of the plan, unique within the process.

        Every edit, undo and redo and every refresh from the store takes a new
        number (never one used before, by this plan or another), so a result
        cached under ``(plan, revision)`` can never be served for another state.
        """
        return self._revision

    def state_digest(self) -> str:
        """Return a digest of what the plan holds: streets (codes, names, kinds, locks), assignment.

        Two plans with equal digests hold the same streets and assignment, whatever
        their histories (rename, undo, rename again to the same name gives the
        digest it had). Computed once per :attr:`revision`.
        """
        if self._digest is None or self._digest[0] != self._revision:
            h = hashlib.blake2b(digest_size=16)
            h.update(self._base.district_key.encode())
            h.update(json.dumps([dataclasses.astuple(s) for s in self._streets]).encode())
            h.update(np.ascontiguousarray(self._assignment).tobytes())
            self._digest = (self._revision, h.hexdigest())
        return self._digest[1]

    @property
    def undo_stack(self) -> tuple[Edit, ...]:
        """Edits that :meth:`undo` can take back, oldest first."""
        return tuple(self._undo)

    @property
    def redo_stack(self) -> tuple[Edit, ...]:
        """Edits that :meth:`redo` can replay; the last one is replayed first."""
        return tuple(self._redo)

    @property
    def last_edit(self) -> Edit | None:
        """The edit the last step made (e.g. by :meth:`new_street`, which returns the street)."""
        return self._undo[-1] if self._undo else None

    @property
    def can_undo(self) -> bool:
        """Whether there is an edit to undo."""
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        """Whether there is an undone edit to redo."""
        return bool(self._redo)

    def has_street(self, code: str) -> bool:
        """Return whether the plan has a street of that code."""
        return code in self._pos

    def street_position(self, code: str) -> int:
        """Return a street's position in :attr:`streets` (see :meth:`_street_pos`)."""
        return self._street_pos(code)

    def street_of_position(self, block: int) -> Street:
        """Return the street the block at position ``block`` (of :attr:`PlanBase.codes`) is in."""
        return self._streets[int(self._assignment[block])]

    def adopt(self, fresh: Plan) -> None:
        """Become ``fresh`` in place (an object others hold takes the stored state).

        Every attribute is replaced, caches included, so nothing of the old state lingers.
        """
        self.__dict__.clear()
        self.__dict__.update(fresh.__dict__)

    def street(self, code: str) -> Street:
        """Return a street by code (see :meth:`_street_pos` for the error)."""
        return self._streets[self._street_pos(code)]

    def street_of(self, block: str) -> str:
        """Return the code of the street a block is in."""
        return self._streets[int(self._assignment[self._base.positions([block])[0]])].code

    def blocks_of(self, street: str) -> list[str]:
        """Return the codes of a street's blocks."""
        k = self._street_pos(street)
        return [str(c) for c in self._base.codes[self._assignment == k]]

    def _street_pos(self, code: str) -> int:
        pos = self._pos.get(str(code))
        if pos is None:
            known = ", ".join(s.code for s in self._streets[:12])
            more = "" if len(self._streets) <= 12 else f" and {len(self._streets) - 12} more"
            raise PlanError(
                f"Unknown street {code!r}: the plan's streets are {known}{more}. Pick one of "
                "them, or create a street with new_street first."
            )
        return pos

    # ---------------------------------------------------------------- totals

    def _recount(self) -> None:
        base, a, m = self._base, self._assignment, len(self._streets)
        self._count = np.bincount(a, minlength=m).astype(np.int64)
        self._area = np.bincount(a, weights=base.area_m2, minlength=m)
        self._pop = np.bincount(a, weights=base.population, minlength=m)
        self._hh = np.bincount(a, weights=base.households, minlength=m)
        missing = (base.population_missing | base.households_missing).astype(float)
        self._missing = np.bincount(a, weights=missing, minlength=m).astype(np.int64)
        self._pop_missing = np.bincount(
            a, weights=base.population_missing.astype(float), minlength=m
        ).astype(np.int64)
        self._hh_missing = np.bincount(
            a, weights=base.households_missing.astype(float), minlength=m
        ).astype(np.int64)
        rows = np.repeat(np.arange(base.n_blocks), np.diff(base.indptr))
        same = a[rows] == a[base.indices]
        internal = np.bincount(a[rows][same], weights=base.shared_m[same], minlength=m)
        # each shared edge appears twice in the symmetric CSR, so `internal` is 2 × shared
        self._perim = np.bincount(a, weights=base.perimeter_m, minlength=m) - internal

    def _move_block(self, b: int, t: int) -> None:
        a, base = self._assignment, self._base
        s = int(a[b])
        if s == t:
            return
        lo, hi = base.indptr[b], base.indptr[b + 1]
        nb_street = a[base.indices[lo:hi]]
        shared = base.shared_m[lo:hi]
        in_s = float(shared[nb_street == s].sum())
        in_t = float(shared[nb_street == t].sum())
        self._perim[s] -= base.perimeter_m[b] - 2.0 * in_s
        self._perim[t] += base.perimeter_m[b] - 2.0 * in_t
        for arr, values in (
            (self._area, base.area_m2),
            (self._pop, base.population),
            (self._hh, base.households),
        ):
            arr[s] -= values[b]
            arr[t] += values[b]
        flag = int(base.population_missing[b] or base.households_missing[b])
        self._missing[s] -= flag
        self._missing[t] += flag
        for counts, missing in (
            (self._pop_missing, base.population_missing),
            (self._hh_missing, base.households_missing),
        ):
            counts[s] -= int(missing[b])
            counts[t] += int(missing[b])
        self._count[s] -= 1
        self._count[t] += 1
        a[b] = t
        if self._count[s] == 0:  # no rounding residue on an emptied street
            for arr in (self._area, self._pop, self._hh, self._perim):
                arr[s] = 0.0

    def totals(self) -> pd.DataFrame:
        """Return the raw live totals per street: blocks, area_m2, perimeter_m, population, households."""  # noqa: E501
        return pd.DataFrame(
            {
                "code": [s.code for s in self._streets],
                "blocks": self._count.copy(),
                "area_m2": self._area.copy(),
                "perimeter_m": self._perim.copy(),
                "population": self._pop.copy(),
                "households": self._hh.copy(),
            }
        )

    # ---------------------------------------------------------------- edits

    def move(self, blocks: Sequence[str] | str, to_street: str) -> Edit:
        """Move whole blocks (communities) to a street.

        Parameters
        ----------
        blocks : sequence of str
            Block codes (a single code is accepted too).
        to_street : str
            Code of the street they move to.

        Returns
        -------
        Edit
            The recorded edit, listing only the blocks that changed street.
            Moving blocks to the street they are already in returns an edit
            with ``noop=True`` that is not recorded.

        Raises
        ------
        PlanError
            For an unknown block or street code, or when a block would leave
            or enter a locked street (the message names the street).
        """
        codes = [blocks] if isinstance(blocks, str) else [str(b) for b in blocks]
        pos = self._base.positions(codes)
        t = self._street_pos(to_street)
        target = self._streets[t]
        if len(pos):
            _, first = np.unique(pos, return_index=True)
            pos = pos[np.sort(first)]
        moving = pos[self._assignment[pos] != t]
        if len(moving) == 0:
            return Edit(op="move", street=target.code, noop=True)
        nouns = self._base.nouns
        if target.locked:
            raise PlanError(
                f"Street {target.label} is locked: no {nouns} can move into it. Unlock it "
                "first, or choose another street."
            )
        sources = self._assignment[moving]
        for k in dict.fromkeys(int(x) for x in sources):
            if self._streets[k].locked:
                raise PlanError(
                    f"Street {self._streets[k].label} is locked: its {nouns} cannot move out. "
                    "Unlock it first, or leave its communities out of the selection."
                )
        edit = Edit(
            op="move",
            street=target.code,
            blocks=tuple(str(c) for c in self._base.codes[moving]),
            sources=tuple(self._streets[int(k)].code for k in sources),
        )
        self._do(edit)
        return edit

    def new_street(self, *, name: str, code: str | None = None, kind: str = "street") -> Street:
        """Add an empty street (recorded as an edit, so it can be undone).

        Parameters
        ----------
        name : str
            Its name, e.g. ``新街道``.
        code : str, optional
            Its code. Without one, the next free township number within the
            county prefix of the streets' 12-digit codes is used, in the range
            of its kind (street 001-099, town 100-199, township 200-399), e.g.
            ``370299011000``.
        kind : {"street", "town", "township"}
            Rulebooks apply rules by kind.

        Returns
        -------
        Street

        Raises
        ------
        PlanError
            If the code is taken, the kind unknown, or no code can be derived.
        """
        if kind not in STREET_KIND_NUMBERS:
            raise PlanError(
                f"Unknown street kind {kind!r}; use one of {', '.join(STREET_KIND_NUMBERS)}."
            )
        name = str(name).strip()
        if not name:
            raise PlanError("A new street needs a name, e.g. name='新街道'.")
        if code is None:
            code = self._next_code(kind)
        code = str(code).strip()
        if not code:
            raise PlanError("A street code cannot be empty; leave code out to derive one.")
        if code in self._pos:
            raise PlanError(
                f"Street code {code} is already used by {self._streets[self._pos[code]].label}. "
                "Choose another code, or leave code out to derive a free one."
            )
        edit = Edit(op="new_street", street=code, name=name, kind=kind)
        self._do(edit)
        return self._streets[-1]

    def _next_code(self, kind: str) -> str:
        twelve = [s.code for s in self._streets if _TWELVE.match(s.code)]
        if not twelve:
            raise PlanError(
                "The streets have no 12-digit statistical codes to derive a new code from. "
                "Give the new street a code, e.g. new_street(name=..., code='S11')."
            )
        prefix = pd.Series([c[:6] for c in twelve]).mode().iloc[0]
        lo, hi = STREET_KIND_NUMBERS[kind]
        used = {int(c[6:9]) for c in twelve if c[:6] == prefix}
        in_range = [u for u in used if lo <= u <= hi]
        start = max(in_range) + 1 if in_range else lo
        for number in [*range(start, hi + 1), *range(lo, start)]:
            if number not in used and f"{prefix}{number:03d}000" not in self._pos:
                return f"{prefix}{number:03d}000"
        raise PlanError(
            f"No free {kind} number is left in county {prefix} ({lo:03d}-{hi:03d}). Give the "
            "new street a code."
        )

    def set_locked(self, street: str, locked: bool) -> Edit:
        """Lock or unlock a street (recorded, undoable); locked streets refuse moves in and out."""
        k = self._street_pos(street)
        st = self._streets[k]
        if st.locked == bool(locked):
            return Edit(op="lock", street=st.code, locked=bool(locked), noop=True)
        edit = Edit(op="lock", street=st.code, locked=bool(locked))
        self._do(edit)
        return edit

    def rename_street(self, street: str, name: str) -> Edit:
        """Rename a street (recorded, undoable)."""
        k = self._street_pos(street)
        name = str(name).strip()
        if not name:
            raise PlanError("A street name cannot be empty.")
        st = self._streets[k]
        if st.name == name:
            return Edit(op="rename", street=st.code, name=name, old_name=name, noop=True)
        edit = Edit(op="rename", street=st.code, name=name, old_name=st.name)
        self._do(edit)
        return edit

    def undo(self) -> Edit | None:
        """Take back the last edit; return it, or ``None`` when there is nothing to undo."""
        if not self._undo:
            return None
        edit = self._undo.pop()
        self._snapshot()
        self._apply(edit, forward=False)
        self._redo.append(edit)
        return edit

    def redo(self) -> Edit | None:
        """Replay the last undone edit; return it, or ``None`` when there is nothing to redo."""
        if not self._redo:
            return None
        edit = self._redo.pop()
        self._snapshot()
        self._apply(edit, forward=True)
        self._undo.append(edit)
        return edit

    def _do(self, edit: Edit) -> None:
        self._snapshot()
        self._apply(edit, forward=True)
        self._undo.append(edit)
        self._redo.clear()
        logger.debug("plan %s: %s", self.name, edit.describe(self._base.noun, self._base.nouns))

    def _snapshot(self) -> None:
        self._prev_area = self._area.copy()
        self._prev_pop = self._pop.copy()

    def _apply(self, edit: Edit, *, forward: bool) -> None:
        self._revision = next(_REVISIONS)
        if edit.op == "move":
            pos = self._base.positions(edit.blocks)
            if forward:
                t = self._street_pos(edit.street)
                for b in pos:
                    self._move_block(int(b), t)
            else:
                for b, src in zip(pos, edit.sources, strict=True):
                    self._move_block(int(b), self._street_pos(src))
            touched = tuple(dict.fromkeys((edit.street, *edit.sources)))
            for code in touched:
                self._pieces.pop(code, None)
                self._geoms.pop(code, None)
            self._touched = touched
            return
        k = None if edit.op == "new_street" else self._street_pos(edit.street)
        if edit.op == "new_street":
            if forward:
                self._streets.append(
                    Street(
                        code=edit.street, name=edit.name or edit.street, kind=edit.kind or "street"
                    )
                )
                self._pos[edit.street] = len(self._streets) - 1
                for name in ("_count", "_missing", "_pop_missing", "_hh_missing"):
                    setattr(self, name, np.append(getattr(self, name), 0))
                for name in ("_area", "_pop", "_hh", "_perim"):
                    setattr(self, name, np.append(getattr(self, name), 0.0))
            else:
                k = self._street_pos(edit.street)
                if k != len(self._streets) - 1 or self._count[k]:
                    raise PlanError(  # pragma: no cover - the stack order rules this out
                        f"Cannot take back new street {edit.street}: it is not the last, empty "
                        "street."
                    )
                self._streets.pop()
                del self._pos[edit.street]
                for name in ("_count", "_missing", "_pop_missing", "_hh_missing", "_area",
                             "_pop", "_hh", "_perim"):
                    setattr(self, name, getattr(self, name)[:-1].copy())
                self._pieces.pop(edit.street, None)
                self._geoms.pop(edit.street, None)
        elif edit.op == "lock":
            assert k is not None
            locked = bool(edit.locked) if forward else not bool(edit.locked)
            self._streets[k] = dataclasses.replace(self._streets[k], locked=locked)
        elif edit.op == "rename":
            assert k is not None
            new = edit.name if forward else edit.old_name
            self._streets[k] = dataclasses.replace(self._streets[k], name=new or edit.street)
        self._touched = (edit.street,)

    # ---------------------------------------------------------------- contiguity

    def _members(self, k: int) -> IntArray:
        return np.flatnonzero(self._assignment == k)

    def _pieces_of(self, k: int) -> _Pieces:
        code = self._streets[k].code
        hit = self._pieces.get(code)
        if hit is not None:
            return hit
        members = self._members(k)
        if len(members) <= 1:
            found = _Pieces(len(members), np.zeros(0, dtype=np.int64))
        else:
            sub = self._base.rook_graph[members][:, members]
            count, labels = connected_components(sub, directed=False)
            if count > 1:
                sizes = np.bincount(labels, weights=self._base.area_m2[members], minlength=count)
                smallest = members[labels == int(np.argmin(sizes))]
            else:
                smallest = np.zeros(0, dtype=np.int64)
            found = _Pieces(int(count), smallest)
        self._pieces[code] = found
        return found

    def pieces(self, street: str) -> int:
        """Return the number of contiguous pieces of a street's blocks (0 for an empty street)."""
        return self._pieces_of(self._street_pos(street)).count

    # ---------------------------------------------------------------- tables

    def _values(self, k: int) -> dict[str, float]:
        """Return a street's figures; a total over a block with a missing figure is NaN."""
        area_km2 = float(self._area[k]) / 1e6
        pop = float(self._pop[k]) if self._pop_missing[k] == 0 else math.nan
        hh = float(self._hh[k]) if self._hh_missing[k] == 0 else math.nan
        return {
            "area_km2": area_km2,
            "population": pop,
            "households": hh,
            "density_per_km2": pop / area_km2 if area_km2 > 0 else math.nan,
        }

    def street_table(self, rulebook: Rulebook | None = None) -> pd.DataFrame:
        """Return one row per street: live figures and status against the rulebook.

        Parameters
        ----------
        rulebook : Rulebook, optional
            Default: the default rulebook.

        Returns
        -------
        pandas.DataFrame
            Columns ``code``, ``name``, ``kind``, ``locked``, ``blocks``,
            ``empty``, ``area_km2``, ``population``, ``households``,
            ``density_per_km2``, ``area_status``, ``population_status``,
            ``households_status``, ``density_status`` (each ``ok``, ``below``,
            ``above``, ``no rule``, or ``no data`` where a figure is missing, as the
            residents of a street holding a community without a figure), ``status``
            (``ok``, ``outside``, ``no data`` or ``no rule``; an empty street is
            ``outside``), ``broken`` (ids of broken rules),
            ``change_area_km2`` and
            ``change_population`` (since the previous step), ``perimeter_km``,
            ``compactness`` (4πA/P²), ``pieces`` (contiguous pieces) and
            ``missing_figures`` (blocks whose residents or households are
            unknown; the street's total of that figure is then missing too).
        """
        rb = _default_rulebook() if rulebook is None else rulebook
        m = len(self._streets)
        prev_area = _fit(self._prev_area, m)
        prev_pop = _fit(self._prev_pop, m)
        records = []
        for k, st in enumerate(self._streets):
            values = self._values(k)
            rules = rb.for_level("street", st.kind)
            status_of: dict[str, str] = {}
            broken: list[str] = []
            for measure, column in _STATUS_COLUMNS.items():
                mine = [r for r in rules if r.measure == measure]
                if not mine:
                    status_of[column] = "no rule"
                    continue
                state = "ok"
                for r in mine:
                    st_r = Band.of(r).state(values[measure])
                    if st_r in ("below", "above"):
                        broken.append(r.id)
                    if state == "ok" or st_r in ("below", "above"):
                        state = st_r
                status_of[column] = state
            if not rules:
                status = "no rule"
            elif broken or self._count[k] == 0:
                status = "outside"
            elif "no data" in status_of.values():
                status = "no data"
            else:
                status = "ok"
            perim = float(self._perim[k])
            area = float(self._area[k])
            records.append(
                {
                    "code": st.code,
                    "name": st.name,
                    "kind": st.kind,
                    "locked": st.locked,
                    "blocks": int(self._count[k]),
                    "empty": bool(self._count[k] == 0),
                    **values,
                    **status_of,
                    "status": status,
                    "broken": ";".join(dict.fromkeys(broken)),
                    "change_area_km2": (area - float(prev_area[k])) / 1e6,
                    "change_population": (
                        float(self._pop[k]) - float(prev_pop[k])
                        if self._pop_missing[k] == 0
                        else math.nan
                    ),
                    "perimeter_km": perim / 1e3,
                    "compactness": 4 * math.pi * area / perim**2 if perim > 0 else math.nan,
                    "pieces": self._pieces_of(k).count,
                    "missing_figures": int(self._missing[k]),
                }
            )
        return pd.DataFrame.from_records(records, columns=_TABLE_COLUMNS)

    def findings(self, rulebook: Rulebook | None = None) -> list[Finding]:
        """Check every street against the rulebook and for pieces and emptiness.

        Returns
        -------
        list of Finding
            Per street and broken rule, as :func:`geo.rules.rulebook.evaluate_rules`
            reports them (rule id, value, band, deviation and percentage);
            ``plan.noncontiguous`` for a street in pieces (how many, with a
            point in the smallest piece and its blocks in ``related``); and
            ``plan.empty_street`` for a street with no blocks.
        """
        rb = _default_rulebook() if rulebook is None else rulebook
        base = self._base
        out: list[Finding] = []
        for k, st in enumerate(self._streets):
            if self._count[k] == 0:
                out.append(
                    Finding(
                        rule="plan.empty_street",
                        level="street",
                        severity="warning",
                        code=st.code,
                        name=st.name,
                        value=0.0,
                        unit=base.nouns,
                        message=(
                            f"street {st.label} has no {base.nouns}. Move {base.nouns} into it, "
                            "or undo creating it; an empty street is left out of exports."
                        ),
                    )
                )
                continue
            members = self._members(k)
            anchor = int(members[np.argmax(base.area_m2[members])])
            values = self._values(k)
            for rule in rb.for_level("street", st.kind):
                value = values[rule.measure]
                dev = Band.of(rule).deviation(value)
                if dev is not None:
                    out.append(self._rule_finding(st, rule, value, dev, anchor))
            if self._pop_missing[k] or self._hh_missing[k]:
                out.append(self._missing_finding(st, k, members, anchor))
            pieces = self._pieces_of(k)
            if pieces.count > 1:
                small = pieces.smallest
                spot = int(small[np.argmax(base.area_m2[small])])
                small_area = float(base.area_m2[small].sum())
                small_pop = float(base.population[small].sum())
                noun = base.noun if len(small) == 1 else base.nouns
                out.append(
                    Finding(
                        rule="plan.noncontiguous",
                        level="street",
                        severity="warning",
                        code=st.code,
                        name=st.name,
                        value=float(pieces.count),
                        unit="pieces",
                        lon=float(base.lon[spot]),
                        lat=float(base.lat[spot]),
                        area_m2=small_area,
                        related=tuple(str(c) for c in base.codes[small]),
                        message=(
                            f"street {st.label} is in {pieces.count} pieces. The smallest "
                            f"({len(small)} {noun}: {', '.join(self._labels(small[:5]))}"
                            f"{' …' if len(small) > 5 else ''}; {small_area / 1e6:.2f} km², "
                            f"{_bound(round(small_pop))} residents) is cut off from the rest. Move "
                            "it to a neighbouring street, or move the blocks between the pieces "
                            "into this street."
                        ),
                    )
                )
        return out

    def _labels(self, blocks: npt.ArrayLike) -> list[str]:
        """Return blocks as a planner names them: by name, by code where unnamed."""
        base = self._base
        return [str(base.names[b] or base.codes[b]) for b in np.asarray(blocks, dtype=np.int64)]

    def _missing_finding(self, st: Street, k: int, members: IntArray, anchor: int) -> Finding:
        base = self._base
        lacking = members[base.population_missing[members] | base.households_missing[members]]
        what = [
            w
            for w, n in (("residents", self._pop_missing[k]), ("households", self._hh_missing[k]))
            if n
        ]
        shown = ", ".join(self._labels(lacking[:5])) + (" …" if len(lacking) > 5 else "")
        return Finding(
            rule="plan.missing_figures",
            level="street",
            severity="warning",
            code=st.code,
            name=st.name,
            value=float(len(lacking)),
            unit=base.nouns,
            lon=float(base.lon[anchor]),
            lat=float(base.lat[anchor]),
            related=tuple(str(c) for c in base.codes[lacking]),
            message=(
                f"street {st.label}: {' and '.join(what)} unknown for {len(lacking)} "
                f"{base.noun if len(lacking) == 1 else base.nouns} ({shown}), so its "
                f"{' and '.join(what)} total is not known and its bands on them are not "
                "checked (shown as —). Add the figures to the input."
            ),
        )

    def _rule_finding(
        self, st: Street, rule: Rule, value: float, dev: tuple[float, float], anchor: int
    ) -> Finding:
        unit = MEASURES[rule.measure]
        return Finding(
            rule=rule.id,
            level="street",
            severity=rule.severity,
            code=st.code,
            name=st.name,
            value=value,
            minimum=rule.min,
            maximum=rule.max,
            deviation=dev[0],
            deviation_pct=dev[1],
            unit=unit,
            lon=float(self._base.lon[anchor]),
            lat=float(self._base.lat[anchor]),
            source=rule.source,
            status=rule.status,
            message=breach_message(
                level="street", label=st.label, rule=rule, value=value, deviation=dev
            ),
        )

    def assignment_frame(self) -> pd.DataFrame:
        """Return the block → street table, in the form ``--assign`` and ``apply_assignment`` read.

        Columns ``level``, ``code``, ``name``, ``parent_code`` (the street's
        code) and ``street_name``.
        """
        codes = np.array([s.code for s in self._streets], dtype=object)
        names = np.array([s.name for s in self._streets], dtype=object)
        return pd.DataFrame(
            {
                "level": self._base.level,
                "code": self._base.codes,
                "name": self._base.names,
                "parent_code": codes[self._assignment],
                "street_name": names[self._assignment],
            }
        )

    # ---------------------------------------------------------------- geometry

    def _street_geometry(self, k: int) -> shapely.Geometry:
        code = self._streets[k].code
        hit = self._geoms.get(code)
        if hit is None:
            parts = self._base.geometry[self._members(k)]
            if self._base.coverage_valid:
                hit = shapely.coverage_union_all(parts)
            else:
                hit = shapely.union_all(parts)
            self._geoms[code] = hit
        return hit

    def street_geometries(self) -> gpd.GeoDataFrame:
        """Return the streets dissolved from their blocks, in EPSG:4326, for drawing.

        Shapes are cached per street; only streets changed since the last call
        are dissolved again. Empty streets are left out.

        Returns
        -------
        geopandas.GeoDataFrame
            Columns ``code``, ``name``, ``kind``, ``locked``, ``blocks``,
            ``area_km2``, ``population`` and ``geometry``.
        """
        rows = [k for k in range(len(self._streets)) if self._count[k] > 0]
        return gpd.GeoDataFrame(
            {
                "code": [self._streets[k].code for k in rows],
                "name": [self._streets[k].name for k in rows],
                "kind": [self._streets[k].kind for k in rows],
                "locked": [self._streets[k].locked for k in rows],
                "blocks": [int(self._count[k]) for k in rows],
                "area_km2": [float(self._area[k]) / 1e6 for k in rows],
                "population": [float(self._pop[k]) for k in rows],
            },
            geometry=[self._street_geometry(k) for k in rows],
            crs=4326,
        )

    # ---------------------------------------------------------------- comparing, exporting

    def compare(
        self, other: Plan, *, rulebook: Rulebook | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Compare this plan (before) with another on the same district (after).

        Returns
        -------
        (moved, streets) : tuple of pandas.DataFrame
            ``moved``: one row per block whose street differs: ``code``,
            ``name``, ``from``, ``from_name``, ``to``, ``to_name``,
            ``population``, ``households``, ``area_km2``. ``streets``: one row
            per street in either plan: ``code``, ``name``, ``area_km2_before``,
            ``area_km2_after``, ``population_before``, ``population_after``,
            ``status_before``, ``status_after`` (missing where a plan lacks the
            street).

        Raises
        ------
        PlanError
            If the plans are on different districts.
        """
        if other.base.district_key != self._base.district_key:
            raise PlanError(
                f"Plans {self.name!r} and {other.name!r} are on different districts and cannot "
                "be compared. Compare plans made from the same district."
            )
        mine = self.assignment_frame()
        theirs = other.assignment_frame().set_index("code")
        to_code = theirs.loc[mine["code"], "parent_code"].to_numpy()
        to_name = theirs.loc[mine["code"], "street_name"].to_numpy()
        diff = mine["parent_code"].to_numpy() != to_code
        base = self._base
        moved = pd.DataFrame(
            {
                "code": mine["code"].to_numpy()[diff],
                "name": mine["name"].to_numpy()[diff],
                "from": mine["parent_code"].to_numpy()[diff],
                "from_name": mine["street_name"].to_numpy()[diff],
                "to": to_code[diff],
                "to_name": to_name[diff],
                # missing figures stay missing (NaN), never the 0 the totals carry
                "population": np.where(base.population_missing, np.nan, base.population)[diff],
                "households": np.where(base.households_missing, np.nan, base.households)[diff],
                "area_km2": base.area_m2[diff] / 1e6,
            }
        )
        cols = ["code", "name", "area_km2", "population", "status"]
        before = self.street_table(rulebook)[cols]
        after = other.street_table(rulebook)[cols]
        streets = before.merge(after, on="code", how="outer", suffixes=("_before", "_after"))
        streets.insert(1, "name", streets["name_after"].fillna(streets["name_before"]))
        streets = streets.drop(columns=["name_before", "name_after"])
        order = {c: k for k, c in enumerate([*before["code"], *after["code"]])}
        streets = streets.sort_values("code", key=lambda s: s.map(order)).reset_index(drop=True)
        streets = streets[
            [
                "code",
                "name",
                "area_km2_before",
                "area_km2_after",
                "population_before",
                "population_after",
                "status_before",
                "status_after",
            ]
        ]
        return moved, streets

    def to_units(self) -> dict[str, gpd.GeoDataFrame]:
        """Return the district's units with the plan applied, for export.

        Street shapes are the dissolved blocks, street figures the live
        totals (``population_source`` ``children``), and the blocks'
        ``parent_code`` the plan's streets. Empty streets are left out. Grids
        below communities are unchanged.

        Raises
        ------
        PlanError
            If the base was not built from a district.
        """
        district = self._base.district
        if district is None:  # pragma: no cover - bases always come from a district
            raise PlanError("This plan's base has no district to export; build it from one.")
        units = {lv: frame.copy() for lv, frame in district.units.items()}
        codes = np.array([s.code for s in self._streets], dtype=object)
        blocks = units[self._base.level]
        blocks["parent_code"] = codes[self._assignment]
        old = district.units["street"]
        old_rows = {str(c): i for i, c in enumerate(old["code"])}
        geoms = self.street_geometries().set_index("code")
        records = []
        for k, st in enumerate(self._streets):
            if self._count[k] == 0:
                logger.info("street %s is empty and left out of the export", st.label)
                continue
            row: dict[str, Any] = {}
            if st.code in old_rows:
                row.update(old.iloc[old_rows[st.code]].to_dict())
            members = self._members(k)
            # a total over a community without a figure is missing, never a partial sum
            pop_known = not self._base.population_missing[members].any()
            hh_known = not self._base.households_missing[members].any()
            row.update(
                {
                    "code": st.code,
                    "name": st.name,
                    "parent_code": row.get("parent_code"),
                    "kind": st.kind,
                    "population": float(self._pop[k]) if pop_known else math.nan,
                    "households": float(self._hh[k]) if hh_known else math.nan,
                    "population_source": "children" if pop_known else "",
                    "households_source": "children" if hh_known else "",
                    "area_km2": float(self._area[k]) / 1e6,
                    "geometry": geoms.loc[st.code, "geometry"],
                }
            )
            records.append(row)
        columns = list(old.columns) + [
            c
            for c in ("kind", "population", "households", "population_source",
                      "households_source", "area_km2")
            if c not in old.columns
        ]  # fmt: skip
        frame = pd.DataFrame.from_records(records, columns=columns)
        units["street"] = gpd.GeoDataFrame(frame, geometry="geometry", crs=4326)
        units["street"].attrs = dict(old.attrs)
        return units


_TABLE_COLUMNS = [
    "code",
    "name",
    "kind",
    "locked",
    "blocks",
    "empty",
    "area_km2",
    "population",
    "households",
    "density_per_km2",
    "area_status",
    "population_status",
    "households_status",
    "density_status",
    "status",
    "broken",
    "change_area_km2",
    "change_population",
    "perimeter_km",
    "compactness",
    "pieces",
    "missing_figures",
]


def _fit(arr: np.ndarray, m: int) -> np.ndarray:
    if len(arr) >= m:
        return arr[:m]
    return np.concatenate([arr, np.zeros(m - len(arr))])


# ------------------------------------------------------------------------ storage

_SQLITE_HEADER = b"SQLite format 3\x00"
_GPKG_APPLICATION_ID = 0x47504B47  # "GPKG"
_GPKG_USER_VERSION = 10400

_GPKG_CORE = """
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL PRIMARY KEY,
  organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL,
  definition TEXT NOT NULL,
  description TEXT
);
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY,
  data_type TEXT NOT NULL,
  identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE,
  srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id)
);
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL,
  column_name TEXT NOT NULL,
  geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL,
  z TINYINT NOT NULL,
  m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id)
);
"""

_PLAN_TABLES = """
CREATE TABLE IF NOT EXISTS wangge_plans (
  name TEXT PRIMARY KEY,
  created TEXT NOT NULL,
  updated TEXT NOT NULL,
  district_key TEXT NOT NULL,
  note TEXT DEFAULT ''
);
CREATE TABLE IF NOT EXISTS wangge_streets (
  plan TEXT NOT NULL,
  code TEXT NOT NULL,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  locked INTEGER NOT NULL DEFAULT 0,
  position INTEGER NOT NULL,
  PRIMARY KEY (plan, code)
);
CREATE TABLE IF NOT EXISTS wangge_assignments (
  plan TEXT NOT NULL,
  block_code TEXT NOT NULL,
  street_code TEXT NOT NULL,
  PRIMARY KEY (plan, block_code)
);
CREATE TABLE IF NOT EXISTS wangge_edits (
  plan TEXT NOT NULL,
  seq INTEGER NOT NULL,
  op_json TEXT NOT NULL,
  undone INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (plan, seq)
);
"""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_SYNCED: weakref.WeakKeyDictionary[Plan, dict[str, int]] = weakref.WeakKeyDictionary()
"""The stored revision each open plan was last in step with, per project file."""
_SYNCED_LOCK = threading.Lock()


def _replay(plan: Plan, edit: Edit) -> Edit | None:
    """Make ``edit`` again on a plan refreshed from the store; return the new edit.

    Returns ``None`` when the other steps already did it (nothing to store).

    Raises
    ------
    PlanError
        When the other steps clash with it: a block moved to a third street,
        or a street that is gone. The message names what changed.
    """
    elsewhere = "in another tab or window meanwhile"
    if edit.op == "new_street":
        free = not plan.has_street(edit.street)
        plan.new_street(
            name=edit.name or edit.street,
            code=edit.street if free else None,
            kind=edit.kind or "street",
        )
        return plan.last_edit
    if not plan.has_street(edit.street):
        raise PlanError(
            f"Street {edit.street} was taken back {elsewhere}, so your change was not made. "
            "The plan now shows the other changes; create the street again if you need it."
        )
    if edit.op == "lock":
        return plan.set_locked(edit.street, bool(edit.locked))
    if edit.op == "rename":
        return plan.rename_street(edit.street, edit.name or edit.street)
    moving, clashes = [], []
    for block, source in zip(edit.blocks, edit.sources, strict=True):
        now = plan.street_of(block)
        if now == source:
            moving.append(block)
        elif now != edit.street:  # the same move made elsewhere is no clash
            b = int(plan.base.positions([block])[0])
            name = plan.base.names[b] or block
            clashes.append(f"{name} ({block}) to {plan.street(now).label}")
    if clashes:
        raise PlanError(
            f"{plan.base.nouns.capitalize()} were moved {elsewhere}: "
            f"{'; '.join(clashes)}. Your move to {plan.street(edit.street).label} was not made; "
            "the plan now shows the other changes. Move them again if you still want to."
        )
    if not moving:
        return None
    replayed = plan.move(moving, edit.street)
    return None if replayed.noop else replayed


class PlanStore:
    """Plans kept in the project GeoPackage (a SQLite file), edit by edit.

    Tables (next to whatever layers the GeoPackage holds, which are left
    alone): ``wangge_plans(name, created, updated, district_key, note)``,
    ``wangge_streets(plan, code, name, kind, locked, position)``,
    ``wangge_assignments(plan, block_code, street_code)`` and
    ``wangge_edits(plan, seq, op_json, undone)``.

    Parameters
    ----------
    path : path-like
        The project GeoPackage. A missing file is created as a minimal
        GeoPackage (the core ``gpkg_*`` tables, no layers), so layers can be
        written into it later.
    timeout_s : float
        How long a write waits for another writer (busy timeout).

    Notes
    -----
    Each call opens its own connection, so one store may be shared between
    threads (browser sessions). The file is switched to WAL journalling, so
    readers never wait for writers and two sessions editing two plans do not
    block each other; writes take the write lock at once (``BEGIN
    IMMEDIATE``) and wait up to ``timeout_s`` for it. GDAL lists the
    ``wangge_*`` tables as layers without geometry, which
    :func:`geo.io.read_layers` skips.

    Each stored plan has a revision that every stored step raises. The
    store remembers which revision each open :class:`Plan` object was last
    in step with (per file, across store objects), so :meth:`record` can
    tell an edit made on an older revision (another tab or process stored
    steps meanwhile): it takes those steps in first and makes the edit again,
    or refuses it when it clashes. A new project file is built aside and
    published only if the name is still free, so processes opening it at
    once never swap a file another holds open.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout_s = float(timeout_s)
        if not self.path.exists():
            with contextlib.suppress(FileExistsError):  # another process created it first
                self._create_geopackage()
        if self.path.stat().st_size == 0:
            raise PlanError(
                f"{self.path} is an empty file, so plans cannot be kept in it. Delete it (a "
                "new project file is then created) or give another file name."
            )
        with open(self.path, "rb") as fh:
            header = fh.read(16)
        if header != _SQLITE_HEADER:
            raise PlanError(
                f"{self.path} is not a GeoPackage (SQLite) file, so plans cannot be kept in "
                "it. Give the project's .gpkg file, or a new file name to create one."
            )
        self._key = str(self.path.resolve())
        with self._connect() as con:
            mode = con.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":  # pragma: no cover - e.g. a network drive
                logger.warning("%s: WAL journalling unavailable (%s)", self.path, mode)
        with self._write() as con:
            for statement in _PLAN_TABLES.split(";"):
                if statement.strip():
                    con.execute(statement)
            columns = {row[1] for row in con.execute("PRAGMA table_info(wangge_plans)")}
            if "revision" not in columns:  # a project file from before revisions
                con.execute(
                    "ALTER TABLE wangge_plans ADD COLUMN revision INTEGER NOT NULL DEFAULT 0"
                )

    # ---------------------------------------------------------------- connections

    def _create_geopackage(self) -> None:
        # Built aside and published only if the name is still free: a file another
        # process already created (and may hold open) is never replaced.
        with atomic_path(self.path, exclusive=True) as tmp:
            con = sqlite3.connect(tmp)
            try:
                con.execute(f"PRAGMA application_id = {_GPKG_APPLICATION_ID}")
                con.execute(f"PRAGMA user_version = {_GPKG_USER_VERSION}")
                con.executescript(_GPKG_CORE)
                wgs84 = pyproj.CRS.from_epsg(4326).to_wkt("WKT1_GDAL")
                con.executemany(
                    "INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        ("Undefined cartesian SRS", -1, "NONE", -1, "undefined",
                         "undefined cartesian coordinate reference system"),
                        ("Undefined geographic SRS", 0, "NONE", 0, "undefined",
                         "undefined geographic coordinate reference system"),
                        ("WGS 84 geodetic", 4326, "EPSG", 4326, wgs84,
                         "longitude/latitude coordinates in decimal degrees on the WGS 84 "
                         "spheroid"),
                    ],
                )  # fmt: skip
                con.commit()
            finally:
                con.close()
        logger.info("created GeoPackage %s for plans", self.path)

    def _connect(self) -> contextlib.closing[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None)
        con.execute(f"PRAGMA busy_timeout = {int(self.timeout_s * 1000)}")
        return contextlib.closing(con)

    # ---------------------------------------------------------------- revisions

    def _remember(self, plan: Plan, revision: int) -> None:
        with _SYNCED_LOCK:
            _SYNCED.setdefault(plan, {})[self._key] = revision

    def _known(self, plan: Plan) -> int | None:
        with _SYNCED_LOCK:
            return _SYNCED.get(plan, {}).get(self._key)

    def revision(self, name: str) -> int | None:
        """Return a stored plan's revision (raised by every stored step), ``None`` if not stored."""
        with self._connect() as con:
            row = con.execute(
                "SELECT revision FROM wangge_plans WHERE name = ?", (name,)
            ).fetchone()
        return None if row is None else int(row[0])

    def refresh(self, plan: Plan) -> bool:
        """Bring an open plan up to the stored one if another tab or process changed it.

        Returns
        -------
        bool
            ``True`` when the plan was replaced, in place, by the stored plan
            (its figures, undo and redo then include the other edits).
        """
        stored = self.revision(plan.name)
        if stored is None or stored == self._known(plan):
            return False
        with self._connect() as con:
            con.execute("BEGIN")
            fresh, revision = self._read_plan(con, plan.name, plan.base)
            con.execute("COMMIT")
        plan.adopt(fresh)
        self._remember(plan, revision)
        logger.info("plan %s: updated to revision %d from the store", plan.name, revision)
        return True

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    # ---------------------------------------------------------------- writing

    def save_plan(self, plan: Plan, *, note: str | None = None, if_absent: bool = False) -> bool:
        """Write a full snapshot of a plan: streets, assignment and edit log (undo and redo).

        Parameters
        ----------
        plan : Plan
            The plan to store under its name.
        note : str, optional
            A note kept with it (an earlier note is kept when ``None``).
        if_absent : bool
            Store it only if no plan of that name is stored yet (checked in the
            same transaction), e.g. a plan opened from a URL and not yet edited.

        Returns
        -------
        bool
            Whether the plan was written.

        Raises
        ------
        PlanError
            If a plan of that name made on another district is stored; delete
            or rename it first, or save under another name.
        """
        with self._write() as con:
            if (
                if_absent
                and con.execute(
                    "SELECT 1 FROM wangge_plans WHERE name = ?", (plan.name,)
                ).fetchone()
            ):
                return False
            self._snapshot(con, plan, note=note)
        return True

    def _bump(self, con: sqlite3.Connection, plan: Plan) -> None:
        """Raise the stored revision after a step and note that ``plan`` is in step with it."""
        con.execute(
            "UPDATE wangge_plans SET revision = revision + 1, updated = ? WHERE name = ?",
            (_now(), plan.name),
        )
        (revision,) = con.execute(
            "SELECT revision FROM wangge_plans WHERE name = ?", (plan.name,)
        ).fetchone()
        self._remember(plan, int(revision))

    def _snapshot(self, con: sqlite3.Connection, plan: Plan, *, note: str | None) -> None:
        now = _now()
        row = con.execute(
            "SELECT district_key, created, note FROM wangge_plans WHERE name = ?", (plan.name,)
        ).fetchone()
        if row is not None and row[0] != plan.base.district_key:
            raise PlanError(
                f"The project already holds a plan named {plan.name!r} made on another "
                "district. Save under another name, or delete that plan first."
            )
        created = row[1] if row else now
        keep_note = row[2] if row and note is None else (note or "")
        con.execute(
            "INSERT INTO wangge_plans (name, created, updated, district_key, note) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET updated = excluded.updated, "
            "note = excluded.note",
            (plan.name, created, now, plan.base.district_key, keep_note),
        )
        for table in ("wangge_streets", "wangge_assignments", "wangge_edits"):
            con.execute(f"DELETE FROM {table} WHERE plan = ?", (plan.name,))  # noqa: S608
        con.executemany(
            "INSERT INTO wangge_streets (plan, code, name, kind, locked, position) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (plan.name, s.code, s.name, s.kind, int(s.locked), k)
                for k, s in enumerate(plan.streets)
            ],
        )
        codes = [s.code for s in plan.streets]
        con.executemany(
            "INSERT INTO wangge_assignments (plan, block_code, street_code) VALUES (?, ?, ?)",
            [
                (plan.name, str(b), codes[int(k)])
                for b, k in zip(plan.base.codes, plan.assignment, strict=True)
            ],
        )
        log = [*plan.undo_stack, *reversed(plan.redo_stack)]
        n_done = len(plan.undo_stack)
        con.executemany(
            "INSERT INTO wangge_edits (plan, seq, op_json, undone) VALUES (?, ?, ?, ?)",
            [(plan.name, k + 1, e.to_json(), int(k >= n_done)) for k, e in enumerate(log)],
        )
        self._bump(con, plan)

    def record(self, plan: Plan, edit: Edit | None) -> bool:
        """Store one step of a plan: a new edit, an undo or a redo, in one transaction.

        Call it after every :meth:`Plan.move`, :meth:`Plan.new_street`,
        :meth:`Plan.set_locked`, :meth:`Plan.rename_street`, :meth:`Plan.undo`
        and :meth:`Plan.redo` with what they returned. A new edit is appended
        to the log (dropping any undone edits after it), an undo marks its
        edit undone and a redo marks it done again; the assignment and street
        rows the edit touched are brought up to date in the same transaction,
        and the plan's stored revision goes up by one. A plan not yet stored
        is written in full.

        When the stored plan moved on since ``plan`` was last in step with it
        (another tab or process recorded steps meanwhile), ``plan`` is first
        replaced, in place, by the stored plan, and the edit is made again on
        it, so both tabs' edits are kept. An edit that clashes with the other
        steps (a block moved elsewhere meanwhile, a street gone) is refused,
        and so is an undo: the refreshed plan is then left as stored.

        Parameters
        ----------
        plan : Plan
            The plan, after the step.
        edit : Edit or None
            What the step returned; ``None`` and no-op edits are ignored.

        Returns
        -------
        bool
            ``True`` when other steps were taken in first (say "changed in
            another tab — updated"), ``False`` otherwise.

        Raises
        ------
        PlanError
            If the stored plan belongs to another district, or the edit
            clashes with steps stored meanwhile (the message says what changed).
        """
        if edit is None or edit.noop:
            return False
        refreshed = False
        with self._write() as con:
            row = con.execute(
                "SELECT district_key, revision FROM wangge_plans WHERE name = ?", (plan.name,)
            ).fetchone()
            if row is None:
                self._snapshot(con, plan, note=None)
                return False
            if row[0] != plan.base.district_key:
                raise PlanError(
                    f"The stored plan {plan.name!r} belongs to another district. Save this plan "
                    "under another name."
                )
            if self._known(plan) != int(row[1]):
                was_undo = plan.can_redo and plan.redo_stack[-1] is edit
                fresh, revision = self._read_plan(con, plan.name, plan.base)
                plan.adopt(fresh)
                self._remember(plan, revision)
                refreshed = True
                logger.info("plan %s: changed elsewhere; replaying %s", plan.name, edit.op)
                if was_undo:
                    raise PlanError(
                        f"Plan {plan.name!r} was changed in another tab or window meanwhile and "
                        "has been updated; nothing was undone. Undo again to take back the "
                        "latest step."
                    )
                replayed = _replay(plan, edit)
                if replayed is None:
                    return True
                edit = replayed
            self._append(con, plan, edit)
        return refreshed

    def _append(self, con: sqlite3.Connection, plan: Plan, edit: Edit) -> None:
        """Store a step of a plan that was in step with the stored one before it."""
        db_done, db_total = con.execute(
            "SELECT COALESCE(SUM(undone = 0), 0), COUNT(*) FROM wangge_edits WHERE plan = ?",
            (plan.name,),
        ).fetchone()
        k, n_redo = len(plan.undo_stack), len(plan.redo_stack)
        text = edit.to_json()
        synced = False
        if k == db_done + 1 and plan.can_undo and plan.undo_stack[-1] == edit:
            at_k = con.execute(
                "SELECT op_json, undone FROM wangge_edits WHERE plan = ? AND seq = ?",
                (plan.name, k),
            ).fetchone()
            if at_k is not None and at_k == (text, 1) and db_total - k == n_redo:  # redo
                con.execute(
                    "UPDATE wangge_edits SET undone = 0 WHERE plan = ? AND seq = ?",
                    (plan.name, k),
                )
                synced = True
            elif n_redo == 0:  # a new edit drops the undone ones after it
                con.execute("DELETE FROM wangge_edits WHERE plan = ? AND seq >= ?", (plan.name, k))
                con.execute(
                    "INSERT INTO wangge_edits (plan, seq, op_json, undone) VALUES (?, ?, ?, 0)",
                    (plan.name, k, text),
                )
                synced = True
        elif (
            k == db_done - 1 and db_total == k + n_redo and plan.can_redo
            and plan.redo_stack[-1] == edit
        ):  # undo
            con.execute(
                "UPDATE wangge_edits SET undone = 1 WHERE plan = ? AND seq = ?",
                (plan.name, k + 1),
            )
            synced = True
        if not synced:
            # Only this plan's own steps are missing (it was in step before): write it whole.
            logger.info("plan %s: several steps unrecorded; writing it in full", plan.name)
            self._snapshot(con, plan, note=None)
            return
        self._sync_rows(con, plan, edit)
        self._bump(con, plan)

    @staticmethod
    def _sync_rows(con: sqlite3.Connection, plan: Plan, edit: Edit) -> None:
        if edit.blocks:
            pos = plan.base.positions(edit.blocks)
            con.executemany(
                "UPDATE wangge_assignments SET street_code = ? WHERE plan = ? AND block_code = ?",
                [
                    (plan.street_of_position(int(b)).code, plan.name, code)
                    for b, code in zip(pos, edit.blocks, strict=True)
                ],
            )
        if edit.op != "move":
            if not plan.has_street(edit.street):
                con.execute(
                    "DELETE FROM wangge_streets WHERE plan = ? AND code = ?",
                    (plan.name, edit.street),
                )
            else:
                k = plan.street_position(edit.street)
                s = plan.street(edit.street)
                con.execute(
                    "INSERT OR REPLACE INTO wangge_streets (plan, code, name, kind, locked, "
                    "position) VALUES (?, ?, ?, ?, ?, ?)",
                    (plan.name, s.code, s.name, s.kind, int(s.locked), k),
                )

    # ---------------------------------------------------------------- reading

    def open_plan(self, name: str, base: PlanBase | District) -> Plan:
        """Load the stored plan of that name, or store a new one as the district has it.

        Both happen in one transaction, so tabs or processes opening a plan at
        the same moment all get the one stored plan and none overwrites
        another's first edits.

        Raises
        ------
        PlanError
            As :meth:`load_plan`.
        """
        if isinstance(base, District):
            base = PlanBase.from_district(base)
        with self._write() as con:
            if con.execute("SELECT 1 FROM wangge_plans WHERE name = ?", (name,)).fetchone() is None:
                plan = Plan(base, name=name)
                self._snapshot(con, plan, note=None)
                return plan
            plan, revision = self._read_plan(con, name, base)
        self._remember(plan, revision)
        return plan

    def load_plan(self, name: str, base: PlanBase | District) -> Plan:
        """Load a stored plan exactly as it was left, undo and redo stacks included.

        Parameters
        ----------
        name : str
            The plan's name.
        base : PlanBase or District
            The district the plan was made on (or its :class:`PlanBase`).

        Returns
        -------
        Plan

        Raises
        ------
        PlanError
            If no plan has that name, or it was made on another district.
        """
        if isinstance(base, District):
            base = PlanBase.from_district(base)
        with self._connect() as con:
            con.execute("BEGIN")  # one consistent snapshot of the four tables
            plan, revision = self._read_plan(con, name, base)
            con.execute("COMMIT")
        self._remember(plan, revision)
        return plan

    def _read_plan(self, con: sqlite3.Connection, name: str, base: PlanBase) -> tuple[Plan, int]:
        """Read a stored plan and its revision inside the caller's transaction."""
        row = con.execute(
            "SELECT district_key, revision FROM wangge_plans WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            known = [r[0] for r in con.execute("SELECT name FROM wangge_plans ORDER BY name")]
            raise PlanError(
                f"No plan named {name!r} in {self.path.name}"
                + (f"; the stored plans are {', '.join(known)}." if known else "; it holds none.")
                + " Check the name, or start a new plan from the district."
            )
        if row[0] != base.district_key:
            raise PlanError(
                f"Plan {name!r} was made on another district (key {row[0]}, this district "
                f"{base.district_key}): its {base.nouns} differ. Open it with the district it "
                "was drawn on, or start a new plan for this one."
            )
        streets = [
            Street(code=c, name=n, kind=k, locked=bool(lk))
            for c, n, k, lk in con.execute(
                "SELECT code, name, kind, locked FROM wangge_streets WHERE plan = ? "
                "ORDER BY position",
                (name,),
            )
        ]
        pairs = con.execute(
            "SELECT block_code, street_code FROM wangge_assignments WHERE plan = ?", (name,)
        ).fetchall()
        log = con.execute(
            "SELECT op_json, undone FROM wangge_edits WHERE plan = ? ORDER BY seq", (name,)
        ).fetchall()
        pos = {s.code: k for k, s in enumerate(streets)}
        assignment = np.full(base.n_blocks, -1, dtype=np.int64)
        for block, street in pairs:
            b = base.index.get(block)
            k = pos.get(street)
            if b is None or k is None:
                raise PlanError(
                    f"Plan {name!r} is damaged: it assigns {block} to {street}, which it does "
                    "not know. Delete the plan or restore the project file from a backup."
                )
            assignment[b] = k
        if (assignment < 0).any():
            raise PlanError(
                f"Plan {name!r} is damaged: {int((assignment < 0).sum())} {base.nouns} have no "
                "street. Delete the plan or restore the project file from a backup."
            )
        flags = [int(u) for _, u in log]
        if flags != sorted(flags):
            raise PlanError(
                f"Plan {name!r} has a damaged edit log (an undone edit before a done one). "
                "Save the plan again to rewrite it."
            )
        edits = [Edit.from_json(text) for text, _ in log]
        n_done = flags.count(0)
        plan = Plan(base, name=name, streets=streets, assignment=assignment,
                    done=edits[:n_done], undone=list(reversed(edits[n_done:])))
        return plan, int(row[1])

    def list_plans(self) -> pd.DataFrame:
        """Return the stored plans: ``name``, ``created``, ``updated``, ``district_key``, ``note``, ``edits`` (done), ``undone``."""  # noqa: E501
        with self._connect() as con:
            rows = con.execute(
                "SELECT p.name, p.created, p.updated, p.district_key, p.note, "
                "COALESCE(SUM(e.undone = 0), 0), COALESCE(SUM(e.undone = 1), 0) "
                "FROM wangge_plans p LEFT JOIN wangge_edits e ON e.plan = p.name "
                "GROUP BY p.name ORDER BY p.name"
            ).fetchall()
        return pd.DataFrame(
            rows,
            columns=["name", "created", "updated", "district_key", "note", "edits", "undone"],
        )

    def has_plan(self, name: str) -> bool:
        """Return whether a plan of that name is stored."""
        with self._connect() as con:
            row = con.execute("SELECT 1 FROM wangge_plans WHERE name = ?", (name,)).fetchone()
        return row is not None

    def free_name(self, base: str, *, suffixes: Sequence[str] = ("",)) -> str:
        """Return ``base``, or ``base-2``, ``base-3``…: the first stem no stored plan uses.

        With ``suffixes`` (e.g. ``("-fewest", "-roundest")``) the stem is free only
        when every ``stem + suffix`` is: a set of plans saved together gets one stem.
        """
        stem, n = base, 1
        while any(self.has_plan(stem + suffix) for suffix in suffixes):
            n += 1
            stem = f"{base}-{n}"
        return stem

    def delete_plan(self, name: str) -> None:
        """Delete a stored plan and its streets, assignment and edit log.

        Raises
        ------
        PlanError
            If no plan has that name.
        """
        with self._write() as con:
            self._require(con, name)
            for table in ("wangge_streets", "wangge_assignments", "wangge_edits"):
                con.execute(f"DELETE FROM {table} WHERE plan = ?", (name,))  # noqa: S608
            con.execute("DELETE FROM wangge_plans WHERE name = ?", (name,))

    def rename(self, old: str, new: str) -> None:
        """Rename a stored plan (set ``plan.name = new`` on an open one as well).

        Raises
        ------
        PlanError
            If ``old`` is not stored or ``new`` is taken.
        """
        new = str(new).strip()
        if not new:
            raise PlanError("A plan name cannot be empty.")
        with self._write() as con:
            self._require(con, old)
            if old == new:
                return
            if con.execute("SELECT 1 FROM wangge_plans WHERE name = ?", (new,)).fetchone():
                raise PlanError(
                    f"A plan named {new!r} already exists. Choose another name or delete it first."
                )
            for table in ("wangge_streets", "wangge_assignments", "wangge_edits"):
                con.execute(f"UPDATE {table} SET plan = ? WHERE plan = ?", (new, old))  # noqa: S608
            con.execute(
                "UPDATE wangge_plans SET name = ?, updated = ? WHERE name = ?", (new, _now(), old)
            )

    @staticmethod
    def _require(con: sqlite3.Connection, name: str) -> None:
        if con.execute("SELECT 1 FROM wangge_plans WHERE name = ?", (name,)).fetchone() is None:
            known = [r[0] for r in con.execute("SELECT name FROM wangge_plans ORDER BY name")]
            raise PlanError(
                f"No plan named {name!r}; the stored plans are {', '.join(known) or 'none'}."
            )


__all__ = [
    "EDIT_OPS",
    "Edit",
    "Plan",
    "PlanBase",
    "PlanStore",
    "Street",
    "district_key",
]
