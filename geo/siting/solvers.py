"""The solvers behind siting: the covering model, HiGHS (MILP and LP), greedy, capacity.

:func:`~geo.siting.cover.maximal_cover` and
:func:`~geo.siting.cover.min_sites_for_share` hand their demand here once it
is merged into groups (:class:`_Groups`: demand points that the same
candidates reach, one weighted row each). The covering model
(:func:`_cover_model`) is solved as an LP relaxation by interior point
(:func:`_lp`): its value bounds the optimum, and when its solution is already
integral it is the optimum. Otherwise the integer programme is solved with
HiGHS branch and bound (:func:`_milp`, :func:`scipy.optimize.milp`) when it is
small enough (at most :data:`MAX_EXACT_NONZEROS` nonzeros). A larger model, or
one the solver does not finish within the time limit, is solved by lazy
greedy on marginal gain (:class:`_Greedy`). With capacity a site serves at
most as many households as its floor area supports; residents are then
assigned to sites by an LP (:func:`_assignment`).

Nothing here is random: ties are broken by candidate order.
"""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, OptimizeResult, linprog, milp

from geo import settings
from geo.errors import InputError
from geo.findings import Phrase
from geo.i18n import N_

if TYPE_CHECKING:
    pass

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


CoverageSets: TypeAlias = Sequence[np.ndarray] | sparse.spmatrix | sparse.sparray


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
            raise InputError.worded(
                N_(
                    "The coverage matrix has {columns:,} columns but there are {n:,} demand "
                    "weights; it must be candidates × demand points."
                ),
                columns=mat.shape[1],
                n=n_demand,
            )
        mat.eliminate_zeros()  # an explicit zero is no reach
        mat.sum_duplicates()
        mat.data[:] = 1.0
        return mat
    sets = [np.unique(np.asarray(s, dtype=np.int64).ravel()) for s in coverage_sets]
    lengths = np.array([len(s) for s in sets], dtype=np.int64)
    indices = np.concatenate(sets) if sets else np.zeros(0, dtype=np.int64)
    if len(indices) and (indices.min() < 0 or indices.max() >= n_demand):
        raise InputError.worded(
            N_(
                "A coverage set names a demand point outside 0..{last} (there are {n:,} demand "
                "weights); coverage sets hold demand indices."
            ),
            last=n_demand - 1,
            n=n_demand,
        )
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    data = np.ones(len(indices))
    return sparse.csr_matrix((data, indices, indptr), shape=(len(sets), n_demand))


def _check_weights(weights: Any, name: str, n: int | None = None) -> np.ndarray:
    w = np.asarray(weights, dtype=float).ravel()
    if n is not None and len(w) != n:
        raise InputError.worded(
            N_("{name} has {count:,} values but there are {n:,} demand points."),
            name=name,
            count=len(w),
            n=n,
        )
    if not np.isfinite(w).all() or (w < 0).any():
        raise InputError.worded(
            N_(
                "{name} must be finite and non-negative; {count:,} values are not. Fill or drop "
                "them."
            ),
            name=name,
            count=int((~np.isfinite(w) | (w < 0)).sum()),
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
            raise InputError.worded(
                N_("Capacity needs the households of each demand point ({hh})."), hh="hh"
            )
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
        notes.append(Phrase(
            N_("HiGHS stopped at the time limit ({limit:g} s) before proving the optimum; "
               "greedy was run as well and the better answer kept."), limit=time_limit_s))
    else:
        notes.append(Phrase(
            N_("The exact model has {nonzeros:,} nonzeros (more than {most:,}), so lazy greedy "
               "was used."), nonzeros=model.nonzeros, most=max_nonzeros))
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
            notes.append(Phrase(
                N_("HiGHS stopped at the time limit ({limit:g} s) before proving the fewest "
                   "sites; greedy was run as well and the better answer kept."),
                limit=time_limit_s))
    else:
        notes.append(Phrase(
            N_("The exact model has {nonzeros:,} nonzeros (more than {most:,}), so greedy was "
               "used."), nonzeros=model.nonzeros, most=max_nonzeros))
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


__all__ = [
    "MAX_EXACT_NONZEROS",
    "MAX_LP_NONZEROS",
    "MIP_REL_GAP",
    "TIME_LIMIT_S",
]
