"""Siting on arrays: maximal cover and the fewest sites for a share.

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
:data:`~geo.siting.solvers.MAX_EXACT_NONZEROS` nonzeros). A larger model, or
one the solver does not finish within the time limit, is solved by lazy
greedy on marginal gain, and the answer says how far it can be from the
optimum at most: the gap to the LP bound. With ``capacity`` a site serves at
most as many households as its floor area supports; residents are then
assigned to sites (fractions of a demand row may go to different sites, and
only points with the same residents per household are merged). The solvers
themselves are in :mod:`geo.siting.solvers`.

Nothing here is random: ties are broken by candidate order, so the same
inputs give the same sites (every result records ``seed = None``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import sparse

from geo.errors import InputError
from geo.findings import Phrase, Word
from geo.i18n import N_
from geo.siting.solvers import (
    MAX_EXACT_NONZEROS,
    TIME_LIMIT_S,
    CoverageSets,
    _aggregate,
    _assignment,
    _check_weights,
    _coverage_matrix,
    _Greedy,
    _Groups,
    _max_cover,
    _min_sites,
)

if TYPE_CHECKING:
    pass


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
        Whether the solution is proven optimal (within :data:`~geo.siting.solvers.MIP_REL_GAP`).
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
                return Phrase(N_("exact (HiGHS), optimal"))
            if self.gap is not None:
                return Phrase(N_("exact (HiGHS), stopped at the time limit, within {gap:.2%} "
                                 "of the bound"), gap=self.gap)
            return Phrase(N_("exact (HiGHS), stopped at the time limit"))
        if self.gap is None:
            return Phrase(N_("greedy, no bound computed"))
        return Phrase(N_("greedy, within {gap:.2%} of the LP bound"), gap=self.gap)


def _prepare(
    coverage_sets: CoverageSets,
    weights: Any,
    capacity: Any,
    hh: Any,
) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray | None, np.ndarray | None]:
    w = _check_weights(weights, Word(N_("weights")))
    cover = _coverage_matrix(coverage_sets, len(w))
    if cover.shape[0] == 0:
        raise InputError.worded(
            N_(
                "There are no candidate sites to choose from. Give a candidates layer or "
                "generate candidates (grid centroids or large buildings)."
            )
        )
    cap = None
    hh_arr = None
    if capacity is not None:
        cap = np.asarray(capacity, dtype=float).ravel()
        if len(cap) != cover.shape[0]:
            raise InputError.worded(
                N_("{name} has {count:,} values but there are {n:,} candidates."),
                name="capacity",
                count=len(cap),
                n=cover.shape[0],
            )
        if np.isnan(cap).any() or (cap < 0).any():
            raise InputError.worded(
                N_(
                    "{name} must be given for every candidate and not be negative (use {inf} "
                    "for no limit)."
                ),
                name="capacity",
                inf="inf",
            )
        if hh is None:
            raise InputError.worded(
                N_("{name} is in households, so {hh} (households of each demand point) is needed."),
                name="capacity",
                hh="hh",
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
        raise InputError.worded(
            N_("{name} must be a whole number of new sites, at least 1; got {k}."),
            name="k",
            k=repr(k),
        )
    if k > n:
        raise InputError.worded(
            N_(
                "{k} new sites were asked for but there are only {n:,} candidate sites; ask for "
                "fewer or give more candidates."
            ),
            k=k,
            n=n,
        )
    g = _aggregate(cover, w, hh_arr, by_ratio=cap is not None)
    if g.reach.shape[0] == 0:
        if w.sum() > 0:
            raise InputError.worded(
                N_(
                    "No candidate site reaches any demand point with a weight; choose other "
                    "candidates or check the distances."
                )
            )
        return _no_new_sites(
            g, len(w), solve_time_s=time.perf_counter() - started,
            notes=[Phrase(N_("There is no demand weight left to cover."))],
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
        out.notes.append(Phrase(
            N_("Only {n} of the {k} sites add coverage; more sites would reach no one else."),
            n=len(sites), k=k))
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
        raise InputError.worded(
            N_("The target share must be above 0 and at most 1 (e.g. 0.9); got {share}."),
            share=repr(share),
        )
    total = float(total_weight) if total_weight is not None else covered_weight + float(w.sum())
    if not total > 0:
        raise InputError.worded(
            N_("There are no residents, so no share can be reached; check the demand.")
        )
    target = float(share) * total - float(covered_weight)
    g = _aggregate(cover, w, hh_arr, by_ratio=cap is not None)
    tol = 1e-9 * total
    if target <= tol:
        return _no_new_sites(
            g, len(w), solve_time_s=time.perf_counter() - started, best_possible=None,
            notes=[Phrase(
                N_("Existing facilities already cover {covered:.1%}, at or above the target of "
                   "{target:.1%}; no new site is needed."),
                covered=covered_weight / total, target=float(share))],
        )
    best = _best_possible(g, cap, time_limit_s) if g.reach.shape[0] else 0.0
    if best < target - tol:
        best_share = (covered_weight + best) / total
        template = (
            N_(
                "A share of {share:.1%} cannot be reached even with all {n:,} candidate sites: "
                "the best possible is {best:.1%} ({now:.1%} covered now). Lower the target, or "
                "give candidates nearer the residents left out or with more floor area."
            )
            if cap is not None
            else N_(
                "A share of {share:.1%} cannot be reached even with all {n:,} candidate sites: "
                "the best possible is {best:.1%} ({now:.1%} covered now). Lower the target, or "
                "give candidates nearer the residents left out."
            )
        )
        raise InputError.worded(
            template, share=share, n=n, best=best_share, now=covered_weight / total
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


__all__ = [
    "SitingSolution",
    "maximal_cover",
    "min_sites_for_share",
]
