"""Siting: where new facilities would bring the most residents within walking reach.

Existing facilities are kept. Residents already within a facility type's
service radius of one of them count as covered; the question is where to put
new ones so that the most of the *others* come within reach (maximal
covering), or how few new ones bring the share covered up to a target (set
covering).

The core works on arrays, like :mod:`geo.access.reach`:

* :func:`maximal_cover` takes each candidate site's coverage set (the demand
  points within reach of it) and the demand weights, and picks at most ``k``
  sites covering the most weight;
* :func:`min_sites_for_share` picks the fewest sites that bring the covered
  share up to a target.

Both first merge demand points that the same candidates reach into one
weighted row (2,608 points become 1,411 rows on the sample district, 100,000
become 27,544 on a synthetic city). They then solve the LP relaxation by
interior point: its value bounds the optimum, and when its solution is
already integral (common for covering problems) it is the optimum. Otherwise
the integer programme is solved with HiGHS branch and bound
(:func:`scipy.optimize.milp`) when it is small enough (at most
:data:`MAX_EXACT_NONZEROS` nonzeros). A larger model, or one the solver does
not finish within the time limit, is solved by lazy greedy on marginal gain,
and the answer says how far it can be from the optimum at most: the gap to
the LP bound. With ``capacity`` a site serves at most as many households as
its floor area supports; residents are then assigned to sites (fractions of a
demand row may go to different sites, and only points with the same
residents per household are merged).

:func:`propose_sites` adapts GeoDataFrames (district, facilities, network,
candidates) to the core, and :func:`run_siting` loads them from paths as the
CLI receives them, using the loaders of :mod:`geo.access.audit`.

Nothing here is random: ties are broken by candidate order, so the same
inputs give the same sites (every result records ``seed = None``).
"""

from __future__ import annotations

import heapq
import json
import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, OptimizeResult, linprog, milp
from scipy.spatial import cKDTree

from geo import settings
from geo._format import article as _article
from geo._format import plain as _plain
from geo.access.coverage import FACILITY_COLUMNS, normalise_facilities
from geo.access.population import _floors, demand_points
from geo.access.reach import (
    DEFAULT_DETOUR,
    MAX_SNAP_M,
    Progress,
    catchments,
    check_network_reaches,
    nearest_source_distance,
    straight_line_catchments,
)
from geo.district.model import District
from geo.errors import EmptyInputError, GeometryTypeError, InputError, RulebookError
from geo.findings import Finding
from geo.rules.rulebook import FacilityType, Rulebook

if TYPE_CHECKING:
    from geo.access.network import WalkNetwork

logger = logging.getLogger(__name__)

MAX_EXACT_NONZEROS = settings.siting_max_exact_nonzeros
"""Largest integer programme (nonzeros after aggregation) solved exactly by default
(:data:`geo.settings.siting_max_exact_nonzeros`)."""

MAX_LP_NONZEROS = settings.siting_max_lp_nonzeros
"""Largest linear-programming relaxation solved for the greedy bound
(:data:`geo.settings.siting_max_lp_nonzeros`)."""

TIME_LIMIT_S = settings.siting_time_limit_s
"""Default time limit of each HiGHS solve, seconds (:data:`geo.settings.siting_time_limit_s`)."""

MIP_REL_GAP = settings.siting_mip_rel_gap
"""Relative optimality gap at which HiGHS stops (:data:`geo.settings.siting_mip_rel_gap`)."""

CANDIDATE_ID_COLUMNS = ("id", "candidate_id", "code", "osm_id", "osmid", "编号", "代码")
"""Columns read as a candidate's identifier in a candidates layer."""

CoverageSets: TypeAlias = Sequence[np.ndarray] | sparse.spmatrix | sparse.sparray


# ====================================================================== array core


@dataclass
class SitingSolution:
    """The sites chosen by :func:`maximal_cover` or :func:`min_sites_for_share`.

    Attributes
    ----------
    sites : numpy.ndarray
        Indices of the chosen candidates, the most valuable first.
    site_weight : numpy.ndarray
        Weight (residents) newly covered by each chosen site; they add up to
        ``objective``. Without capacity a point reached by several sites is
        counted for the first of them in this order.
    site_households : numpy.ndarray
        Households newly covered by each site (NaN without ``hh``).
    demand_served : numpy.ndarray
        Per demand point, the share of its weight newly covered (0 or 1
        without capacity; a fraction where capacity splits a point).
    objective : float
        Weight newly covered.
    best_possible : float or None
        Weight covered if every candidate were built (None where not computed).
    bound : float or None
        Maximal cover: an upper bound on the best ``objective``. Fewest
        sites: a lower bound on the number of sites. None when no bound was
        computed (a model too large even for its relaxation).
    gap : float or None
        Maximal cover: ``(bound - objective) / bound``, so the solution is
        within ``gap`` of the optimum. Fewest sites: ``(sites - bound) /
        bound``. 0 for a proven optimum.
    method : str
        ``"exact"`` (HiGHS: the LP relaxation where its solution is integral,
        else branch and bound) or ``"greedy"``.
    optimal : bool
        Whether the solution is proven optimal (within :data:`MIP_REL_GAP`).
    solve_time_s : float
        Wall time of aggregation, solving and bounds.
    demand_points : int
        Demand points with positive weight.
    demand_rows : int
        Rows left after merging points with identical coverage sets.
    nonzeros : int
        Nonzeros of the exact model.
    notes : list of str
        What the solver did and why (time limits, fallbacks).
    seed : int or None
        Always None: nothing is random.
    """

    sites: np.ndarray
    site_weight: np.ndarray
    site_households: np.ndarray
    demand_served: np.ndarray
    objective: float
    best_possible: float | None
    bound: float | None
    gap: float | None
    method: str
    optimal: bool
    solve_time_s: float
    demand_points: int
    demand_rows: int
    nonzeros: int
    notes: list[str] = field(default_factory=list)
    seed: int | None = None

    @property
    def method_text(self) -> str:
        """Return the method in words, e.g. ``greedy, within 1.2% of the LP bound``."""
        if self.method == "exact":
            if self.optimal:
                return "exact (HiGHS), optimal"
            gap = f", within {self.gap:.2%} of the bound" if self.gap is not None else ""
            return f"exact (HiGHS), stopped at the time limit{gap}"
        if self.gap is None:
            return "greedy, no bound computed"
        return f"greedy, within {self.gap:.2%} of the LP bound"


@dataclass(frozen=True)
class _Groups:
    """Demand points merged by identical coverage sets."""

    reach: sparse.csr_matrix  # groups × candidates: which candidates reach each group
    weight: np.ndarray
    hh: np.ndarray | None
    of_point: np.ndarray  # group of each demand point, -1 when unreached or weightless
    points: int  # points with positive weight


def _coverage_matrix(coverage_sets: CoverageSets, n_demand: int) -> sparse.csr_matrix:
    """Return candidates × demand as a 0/1 CSR matrix."""
    if sparse.issparse(coverage_sets):
        mat = sparse.csr_matrix(coverage_sets, dtype=np.float64)
        if mat.shape[1] != n_demand:
            raise InputError(
                f"The coverage matrix has {mat.shape[1]:,} columns but there are {n_demand:,} "
                "demand weights; it must be candidates × demand points."
            )
        mat.eliminate_zeros()  # an explicit zero is no reach
        mat.sum_duplicates()
        mat.data[:] = 1.0
        return mat
    sets = [np.unique(np.asarray(s, dtype=np.int64).ravel()) for s in coverage_sets]
    lengths = np.array([len(s) for s in sets], dtype=np.int64)
    indices = np.concatenate(sets) if sets else np.zeros(0, dtype=np.int64)
    if len(indices) and (indices.min() < 0 or indices.max() >= n_demand):
        raise InputError(
            f"A coverage set names a demand point outside 0..{n_demand - 1} (there are "
            f"{n_demand:,} demand weights); coverage sets hold demand indices."
        )
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    data = np.ones(len(indices))
    return sparse.csr_matrix((data, indices, indptr), shape=(len(sets), n_demand))


def _check_weights(weights: Any, name: str, n: int | None = None) -> np.ndarray:
    w = np.asarray(weights, dtype=float).ravel()
    if n is not None and len(w) != n:
        raise InputError(f"{name} has {len(w):,} values but there are {n:,} demand points.")
    if not np.isfinite(w).all() or (w < 0).any():
        raise InputError(
            f"{name} must be finite and non-negative; "
            f"{int((~np.isfinite(w) | (w < 0)).sum()):,} values are not. Fill or drop them."
        )
    return w


def _aggregate(
    cover: sparse.csr_matrix, w: np.ndarray, hh: np.ndarray | None, *, by_ratio: bool = False
) -> _Groups:
    """Merge demand points reached by the same candidates into weighted rows.

    With ``by_ratio`` (capacity), only points with the same residents per
    household are merged: a site short of room serves the fullest households
    first, so points of different ratios must stay apart.
    """
    by_point = cover.T.tocsr()
    by_point.sort_indices()
    indptr, indices = by_point.indptr, by_point.indices.astype(np.int32)
    keys: dict[bytes, int] = {}
    of_point = np.full(len(w), -1, dtype=np.int64)
    live = np.flatnonzero((np.diff(indptr) > 0) & (w > 0))
    ratio = None
    if by_ratio and hh is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(hh > 0, np.round(w / np.where(hh > 0, hh, 1.0), 9), np.inf)
    for i in live:
        key = indices[indptr[i] : indptr[i + 1]].tobytes()
        if ratio is not None:
            key += ratio[i].tobytes()
        of_point[i] = keys.setdefault(key, len(keys))
    n_groups = len(keys)
    weight = np.bincount(of_point[live], weights=w[live], minlength=n_groups)
    hh_g = (
        np.bincount(of_point[live], weights=hh[live], minlength=n_groups)
        if hh is not None
        else None
    )
    # groups × candidates from the first point of each group
    first = np.full(n_groups, -1, dtype=np.int64)
    first[of_point[live][::-1]] = live[::-1]
    reach = by_point[first] if n_groups else sparse.csr_matrix((0, cover.shape[0]))
    return _Groups(
        reach=sparse.csr_matrix(reach),
        weight=weight,
        hh=hh_g,
        of_point=of_point,
        points=int((w > 0).sum()),
    )


@dataclass(frozen=True)
class _Model:
    c: np.ndarray
    A: sparse.csr_matrix
    row_lb: np.ndarray
    row_ub: np.ndarray
    n_x: int

    @property
    def nonzeros(self) -> int:
        return int(self.A.nnz)


def _cover_model(
    g: _Groups,
    *,
    k: int | None = None,
    target: float | None = None,
    cap: np.ndarray | None = None,
) -> _Model:
    """Build the maximal-cover (``k``) or fewest-sites (``target``) programme.

    Variables are ``x`` (one per candidate, binary) followed by ``y`` (one per
    group, coverage in [0, 1]) or, with capacity, ``z`` (one per group-candidate
    pair, the share of the group served by that candidate).
    """
    reach = g.reach
    n_groups, n = reach.shape
    w = g.weight
    blocks: list[sparse.spmatrix] = []
    lbs: list[np.ndarray] = []
    ubs: list[np.ndarray] = []
    if cap is None:
        # y_g - Σ_{j reaches g} x_j <= 0
        blocks.append(sparse.hstack([-reach, sparse.identity(n_groups)], format="csr"))
        lbs.append(np.full(n_groups, -np.inf))
        ubs.append(np.zeros(n_groups))
        weight_of_var = w
        n_other = n_groups
    else:
        if g.hh is None:
            raise InputError("Capacity needs the households of each demand point (hh).")
        coo = reach.tocoo()
        gp, jp = coo.row.astype(np.int64), coo.col.astype(np.int64)
        n_pairs = len(gp)
        pr = np.arange(n_pairs)
        # z_p - x_j <= 0
        link = sparse.csr_matrix(
            (
                np.r_[np.ones(n_pairs), -np.ones(n_pairs)],
                (np.r_[pr, pr], np.r_[n + pr, jp]),
            ),
            shape=(n_pairs, n + n_pairs),
        )
        # Σ_j z_gj <= 1
        assign = sparse.csr_matrix((np.ones(n_pairs), (gp, n + pr)), shape=(n_groups, n + n_pairs))
        # Σ_g hh_g z_gj - cap_j x_j <= 0, for candidates with a finite capacity
        finite = np.isfinite(cap)
        rows_j = np.cumsum(finite) - 1
        keep_p = finite[jp]
        capacity = sparse.csr_matrix(
            (
                np.r_[g.hh[gp[keep_p]], -cap[finite]],
                (
                    np.r_[rows_j[jp[keep_p]], rows_j[finite]],
                    np.r_[n + pr[keep_p], np.flatnonzero(finite)],
                ),
            ),
            shape=(int(finite.sum()), n + n_pairs),
        )
        blocks += [link, assign, capacity]
        lbs += [
            np.full(n_pairs, -np.inf),
            np.full(n_groups, -np.inf),
            np.full(int(finite.sum()), -np.inf),
        ]
        ubs += [np.zeros(n_pairs), np.ones(n_groups), np.zeros(int(finite.sum()))]
        weight_of_var = w[gp]
        n_other = n_pairs
    if k is not None:
        blocks.append(sparse.csr_matrix(np.r_[np.ones(n), np.zeros(n_other)][None, :]))
        lbs.append(np.array([-np.inf]))
        ubs.append(np.array([float(k)]))
        c = np.r_[np.zeros(n), -weight_of_var]
    else:
        assert target is not None
        blocks.append(sparse.csr_matrix(np.r_[np.zeros(n), weight_of_var][None, :]))
        lbs.append(np.array([target]))
        ubs.append(np.array([np.inf]))
        c = np.r_[np.ones(n), np.zeros(n_other)]
    A = sparse.vstack(blocks, format="csr")
    return _Model(c=c, A=A, row_lb=np.concatenate(lbs), row_ub=np.concatenate(ubs), n_x=n)


def _milp(model: _Model, time_limit_s: float) -> OptimizeResult:
    """Solve with HiGHS branch and bound, the site variables binary."""
    integrality = np.zeros(len(model.c))
    integrality[: model.n_x] = 1
    return milp(
        model.c,
        integrality=integrality,
        bounds=Bounds(0.0, 1.0),
        constraints=LinearConstraint(model.A, model.row_lb, model.row_ub),
        options={
            "time_limit": max(float(time_limit_s), 0.1),
            "mip_rel_gap": MIP_REL_GAP,
            "disp": False,
        },
    )


def _lp(model: _Model, time_limit_s: float) -> OptimizeResult | None:
    """Solve the LP relaxation by HiGHS interior point and crossover; None if it fails.

    On these covering models interior point is several times faster than the
    dual simplex that branch and bound starts with (15 s against 2.7 s on a
    model of 200,000 nonzeros).
    """
    up = np.isfinite(model.row_ub)
    lo = np.isfinite(model.row_lb)
    A_ub = sparse.vstack([model.A[up], -model.A[lo]], format="csr")
    b_ub = np.r_[model.row_ub[up], -model.row_lb[lo]]
    res = linprog(
        model.c,
        A_ub=A_ub,
        b_ub=b_ub,
        bounds=(0.0, 1.0),
        method="highs-ipm",
        options={"time_limit": max(float(time_limit_s), 0.1), "disp": False},
    )
    return res if res.status == 0 and res.x is not None else None


def _by_candidate(reach: sparse.csr_matrix) -> sparse.csc_matrix:
    out = reach.tocsc()
    out.sort_indices()
    return out


def _uncapacitated_value(g: _Groups, chosen: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Order ``chosen`` by marginal gain (lazily); return (sites, gains), useless sites dropped."""
    cols = _by_candidate(g.reach)
    covered = np.zeros(g.reach.shape[0], dtype=bool)

    def gain(j: int) -> float:
        rows = cols.indices[cols.indptr[j] : cols.indptr[j + 1]]
        return float(g.weight[rows][~covered[rows]].sum())

    heap = [(-gain(j), j) for j in dict.fromkeys(int(j) for j in chosen)]
    heapq.heapify(heap)
    sites: list[int] = []
    gains: list[float] = []
    while heap:
        _, j = heapq.heappop(heap)
        now = gain(j)
        if now <= 0:
            continue
        if heap and now < -heap[0][0]:
            heapq.heappush(heap, (-now, j))
            continue
        covered[cols.indices[cols.indptr[j] : cols.indptr[j + 1]]] = True
        sites.append(j)
        gains.append(now)
    return np.array(sites, dtype=np.int64), np.array(gains, dtype=float)


class _Greedy:
    """Lazy greedy on marginal gain, with or without capacity."""

    def __init__(self, g: _Groups, cap: np.ndarray | None) -> None:
        self.g = g
        self.cap = cap
        self.cols = _by_candidate(g.reach)
        self.remaining = np.ones(g.reach.shape[0])  # unserved share of each group
        self.served: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # j -> (groups, shares)
        if cap is not None:
            assert g.hh is not None
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(g.hh > 0, g.weight / np.where(g.hh > 0, g.hh, 1.0), np.inf)
            self.ratio = ratio

    def _rows(self, j: int) -> np.ndarray:
        return self.cols.indices[self.cols.indptr[j] : self.cols.indptr[j + 1]]

    def take(self, j: int) -> tuple[float, np.ndarray, np.ndarray]:
        """Return (gain, groups, shares) site ``j`` would newly serve now."""
        rows = self._rows(j)
        rem = self.remaining[rows]
        rows, rem = rows[rem > 0], rem[rem > 0]
        if self.cap is None or not np.isfinite(self.cap[j]):
            return float((self.g.weight[rows] * rem).sum()), rows, rem
        assert self.g.hh is not None
        order = np.argsort(-self.ratio[rows], kind="stable")
        rows, rem = rows[order], rem[order]
        need = rem * self.g.hh[rows]
        before = np.cumsum(need) - need
        room = np.clip(self.cap[j] - before, 0.0, None)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(need > 0, np.minimum(need, room) / np.where(need > 0, need, 1.0), 1.0)
        share = np.minimum(share * rem, rem)
        keep = share > 0
        rows, share = rows[keep], share[keep]
        return float((self.g.weight[rows] * share).sum()), rows, share

    def run(self, *, k: int | None = None, target: float | None = None) -> list[int]:
        n = self.g.reach.shape[1]
        heap = [(-self.take(j)[0], j) for j in range(n)]
        heap = [h for h in heap if h[0] < 0]
        heapq.heapify(heap)
        chosen: list[int] = []
        total = 0.0
        tol = 1e-12 * max(float(self.g.weight.sum()), 1.0)
        while heap:
            if k is not None and len(chosen) >= k:
                break
            if target is not None and total >= target - tol:
                break
            _, j = heapq.heappop(heap)
            gain, rows, share = self.take(j)
            if gain <= tol:
                continue
            if heap and gain < -heap[0][0] - tol:
                heapq.heappush(heap, (-gain, j))
                continue
            self.remaining[rows] -= share
            np.clip(self.remaining, 0.0, 1.0, out=self.remaining)
            self.served[j] = (rows, share)
            chosen.append(j)
            total += gain
        return chosen

    def marginal_gains(self) -> np.ndarray:
        """Every candidate's gain given the sites taken (no capacity)."""
        return np.asarray(self.cols.T @ (self.g.weight * self.remaining)).ravel()


def _assignment(
    g: _Groups, cap: np.ndarray, sites: np.ndarray, time_limit_s: float
) -> dict[int, tuple[np.ndarray, np.ndarray]] | None:
    """Serve the most weight from fixed ``sites`` under capacity (an LP); None if it fails."""
    if len(sites) == 0:
        return {}
    sub = _Groups(
        reach=sparse.csr_matrix(g.reach[:, sites]),
        weight=g.weight,
        hh=g.hh,
        of_point=g.of_point,
        points=g.points,
    )
    model = _cover_model(sub, k=len(sites), cap=cap[sites])
    if model.nonzeros > MAX_LP_NONZEROS:
        return None
    res = _lp(model, time_limit_s)
    if res is None:
        return None
    return _pairs_served(sub, res.x, np.arange(len(sites)), remap=sites)


def _pairs_served(
    g: _Groups, x: np.ndarray, chosen: np.ndarray, *, remap: np.ndarray | None = None
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Read each chosen site's (groups, shares) from a capacitated solution vector."""
    n = g.reach.shape[1]
    coo = g.reach.tocoo()
    z = np.clip(x[n:], 0.0, 1.0)
    open_ = np.zeros(n, dtype=bool)
    open_[chosen] = True
    keep = open_[coo.col] & (z > 1e-9)
    cols, rows, z = coo.col[keep], coo.row[keep].astype(np.int64), z[keep]
    order = np.argsort(cols, kind="stable")
    cols, rows, z = cols[order], rows[order], z[order]
    out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for j in chosen:
        lo, hi = np.searchsorted(cols, j, side="left"), np.searchsorted(cols, j, side="right")
        key = int(remap[j]) if remap is not None else int(j)
        out[key] = (rows[lo:hi], z[lo:hi])
    return out


def _capacitated_sites(
    g: _Groups, served: dict[int, tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (sites, weight, households, served share per group), biggest first."""
    share_g = np.zeros(g.reach.shape[0])
    items = []
    for j, (rows, share) in served.items():
        np.add.at(share_g, rows, share)
        wj = float((g.weight[rows] * share).sum())
        hj = float((g.hh[rows] * share).sum()) if g.hh is not None else math.nan
        if wj > 1e-9:
            items.append((wj, -j, hj))
    items.sort(reverse=True)
    sites = np.array([-t[1] for t in items], dtype=np.int64)
    return (
        sites,
        np.array([t[0] for t in items]),
        np.array([t[2] for t in items]),
        np.minimum(share_g, 1.0),
    )


def _prepare(
    coverage_sets: CoverageSets,
    weights: Any,
    capacity: Any,
    hh: Any,
) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray | None, np.ndarray | None]:
    w = _check_weights(weights, "weights")
    cover = _coverage_matrix(coverage_sets, len(w))
    if cover.shape[0] == 0:
        raise InputError(
            "There are no candidate sites to choose from. Give a candidates layer or "
            "generate candidates (grid centroids or large buildings)."
        )
    cap = None
    hh_arr = None
    if capacity is not None:
        cap = np.asarray(capacity, dtype=float).ravel()
        if len(cap) != cover.shape[0]:
            raise InputError(
                f"capacity has {len(cap):,} values but there are {cover.shape[0]:,} candidates."
            )
        if np.isnan(cap).any() or (cap < 0).any():
            raise InputError(
                "capacity must be given for every candidate and not be negative (use inf for "
                "no limit)."
            )
        if hh is None:
            raise InputError(
                "capacity is in households, so hh (households of each demand point) is needed."
            )
        hh_arr = _check_weights(hh, "hh", len(w))
    elif hh is not None:
        hh_arr = _check_weights(hh, "hh", len(w))
    return cover, w, cap, hh_arr


def _finish(
    g: _Groups,
    n_weights: int,
    *,
    sites: np.ndarray,
    site_weight: np.ndarray,
    site_hh: np.ndarray,
    share_g: np.ndarray,
    **kw: Any,
) -> SitingSolution:
    served = np.zeros(n_weights)
    has = g.of_point >= 0
    served[has] = share_g[g.of_point[has]]
    return SitingSolution(
        sites=sites,
        site_weight=site_weight,
        site_households=site_hh,
        demand_served=served,
        objective=float(site_weight.sum()),
        demand_points=g.points,
        demand_rows=int(g.reach.shape[0]),
        **kw,
    )


def _no_new_sites(
    g: _Groups,
    n_weights: int,
    *,
    solve_time_s: float,
    best_possible: float | None = 0.0,
    notes: Sequence[str] = (),
) -> SitingSolution:
    """Return the answer when no new site is needed or possible: nothing chosen, and optimal."""
    return _finish(
        g,
        n_weights,
        sites=np.zeros(0, dtype=np.int64),
        site_weight=np.zeros(0),
        site_hh=np.zeros(0),
        share_g=np.zeros(g.reach.shape[0]),
        best_possible=best_possible,
        bound=0.0,
        gap=0.0,
        method="exact",
        optimal=True,
        solve_time_s=solve_time_s,
        nonzeros=0,
        notes=list(notes),
    )


Picked = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""(sites, weight newly covered by each, households by each, served share of each group)."""


def _evaluate(
    g: _Groups,
    chosen: Sequence[int],
    cap: np.ndarray | None,
    time_limit_s: float,
    served: dict[int, tuple[np.ndarray, np.ndarray]] | None = None,
    *,
    reassign: bool = True,
) -> Picked:
    """Value a set of chosen sites.

    Without capacity, sites are ordered by marginal gain and those adding
    nothing dropped. With capacity, ``served`` (site -> groups, shares) is
    kept, or replaced by the best assignment to the same sites (an LP) when
    ``reassign`` and that serves more.
    """
    if cap is None:
        sites, gains = _uncapacitated_value(g, chosen)
        cols = _by_candidate(g.reach)
        share_g = np.zeros(g.reach.shape[0])
        hh_sites = np.full(len(sites), math.nan)
        for i, j in enumerate(sites):
            rows = cols.indices[cols.indptr[j] : cols.indptr[j + 1]]
            fresh = rows[share_g[rows] == 0]
            if g.hh is not None:
                hh_sites[i] = float(g.hh[fresh].sum())
            share_g[fresh] = 1.0
        return sites, gains, hh_sites, share_g
    served = dict(served or {})
    if reassign:
        fixed = np.array(sorted(set(served) | {int(j) for j in chosen}), dtype=np.int64)
        best = _assignment(g, cap, fixed, time_limit_s)
        if best is not None:
            value_lp = sum(float((g.weight[r] * s).sum()) for r, s in best.values())
            value_old = sum(float((g.weight[r] * s).sum()) for r, s in served.values())
            if value_lp >= value_old:
                served = best
    return _capacitated_sites(g, served)


@dataclass
class _Outcome:
    picked: Picked
    method: str
    optimal: bool
    bound: float | None
    nonzeros: int
    notes: list[str]

    @property
    def value(self) -> float:
        return float(self.picked[1].sum())


def _exact(
    g: _Groups, model: _Model, cap: np.ndarray | None, time_limit_s: float
) -> tuple[Picked | None, bool, float | None]:
    """Solve ``model`` with HiGHS; return (picked, proven optimal, solver's dual bound)."""
    res = _milp(model, time_limit_s)
    bound = None
    dual = getattr(res, "mip_dual_bound", None)
    if dual is not None and np.isfinite(dual):
        bound = float(dual)
    if res.x is None:
        return None, False, bound
    chosen = np.flatnonzero(res.x[: g.reach.shape[1]] > 0.5)
    served = _pairs_served(g, res.x, chosen) if cap is not None else None
    picked = _evaluate(g, chosen.tolist(), cap, time_limit_s, served, reassign=res.status != 0)
    return picked, res.status == 0, bound


def _integral(x: np.ndarray, n: int) -> bool:
    xs = x[:n]
    return bool(np.all(np.minimum(xs, 1.0 - xs) <= 1e-6))


def _max_cover(
    g: _Groups,
    k: int,
    cap: np.ndarray | None,
    *,
    time_limit_s: float,
    exact: bool | None,
    max_nonzeros: int,
) -> _Outcome:
    """Maximal covering on merged demand rows: exact where it fits, else greedy with a bound.

    The LP relaxation is solved first (interior point, fast): its value bounds
    the optimum, and where its solution is already integral it is the optimum
    and branch and bound is skipped.
    """
    model = _cover_model(g, k=k, cap=cap)
    n = g.reach.shape[1]
    use_exact = exact if exact is not None else model.nonzeros <= max_nonzeros
    logger.info(
        "maximal cover: %d candidates, %d demand points in %d rows, %d nonzeros, k=%d, %s",
        n,
        g.points,
        g.reach.shape[0],
        model.nonzeros,
        k,
        "exact" if use_exact else "greedy",
    )
    notes: list[str] = []
    picked: Picked | None = None
    bound: float | None = None
    lp = _lp(model, time_limit_s) if use_exact or model.nonzeros <= MAX_LP_NONZEROS else None
    if lp is not None:
        bound = -float(lp.fun)
    if use_exact:
        if lp is not None and _integral(lp.x, n):
            chosen = np.flatnonzero(lp.x[:n] > 0.5)
            served = _pairs_served(g, lp.x, chosen) if cap is not None else None
            picked = _evaluate(g, chosen.tolist(), cap, time_limit_s, served, reassign=False)
            assert bound is not None
            if len(chosen) <= k and picked[1].sum() >= bound - 1e-9 * max(abs(bound), 1.0):
                return _Outcome(
                    picked, "exact", True, float(picked[1].sum()), model.nonzeros, notes
                )
        picked, optimal, dual = _exact(g, model, cap, time_limit_s)
        if dual is not None:
            bound = -dual if bound is None else min(bound, -dual)  # HiGHS minimises -weight
        if picked is not None and optimal:
            return _Outcome(picked, "exact", True, float(picked[1].sum()), model.nonzeros, notes)
        notes.append(
            f"HiGHS stopped at the time limit ({time_limit_s:g} s) before proving the optimum; "
            "greedy was run as well and the better answer kept."
        )
    else:
        notes.append(
            f"The exact model has {model.nonzeros:,} nonzeros (more than {max_nonzeros:,}), "
            "so lazy greedy was used."
        )
    greedy = _Greedy(g, cap)
    chosen_g = greedy.run(k=k)
    by_greedy = _evaluate(
        g, chosen_g, cap, time_limit_s, greedy.served if cap is not None else None
    )
    method = "greedy"
    if picked is not None and picked[1].sum() >= by_greedy[1].sum():
        method = "exact"
    else:
        picked = by_greedy
    # Without capacity, the online bound of a submodular objective holds too:
    # f(S) + the k largest marginal gains at S >= the optimum.
    if cap is None:
        online = float(by_greedy[1].sum() + np.sort(greedy.marginal_gains())[::-1][:k].sum())
        bound = online if bound is None else min(bound, online)
    if bound is not None:
        bound = max(bound, float(picked[1].sum()))
    return _Outcome(picked, method, False, bound, model.nonzeros, notes)


def _min_sites(
    g: _Groups,
    target: float,
    cap: np.ndarray | None,
    *,
    time_limit_s: float,
    exact: bool | None,
    max_nonzeros: int,
) -> _Outcome:
    """Fewest sites reaching ``target`` weight, then the most weight with that many."""
    model = _cover_model(g, target=target, cap=cap)
    n = g.reach.shape[1]
    use_exact = exact if exact is not None else model.nonzeros <= max_nonzeros
    notes: list[str] = []
    picked: Picked | None = None
    bound: float | None = None
    optimal = False
    lp = _lp(model, time_limit_s) if use_exact or model.nonzeros <= MAX_LP_NONZEROS else None
    if lp is not None:
        bound = float(math.ceil(float(lp.fun) - 1e-6))
    if use_exact:
        if lp is not None and _integral(lp.x, n):
            chosen = np.flatnonzero(lp.x[:n] > 0.5)
            served = _pairs_served(g, lp.x, chosen) if cap is not None else None
            picked = _evaluate(g, chosen.tolist(), cap, time_limit_s, served, reassign=False)
            optimal = (
                bool(picked[1].sum() >= target) and bound is not None and len(picked[0]) <= bound
            )
        if not optimal:
            picked, optimal, dual = _exact(g, model, cap, time_limit_s)
            if dual is not None:
                lb = float(math.ceil(dual - 1e-6))
                bound = lb if bound is None else max(bound, lb)
            if picked is not None and bound is not None and len(picked[0]) <= bound:
                optimal = True
        if not optimal:
            notes.append(
                f"HiGHS stopped at the time limit ({time_limit_s:g} s) before proving the "
                "fewest sites; greedy was run as well and the better answer kept."
            )
    else:
        notes.append(
            f"The exact model has {model.nonzeros:,} nonzeros (more than {max_nonzeros:,}), "
            "so greedy was used."
        )
    method = "exact"
    if not optimal:
        greedy = _Greedy(g, cap)
        chosen_g = greedy.run(target=target)
        by_greedy = _evaluate(
            g, chosen_g, cap, time_limit_s, greedy.served if cap is not None else None
        )
        if picked is None or len(by_greedy[0]) < len(picked[0]):
            picked, method = by_greedy, "greedy"
        optimal = bound is not None and len(picked[0]) <= bound
    assert picked is not None
    n_sites = len(picked[0])
    if method == "exact" and n_sites:
        # Second phase: with that many sites, cover as many residents as possible.
        more = _max_cover(
            g, n_sites, cap, time_limit_s=time_limit_s, exact=True, max_nonzeros=max_nonzeros
        )
        if more.value > picked[1].sum() and len(more.picked[0]) <= n_sites:
            picked = more.picked
    if optimal:
        bound = float(len(picked[0]))
    return _Outcome(picked, method, optimal, bound, model.nonzeros, notes)


def maximal_cover(
    coverage_sets: CoverageSets,
    weights: Any,
    *,
    k: int,
    capacity: Any | None = None,
    hh: Any | None = None,
    time_limit_s: float = TIME_LIMIT_S,
    exact: bool | None = None,
    max_nonzeros: int = MAX_EXACT_NONZEROS,
) -> SitingSolution:
    """Choose at most ``k`` sites covering the most demand weight (maximal covering).

    Parameters
    ----------
    coverage_sets : list of numpy.ndarray or scipy.sparse matrix
        For each candidate, the indices of the demand points within reach of
        it; or a candidates × demand matrix whose nonzeros mark reach.
    weights : array_like
        Weight (residents) of each demand point not yet covered.
    k : int
        Most sites to choose. Fewer are chosen when more would cover nothing more.
    capacity : array_like, optional
        Households each candidate can serve (``inf`` for no limit). A site then
        covers only the residents it can serve, chosen by the solver.
    hh : array_like, optional
        Households of each demand point; needed with ``capacity``.
    time_limit_s : float
        Time limit of each HiGHS solve.
    exact : bool, optional
        True: always solve the integer programme; False: always greedy;
        None: exact when it has at most ``max_nonzeros`` nonzeros.
    max_nonzeros : int
        Size limit for ``exact=None``.

    Returns
    -------
    SitingSolution

    Raises
    ------
    InputError
        No candidates, ``k`` below 1 or above the number of candidates, bad
        weights, or no candidate reaching any weighted demand point.
    """
    started = time.perf_counter()
    cover, w, cap, hh_arr = _prepare(coverage_sets, weights, capacity, hh)
    n = cover.shape[0]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"k must be a whole number of new sites, at least 1; got {k!r}.")
    if k > n:
        raise InputError(
            f"{k} new sites were asked for but there are only {n:,} candidate sites; ask "
            "for fewer or give more candidates."
        )
    g = _aggregate(cover, w, hh_arr, by_ratio=cap is not None)
    if g.reach.shape[0] == 0:
        if w.sum() > 0:
            raise InputError(
                "No candidate site reaches any demand point with a weight; choose other "
                "candidates or check the distances."
            )
        return _no_new_sites(
            g, len(w), solve_time_s=time.perf_counter() - started,
            notes=["There is no demand weight left to cover."],
        )
    out = _max_cover(
        g, int(k), cap, time_limit_s=time_limit_s, exact=exact, max_nonzeros=max_nonzeros
    )
    sites, site_w, site_h, share_g = out.picked
    objective = float(site_w.sum())
    gap = None
    if out.optimal:
        gap = 0.0
    elif out.bound is not None:
        gap = (out.bound - objective) / out.bound if out.bound > 0 else 0.0
    if len(sites) < k:
        out.notes.append(
            f"Only {len(sites)} of the {k} sites add coverage; more sites would reach no one else."
        )
    return _finish(
        g,
        len(w),
        sites=sites,
        site_weight=site_w,
        site_hh=site_h,
        share_g=share_g,
        best_possible=float(g.weight.sum()) if cap is None else None,
        bound=out.bound,
        gap=gap,
        method=out.method,
        optimal=out.optimal,
        solve_time_s=time.perf_counter() - started,
        nonzeros=out.nonzeros,
        notes=out.notes,
    )


def _best_possible(g: _Groups, cap: np.ndarray | None, time_limit_s: float) -> float:
    """Weight covered with every candidate built (an LP with capacity)."""
    if cap is None:
        return float(g.weight.sum())
    n = g.reach.shape[1]
    served = _assignment(g, cap, np.arange(n), time_limit_s)
    if served is None:  # too large: what greedy serves with every site is a lower figure
        greedy = _Greedy(g, cap)
        greedy.run(k=n)
        served = greedy.served
    return sum(float((g.weight[r] * s).sum()) for r, s in served.values())


def min_sites_for_share(
    coverage_sets: CoverageSets,
    weights: Any,
    *,
    share: float,
    covered_weight: float = 0.0,
    total_weight: float | None = None,
    capacity: Any | None = None,
    hh: Any | None = None,
    time_limit_s: float = TIME_LIMIT_S,
    exact: bool | None = None,
    max_nonzeros: int = MAX_EXACT_NONZEROS,
) -> SitingSolution:
    """Choose the fewest sites that bring the covered share up to ``share`` (set covering).

    Solved in two phases: the fewest sites, then, with that many, the sites
    covering the most weight.

    Parameters
    ----------
    coverage_sets, weights, capacity, hh, time_limit_s, exact, max_nonzeros
        As for :func:`maximal_cover`; ``weights`` are the demand not yet covered.
    share : float
        Target share of ``total_weight`` covered, in (0, 1].
    covered_weight : float
        Weight already covered (by existing facilities).
    total_weight : float, optional
        All weight; default ``covered_weight + sum(weights)``.

    Returns
    -------
    SitingSolution
        ``bound`` is a lower bound on the number of sites and ``gap`` is
        ``(sites - bound) / bound``.

    Raises
    ------
    InputError
        No candidates, a share outside (0, 1], or a share out of reach even
        with every candidate (the message gives the best possible share).
    """
    started = time.perf_counter()
    cover, w, cap, hh_arr = _prepare(coverage_sets, weights, capacity, hh)
    n = cover.shape[0]
    if not (isinstance(share, (int, float, np.floating)) and 0 < float(share) <= 1):
        raise InputError(
            f"The target share must be above 0 and at most 1 (e.g. 0.9); got {share!r}."
        )
    total = float(total_weight) if total_weight is not None else covered_weight + float(w.sum())
    if not total > 0:
        raise InputError("There are no residents, so no share can be reached; check the demand.")
    target = float(share) * total - float(covered_weight)
    g = _aggregate(cover, w, hh_arr, by_ratio=cap is not None)
    tol = 1e-9 * total
    if target <= tol:
        return _no_new_sites(
            g, len(w), solve_time_s=time.perf_counter() - started, best_possible=None,
            notes=[
                f"Existing facilities already cover {covered_weight / total:.1%}, at or above "
                f"the target of {share:.1%}; no new site is needed."
            ],
        )
    best = _best_possible(g, cap, time_limit_s) if g.reach.shape[0] else 0.0
    if best < target - tol:
        best_share = (covered_weight + best) / total
        raise InputError(
            f"A share of {share:.1%} cannot be reached even with all {n:,} candidate sites: "
            f"the best possible is {best_share:.1%} ({covered_weight / total:.1%} covered "
            "now). Lower the target, or give candidates nearer the residents left out"
            + (" or with more floor area." if cap is not None else ".")
        )
    out = _min_sites(
        g,
        min(target, best) - tol,
        cap,
        time_limit_s=time_limit_s,
        exact=exact,
        max_nonzeros=max_nonzeros,
    )
    sites = out.picked[0]
    gap = None
    if out.optimal:
        gap = 0.0
    elif out.bound is not None and out.bound > 0:
        gap = (len(sites) - out.bound) / out.bound
    return _finish(
        g,
        len(w),
        sites=sites,
        site_weight=out.picked[1],
        site_hh=out.picked[2],
        share_g=out.picked[3],
        best_possible=best,
        bound=out.bound,
        gap=gap,
        method=out.method,
        optimal=out.optimal,
        solve_time_s=time.perf_counter() - started,
        nonzeros=out.nonzeros,
        notes=out.notes,
    )


# ====================================================================== candidates


def _column(frame: pd.DataFrame, candidates: Sequence[str]) -> str | None:
    lowered = {str(c).strip().lower(): c for c in frame.columns if c != "geometry"}
    return next((lowered[c] for c in candidates if c in lowered), None)


def _names(values: Any) -> pd.Series:
    """Names as objects, missing ones None (pandas would make them NaN strings)."""
    return pd.Series(
        [v if isinstance(v, str) and v.strip() else None for v in values], dtype=object
    )


def _candidate_frame(
    ids: Any, names: Any, floor_area: Any, geometry: Any, crs: Any, source: str
) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "candidate_id": pd.Series(ids, dtype=object).astype(str).to_numpy(),
            "name": _names(names),
            "floor_area_m2": np.asarray(floor_area, dtype=float),
            "source": source,
        },
        geometry=geometry,
        crs=crs,
    ).reset_index(drop=True)


def candidates_from_grid(district: District) -> gpd.GeoDataFrame:
    """Return one candidate per finest unit (grid): its centroid, or a point inside it.

    Parameters
    ----------
    district : District
        The district; its finest level gives the candidates.

    Returns
    -------
    geopandas.GeoDataFrame
        Points in the district's metric CRS with ``candidate_id`` (the unit
        code), ``name``, ``floor_area_m2`` (NaN: unknown) and ``source``.
    """
    units = district.metric(district.building_block)
    geoms = units.geometry.values
    cent = shapely.centroid(geoms)
    inside = shapely.contains(geoms, cent)
    pts = np.where(inside, cent, shapely.point_on_surface(geoms))
    ok = ~shapely.is_empty(geoms) & shapely.is_valid(geoms)
    names = units["name"] if "name" in units.columns else pd.Series([None] * len(units))
    return _candidate_frame(
        units["code"][ok],
        names[ok],
        np.full(int(ok.sum()), np.nan),
        pts[ok],
        district.metric_crs,
        district.building_block,
    )


def candidates_from_buildings(
    buildings: gpd.GeoDataFrame, *, min_floor_area_m2: float | None, metric_crs: pyproj.CRS
) -> gpd.GeoDataFrame:
    """Return the buildings large enough for a facility as candidates.

    Floor area is a ``floor_area_m2`` column where present, otherwise the
    footprint times the floors (a floors or height column, else 1 floor).

    Parameters
    ----------
    buildings : geopandas.GeoDataFrame
        Building footprints (polygons), or points with a floor area column.
    min_floor_area_m2 : float or None
        Keep buildings with at least this floor area (None keeps all).
    metric_crs : pyproj.CRS
        CRS for footprint areas.

    Returns
    -------
    geopandas.GeoDataFrame
        Points (inside each building) in ``metric_crs``, as
        :func:`candidates_from_grid`.

    Raises
    ------
    EmptyInputError
        When no building is large enough.
    """
    if buildings is None or len(buildings) == 0:
        raise EmptyInputError(
            "Candidates from buildings need a buildings layer, and none was given. Pass "
            "--buildings FILE or --osm FILE.osm.pbf, or use --candidates grid."
        )
    bm = buildings.to_crs(metric_crs).reset_index(drop=True)
    polys = bm.geom_type.isin(["Polygon", "MultiPolygon"]).to_numpy()
    area_col = _column(bm, FACILITY_COLUMNS["floor_area_m2"])
    given = (
        pd.to_numeric(bm[area_col], errors="coerce").to_numpy(dtype=float)
        if area_col is not None
        else np.full(len(bm), np.nan)
    )
    footprint = np.where(polys, bm.geometry.area.to_numpy(), np.nan)
    floor_area = np.where(np.isfinite(given), given, footprint * _floors(bm))
    keep = np.isfinite(floor_area)
    if min_floor_area_m2 is not None:
        keep &= floor_area >= min_floor_area_m2
    if not keep.any():
        largest = np.nanmax(floor_area) if np.isfinite(floor_area).any() else math.nan
        raise EmptyInputError(
            f"No building has the {min_floor_area_m2 or 0:,.0f} m² of floor area a facility "
            f"needs (footprint × floors; the largest has {largest:,.0f} m²), so there are no "
            "candidates. Give a candidates layer (--candidates FILE) or use --candidates grid."
        )
    id_col = _column(bm, CANDIDATE_ID_COLUMNS)
    name_col = _column(bm, FACILITY_COLUMNS["name"])
    idx = np.flatnonzero(keep)
    ids = bm[id_col].to_numpy()[idx] if id_col else [f"building {i}" for i in idx]
    names = bm[name_col].to_numpy()[idx] if name_col else [None] * len(idx)
    pts = shapely.point_on_surface(bm.geometry.values[idx])
    return _candidate_frame(ids, names, floor_area[idx], pts, metric_crs, "buildings")


def candidates_from_layer(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return a candidates layer (points or polygons) in a common form.

    ``candidate_id`` comes from an ``id``/``code`` column (else the row
    number), ``name`` and ``floor_area_m2`` from the columns the facilities
    layer uses (:data:`geo.access.coverage.FACILITY_COLUMNS`). Polygons become a
    point inside them.

    Raises
    ------
    EmptyInputError, GeometryTypeError
    """
    if frame is None or len(frame) == 0:
        raise EmptyInputError(
            "The candidates layer has no features, so there is nowhere to propose a site. "
            "Give a layer of candidate sites or use --candidates grid."
        )
    gtypes = set(frame.geom_type.dropna())
    if not gtypes <= {"Point", "Polygon", "MultiPolygon", "MultiPoint"}:
        raise GeometryTypeError(
            f"Candidate sites must be points or polygons, not {', '.join(sorted(gtypes))}."
        )
    frame = frame.reset_index(drop=True)
    usable = frame.geometry.notna().to_numpy() & ~frame.geometry.is_empty.to_numpy()
    if not usable.any():
        raise EmptyInputError("No candidate site in the layer has a location; check its geometry.")
    frame = frame[usable].reset_index(drop=True)
    id_col = _column(frame, CANDIDATE_ID_COLUMNS)
    name_col = _column(frame, FACILITY_COLUMNS["name"])
    area_col = _column(frame, FACILITY_COLUMNS["floor_area_m2"])
    area = (
        pd.to_numeric(frame[area_col], errors="coerce").to_numpy(dtype=float)
        if area_col is not None
        else np.full(len(frame), np.nan)
    )
    area = np.where(area >= 0, area, np.nan)
    ids = frame[id_col].to_numpy() if id_col else [f"#{i}" for i in range(len(frame))]
    names = frame[name_col].to_numpy() if name_col else [None] * len(frame)
    pts = frame.geometry.representative_point().values
    return _candidate_frame(ids, names, area, pts, frame.crs, "layer")


# ====================================================================== the adapter


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
        raise InputError(
            "Give either a number of new sites (-k N) or a target share (--target-share S), "
            "not both."
        )
    if k is None and target_share is None:
        raise InputError(
            "Say what to aim for: a number of new sites (-k N, e.g. -k 3) or a target share "
            "of residents covered (--target-share S, e.g. 0.9)."
        )
    if k is not None and (isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1):
        raise InputError(f"-k must be a whole number of new sites, at least 1; got {k!r}.")
    if target_share is not None and not 0 < float(target_share) <= 1:
        raise InputError(
            f"--target-share must be above 0 and at most 1 (0.9 means 90%); got {target_share!r}."
        )


def _facility_type(rulebook: Rulebook, key: str, *, capacity: bool) -> FacilityType:
    """Return the facility type, checking it has a floor-area ratio when capacity is asked for."""
    ftype = rulebook.facility(key)
    if capacity and not ftype.m2_per_100_households:
        raise RulebookError(
            f"{ftype.name} has no m2_per_100_households in the rulebook, so a site's "
            "capacity cannot be worked out. Add the ratio to the rulebook or leave out "
            "--capacity."
        )
    return ftype


def _households(demand: gpd.GeoDataFrame, pop: np.ndarray, household_size: float) -> np.ndarray:
    hh = (
        pd.to_numeric(demand["households"], errors="coerce").to_numpy(dtype=float)
        if "households" in demand.columns
        else np.full(len(pop), np.nan)
    )
    return np.where(np.isfinite(hh) & (hh >= 0), hh, pop / household_size)


def _progress(cb: Progress | None, step: str, frac: float) -> None:
    if cb is not None:
        cb(step, frac)


@dataclass(frozen=True)
class SolverOptions:
    """How hard the solver tries (see :func:`maximal_cover`).

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


@dataclass
class _Residents:
    """Residents as points in the metric CRS: what siting serves."""

    frame: gpd.GeoDataFrame
    pop: np.ndarray
    households: np.ndarray
    x: np.ndarray
    y: np.ndarray

    @property
    def total(self) -> float:
        return float(self.pop.sum())


@dataclass
class _Candidates:
    """Candidate sites in the metric CRS, with their floor areas and capacities."""

    frame: gpd.GeoDataFrame
    x: np.ndarray
    y: np.ndarray
    how: str
    move_to_node: bool
    area: np.ndarray
    assumed: np.ndarray
    capacity_hh: np.ndarray | None
    snap_m: np.ndarray
    node: np.ndarray | None = None
    offset: np.ndarray | None = None


@dataclass
class _Reach:
    """Who is covered already, and which residents not yet covered each candidate reaches."""

    covered_before: np.ndarray
    uncovered: np.ndarray
    sets: list[np.ndarray]
    reachable: np.ndarray
    beyond: float
    n_existing: int

    def covered_weight(self, pop: np.ndarray) -> float:
        return float(pop[self.covered_before].sum())


def _place_residents(
    district: District,
    demand: gpd.GeoDataFrame | None,
    buildings: gpd.GeoDataFrame | None,
    metric: Any,
    household_size: float,
) -> _Residents:
    """Place residents as points, given or split over buildings or a lattice (step 1)."""
    if demand is None:
        demand = demand_points(
            district.units[district.building_block],
            metric_crs=district.metric_crs,
            buildings=buildings,
            household_size=household_size,
        )
    dem = demand.to_crs(metric).reset_index(drop=True)
    pop = pd.to_numeric(dem["population"], errors="coerce").fillna(0.0).to_numpy(dtype=float)
    pop = np.where(pop > 0, pop, 0.0)
    if not float(pop.sum()) > 0:
        raise InputError(
            "The residents add up to zero, so there is no one to site a facility for. Add "
            "population figures to the units."
        )
    return _Residents(
        frame=dem,
        pop=pop,
        households=_households(dem, pop, household_size),
        x=shapely.get_x(dem.geometry.values),
        y=shapely.get_y(dem.geometry.values),
    )


def _read_candidates(
    candidates: str | gpd.GeoDataFrame,
    district: District,
    buildings: gpd.GeoDataFrame | None,
    ftype: FacilityType,
    *,
    metric: Any,
    has_network: bool,
    k: int | None,
    capacity: bool,
    notes: list[str],
) -> _Candidates:
    """Read the candidate sites, their floor areas and households served (step 2)."""
    move_to_node = False
    if isinstance(candidates, str):
        if candidates == "grid":
            cand = candidates_from_grid(district)
            move_to_node = has_network
            how = f"{district.building_block} centroids" + (
                " moved to the nearest walkable node" if move_to_node else ""
            )
        elif candidates == "buildings":
            cand = candidates_from_buildings(
                buildings, min_floor_area_m2=ftype.min_floor_area_m2, metric_crs=metric
            )
            how = (
                "buildings with footprint × floors of at least "
                f"{ftype.min_floor_area_m2 or 0:,.0f} m²"
            )
        else:
            raise InputError(
                f"candidates must be 'grid', 'buildings' or a layer of sites, not {candidates!r}."
            )
    else:
        cand = candidates_from_layer(candidates)
        how = "the candidates layer"
    if cand.crs is None:
        raise InputError("The candidates layer has no CRS; give one (e.g. EPSG:4326).")
    cand = cand.to_crs(metric)
    n_cand = len(cand)
    if n_cand == 0:
        raise EmptyInputError(
            "There are no candidate sites, so no site can be proposed. Give a candidates "
            "layer or use --candidates grid."
        )
    if k is not None and k > n_cand:
        raise InputError(
            f"{k} new sites were asked for but there are only {n_cand:,} candidates ({how}); "
            "ask for fewer, or give more candidates."
        )
    area = cand["floor_area_m2"].to_numpy(dtype=float)
    assumed = ~np.isfinite(area)
    if capacity and assumed.any():
        if ftype.min_floor_area_m2 is None:
            raise RulebookError(
                f"{int(assumed.sum()):,} candidates have no floor area and {ftype.name} has no "
                "min_floor_area_m2 in the rulebook to assume. Give floor_area_m2 in the "
                "candidates layer, or add the minimum to the rulebook."
            )
        area = np.where(assumed, ftype.min_floor_area_m2, area)
        notes.append(
            f"{int(assumed.sum()):,} of {n_cand:,} candidates have no floor area and are "
            f"assumed to have the type's minimum of {ftype.min_floor_area_m2:,.0f} m² "
            f"({ftype.floor_area_source or 'rulebook'})."
        )
    ratio = ftype.m2_per_100_households
    return _Candidates(
        frame=cand,
        x=shapely.get_x(cand.geometry.values),
        y=shapely.get_y(cand.geometry.values),
        how=how,
        move_to_node=move_to_node,
        area=area,
        assumed=assumed,
        capacity_hh=area / ratio * 100.0 if capacity and ratio else None,
        snap_m=np.zeros(n_cand),
    )


def _walking_reach(
    res: _Residents,
    cand: _Candidates,
    existing: gpd.GeoDataFrame | None,
    *,
    network: WalkNetwork | None,
    radius_m: float,
    detour: float,
    notes: list[str],
    progress: Progress | None,
) -> _Reach:
    """Find whom the existing facilities cover and whom each candidate would reach (steps 3–4).

    With a network, residents, candidates and facilities are snapped to it (grid
    candidates move onto their node); without one, straight-line distance × ``detour``.
    """
    n_existing = 0 if existing is None else len(existing)
    n_cand = len(cand.frame)
    d_node = d_off = None
    if network is not None:
        d_node, d_off = network.snap(res.x, res.y)
        check_network_reaches(network, res.frame, d_off)  # a network that misses: refuse
        c_node, c_off = network.snap(cand.x, cand.y)
        cand.snap_m = c_off.copy()
        if cand.move_to_node:
            cand.x, cand.y = network.x[c_node].copy(), network.y[c_node].copy()
            c_off = np.zeros(n_cand)
        cand.node, cand.offset = c_node, c_off
        far = int((c_off > MAX_SNAP_M).sum())
        if far:
            notes.append(
                f"{far:,} candidates lie more than {MAX_SNAP_M:,.0f} m from the walking "
                "network; the gap is counted as walking, so they reach few residents."
            )
    dist = np.full(len(res.frame), np.inf)
    if n_existing:
        assert existing is not None
        fx, fy = shapely.get_x(existing.geometry.values), shapely.get_y(existing.geometry.values)
        if network is not None:
            f_node, f_off = network.snap(fx, fy)
            node_d = nearest_source_distance(network.graph, f_node, f_off, limit_m=radius_m)
            dist = node_d[d_node] + d_off
        else:
            dd, _ = cKDTree(np.column_stack([fx, fy])).query(np.column_stack([res.x, res.y]))
            dist = dd * detour
    pop = res.pop
    covered_before = (dist <= radius_m) & (pop > 0)
    unc = np.flatnonzero(~covered_before & (pop > 0))

    _progress(progress, "walking reach of each candidate", 0.35)
    sets: list[np.ndarray]
    if len(unc) == 0:
        sets = [np.zeros(0, dtype=np.int64) for _ in range(n_cand)]
    elif network is not None:
        assert d_node is not None and d_off is not None
        assert cand.node is not None and cand.offset is not None
        sets = catchments(
            network.graph, cand.node, cand.offset, d_node[unc], d_off[unc], radius_m=radius_m
        )
    else:
        sets = straight_line_catchments(
            np.column_stack([cand.x, cand.y]),
            np.column_stack([res.x[unc], res.y[unc]]),
            radius_m=radius_m,
            detour=detour,
        )
    w_unc = pop[unc]
    any_reach = np.zeros(len(unc), dtype=bool)
    for s in sets:
        any_reach[s] = True
    return _Reach(
        covered_before=covered_before,
        uncovered=unc,
        sets=sets,
        reachable=np.array([float(w_unc[s].sum()) for s in sets]),
        beyond=float(w_unc[~any_reach].sum()),
        n_existing=n_existing,
    )


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
        raise InputError(
            f"None of the {len(cand.frame):,} candidates ({cand.how}) lies within {r:,.0f} m "
            f"walk of any of the {float(w_unc.sum()):,.0f} residents not yet covered by "
            f"{_article(ftype.name.lower())}, so no site can add coverage. Try other candidates "
            "(--candidates grid, buildings or a layer nearer those residents) or check the "
            "walking network (is it connected and does it reach the candidates?)."
        )
    if len(unc) == 0:
        notes.append(
            f"Every resident already lives within {r:,.0f} m of {_article(ftype.name.lower())}; "
            "no new site adds coverage."
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
                message=(
                    f"No walking network: reach is straight-line distance × {detour:g}, an "
                    "approximation. Give a network for walking distances."
                ),
            )
        )
    for row in sites.itertuples(index=False):
        name = row.name if isinstance(row.name, str) and row.name else None
        label = f"{name} ({row.candidate_id})" if name else str(row.candidate_id)
        area_text = (
            f"; floor area {row.floor_area_m2:,.0f} m²"
            + (" (assumed: the type's minimum)" if row.floor_area_assumed else "")
            if np.isfinite(row.floor_area_m2)
            else ""
        )
        cap_text = (
            f", serving up to {row.capacity_households:,.0f} households"
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
                message=(
                    f"New {ftype.name.lower()} #{row.rank} at {label}: brings "
                    f"{row.newly_covered:,.0f} more residents within {r:,.0f} m walk"
                    f"{cap_text}{area_text}."
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
                message=(
                    f"{beyond:,.0f} residents not yet covered live more than {r:,.0f} m from "
                    "every candidate, so no choice among these candidates reaches them. Add "
                    "candidates nearer them or check the network there."
                ),
            )
        )
    findings.extend(
        Finding(rule="siting.note", level="district", severity="info", message=note)
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
        Time limit and exactness of the solver (:func:`maximal_cover`).
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
            raise InputError(
                f"Candidates file {path} does not exist. Give --candidates grid, "
                "--candidates buildings or a layer of candidate sites (points or polygons)."
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
    "SitingSolution",
    "candidates_from_buildings",
    "candidates_from_grid",
    "candidates_from_layer",
    "check_goal",
    "maximal_cover",
    "min_sites_for_share",
    "propose_sites",
    "run_siting",
    "write_sites",
]
