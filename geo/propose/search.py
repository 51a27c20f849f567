"""Propose a street plan in which every street meets the rulebook's bands.

:func:`propose_plan` takes a :class:`~geo.plan.model.Plan` and returns a
:class:`Proposal`: a **new** plan (the input is never modified), a summary and
findings. Communities (the plan's building blocks) are never split, every
street stays contiguous (rook adjacency), locked streets stay exactly as they
are (nothing leaves them, nothing enters them) and streets whose kind has no
rule in the rulebook (towns and townships by default) are left alone.

Two modes:

``least_change`` (default)
    Start from the current plan and move as little as possible. Plans are
    ranked by, in order: the number of streets outside a band, the summed
    band violation, residents moved, communities moved, compactness.
``scratch``
    Ignore the current assignment (except locked and rule-less streets):
    grow streets from seeds spread over the district to the average street's
    area and residents, then repair by local search. New regions take over
    the code of the old street they overlap most (by residents), so the
    summary's "moved" figures stay meaningful.

Method
------
Every step moves one border community from its street to a rook-adjacent
street. A move that would cut its street in two is refused (a breadth-first
search over the street's communities, from one of the community's
neighbours, must reach all the others). Totals are updated incrementally,
the perimeter of a street as the sum of its communities' perimeters less
twice the boundary they share, so compactness (Polsby-Popper, ``4πA/P²``) is
incremental too. The cost of a street is its band violation (each band's
excess in band widths), a fixed penalty for being outside at all, a small
weight on ``1 − compactness`` and ``compactness_weight`` per unit of compactness
below :data:`geo.settings.propose_compactness_floor` (0.45, so long wedges cost
more than a few moved communities, while a street out of band still costs
more); least change adds a cost per resident and
per community moved. The search repeats:

1. **descent**: apply the best improving moves until none is left;
2. **ejection chains**: from a street out of band, a move that may make a
   neighbour worse, then the best move repairing what the chain broke, up to
   six moves; the best chain that lowers the cost is kept;
3. **kick**: a short, low-temperature simulated annealing to leave a local
   optimum.

Least change first splits streets whose totals make two streets in band and
brings the count into range (split the fullest street by growing two halves
from far-apart communities, merge the emptiest into a neighbour). Once the
bands are met, **ruin and recreate** puts groups of moved communities back in
their streets and repairs, keeping whatever moves fewer residents. If moving
communities one by one gets stuck, the streets are grown anew as in scratch
mode, matched to the old streets they overlap most and brought back toward
the current plan the same way; splits and merges are tried last.

Scratch grows, in each connected area of movable communities, as many
streets as its totals fit best: seeds by weighted k-means, then the least
filled street takes the neighbour that keeps its density nearest the target
(so dense streets reach out for sparse land), then the repair loop above,
then annealing for compactness that never leaves the bands. All randomness
comes from one seeded :class:`numpy.random.Generator`, so a seed always gives
the same proposal unless the time limit is what stops the search.

The number of streets counts the streets that have rules (street offices by
default), locked ones included. By default it ranges over what the totals
allow, ``⌈total / band max⌉ … ⌊total / band min⌋`` for area and residents
(and households, when banded), intersected and widened by one on each side.

Emptied streets are **removed** from the proposal (listed in
``summary["streets_removed"]``), so its street table holds only streets with
communities; :meth:`geo.plan.model.Plan.compare` lists every move. New streets get
codes derived by :meth:`geo.plan.model.Plan.new_street` and names ``新街道1``,
``新街道2`` ...

Where the bands cannot all be met, the proposal is still the best plan found
and the findings say why, with places:

* ``propose.density_envelope``: a connected area of movable communities whose
  density lies outside the envelope in which a street can meet both bands
  (10,000–20,000 residents/km² by default), so at least one of its streets
  must break a band; and, after the search, a street still out of band whose
  density lies outside the envelope;
* ``propose.oversized_community``: a community larger (in area, residents or
  households) than a whole street may be;
* ``propose.island``: a connected area of movable communities (cut off by
  locked or rule-less streets, or by a gap) too small or too large to form
  whole streets in band; ``propose.totals`` when that area is the whole
  movable district;
* ``propose.street_count``: the number of streets asked for cannot put the
  average street in band;
* ``propose.locked``: a locked street outside a band;
* ``propose.not_found``: the search stopped without a feasible plan and none
  of the above explains it.

The street-level rule findings of the proposal (``street.area_km2`` ...) are
included too.

Examples
--------
>>> proposal = propose_plan(plan, rulebook)                  # doctest: +SKIP
>>> proposal.summary["feasible"], proposal.summary["residents_moved"]  # doctest: +SKIP
>>> PlanStore("project.gpkg").save_plan(proposal.plan)       # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from geo import settings
from geo.errors import InputError, PlanError, RulebookError
from geo.findings import Finding, Phrase, Word
from geo.i18n import N_
from geo.plan.base import Street
from geo.plan.model import Plan
from geo.propose.bound import explain_moves, residents_moved_lower_bound
from geo.propose.diagnose import (
    _analyse,
    _components,
    _count_findings,
    _street_findings_after,
    street_count_range,
)
from geo.propose.grow import (
    _adopt,
    _fullness,
    _match_slots,
    _merge,
    _pick_merge,
    _pick_split,
    _scratch,
    _Space,
    _split,
)
from geo.propose.moves import (
    _improve,
    _polish,
    _repair_pieces,
    _ruin_recreate,
)
from geo.propose.state import (
    DEFAULT_COMPACTNESS_WEIGHT,
    DEFAULT_SEED,
    MODES,
    NEW_STREET_NAME,
    Progress,
    _Band,
    _bands,
    _count_bounds,
    _log_progress,
    _Problem,
    _Random,
    _State,
    _Weights,
)
from geo.rules.bands import Band
from geo.rules.rulebook import Rulebook

logger = logging.getLogger(__name__)

# ------------------------------------------------------------------------ result


@dataclass(frozen=True)
class Proposal:
    """A proposed street plan with its summary and findings.

    Attributes
    ----------
    plan : Plan
        The proposal: a new plan named ``proposal-<mode>-<seed>`` (or the name
        given), without edit history.
    summary : dict
        JSON-ready figures: ``mode``, ``seed``, ``feasible``, ``stop_reason``,
        ``elapsed_s``, street counts and in-band streets before and after,
        communities and residents moved, mean compactness before and after,
        streets added and removed, and one row per street in ``streets``.
    findings : list of Finding
        Why bands cannot be met where they cannot (``propose.*``), and the
        proposal's own street-level findings.
    """

    plan: Plan
    summary: dict[str, Any]
    findings: list[Finding] = field(default_factory=list)

    @property
    def feasible(self) -> bool:
        """Whether every street with rules meets all its bands."""
        return bool(self.summary.get("feasible"))

    def to_dict(self) -> dict[str, Any]:
        """Return the summary and the findings as one JSON-ready dictionary."""
        return {**self.summary, "findings": [f.to_dict() for f in self.findings]}


def _refuse_missing_figures(
    plan: Plan, kind_bands: dict[str, tuple[_Band, ...]], movable: Sequence[bool]
) -> None:
    """Refuse to plan with residents or households that are missing: they are not zero."""
    base = plan.base
    streets = plan.streets
    in_play = np.asarray(movable, dtype=bool)[plan.assignment]
    needs = {m for s in streets for (m, *_rest) in kind_bands.get(s.kind, ())}
    problems: list[str] = []
    # residents are always needed: a proposal is judged by the residents it moves
    for what, idxs, missing in (
        (Word(N_("residents (population)")), {0, 1, 2, 3}, base.population_missing),
        (Word(N_("households")), {2}, base.households_missing),
    ):
        if not needs & idxs:
            continue
        lacking = np.flatnonzero(missing & in_play)
        if len(lacking):
            names = ", ".join(str(base.names[b] or base.codes[b]) for b in lacking[:8])
            nouns = Word(base.nouns)
            problems.append(
                Phrase(N_("{what} of {n} {nouns}: {names}"), what=what, n=len(lacking),
                       nouns=nouns, names=names) if len(lacking) <= 8 else
                Phrase(N_("{what} of {n} {nouns}: {names} and {more} more"), what=what,
                       n=len(lacking), nouns=nouns, names=names, more=len(lacking) - 8)
            )
    if problems:
        raise InputError.worded(
            N_("Cannot propose a plan: figures it needs are missing — {problems}. A missing "
               "figure is not zero: a plan built on it would move units for nothing and could "
               "not say how many residents it moves. Add the population column (CLI: --column "
               "population=COLUMN) or the figures for those units, or lock the streets that "
               "hold them."),
            problems=Phrase.joined(problems, "; "),
        )


def propose_plan(
    plan: Plan,
    rulebook: Rulebook,
    *,
    mode: str = "least_change",
    n_streets: int | None = None,
    min_streets: int | None = None,
    max_streets: int | None = None,
    seed: int | None = DEFAULT_SEED,
    time_limit_s: float = 60.0,
    compactness_weight: float = DEFAULT_COMPACTNESS_WEIGHT,
    margin: float | None = None,
    name: str | None = None,
    progress: Progress | None = None,
    move_weight: float = 0.0,
    iterations: int | None = None,
    recombine_weight: float | None = None,
) -> Proposal:
    """Propose a street plan in which every street with rules meets the rulebook's bands.

    Parameters
    ----------
    plan : Plan
        The current plan; never modified. Its locked streets stay exactly as
        they are; streets whose kind has no rule are left alone.
    rulebook : Rulebook
        Bands per street kind (``level = "street"``).
    mode : {"least_change", "scratch", "compact"}
        Start from the current plan and move as little as possible, grow the streets
        anew (see the module notes), or draw round streets by design
        (:mod:`geo.propose.compact`). ``least-change`` is accepted.
    n_streets : int, optional
        Exact number of streets with rules (locked ones included).
    min_streets, max_streets : int, optional
        Range of that number; default what the totals allow, widened by one
        (:func:`street_count_range`). Ignored when ``n_streets`` is given.
    seed : int, optional
        Seed of the random search; default :data:`DEFAULT_SEED`.
    time_limit_s : float
        Wall-clock budget of the search in seconds.
    compactness_weight : float
        Cost per street of each unit of compactness (Polsby-Popper ``4πA/P²``)
        below :data:`geo.settings.propose_compactness_floor` (0.45), in band widths
        (a street out of band costs at least 1), so
        the bands still come first. Higher keeps streets rounder at the price of
        moving more residents; 0 leaves compactness a mere tie-breaker. Least
        change only (scratch anneals for compactness anyway).
        Default :data:`DEFAULT_COMPACTNESS_WEIGHT`.
    margin : float, optional
        Keep streets at least this share of each bound inside their bands where
        it costs little (0.02: 6–8 km² becomes a preference for 6.12–7.84);
        default :data:`geo.settings.propose_margin`; 0 switches it off.
    name : str, optional
        The proposal's plan name; default ``proposal-<mode>-<seed>``.
    progress : callable, optional
        Called as ``progress(text, fraction)`` while the search runs.
    move_weight : float
        Compact mode: the cost of moving every movable resident, in units of mean
        compactness (0: roundest streets whatever moves; 0.3: a balance).
    iterations : int, optional
        Compact mode: refinement iterations per start (a work limit, so the result does
        not depend on the machine's speed); default
        :data:`geo.settings.propose_compact_iterations`.
    recombine_weight : float, optional
        Least change: once every street is in band, recombine pairs of neighbouring
        streets for rounder ones (:mod:`geo.propose.recombine`), at this cost of moving
        every movable resident in units of mean compactness (0.3: a balance), within
        a further quarter of ``time_limit_s`` at most. None (default) keeps the
        least-change plan as found.

    Returns
    -------
    Proposal

    Raises
    ------
    PlanError
        If every street is locked or without rules (nothing can move), for an
        unknown mode, or an impossible street count.
    RulebookError
        If the rulebook has no band for street offices.
    """
    started = time.perf_counter()
    req = _Request.checked(
        mode=mode, n_streets=n_streets, min_streets=min_streets, max_streets=max_streets,
        seed=seed, time_limit_s=time_limit_s, compactness_weight=compactness_weight,
        margin=margin, name=name, move_weight=move_weight, iterations=iterations,
        recombine_weight=recombine_weight,
    )  # fmt: skip
    task = _Task.of(plan, rulebook, req)
    _log_progress(progress, "preparing", 0.02)
    st, stop, slot_of_street = _search(task, req, started, progress)
    _log_progress(progress, "writing the proposal", 0.98)
    return _proposal(task, req, st, stop, slot_of_street, started, progress)


@dataclass(frozen=True)
class _Request:
    """What :func:`propose_plan` was asked for, checked (see its parameters)."""

    mode: str
    n_streets: int | None
    min_streets: int | None
    max_streets: int | None
    seed: int
    time_limit_s: float
    kappa: float
    edge: float
    name: str | None
    move_weight: float
    iterations: int | None
    recombine_weight: float | None

    @classmethod
    def checked(cls, *, mode: str, seed: int | None, time_limit_s: float,
                compactness_weight: float, margin: float | None, **rest: Any) -> _Request:
        mode = mode.replace("-", "_")
        if mode not in MODES:
            raise PlanError.worded(
                N_("Unknown mode {mode}; use least_change, scratch or compact."), mode=repr(mode))
        if time_limit_s <= 0:
            raise PlanError.worded(N_("time_limit_s must be positive, e.g. 60."))
        edge = settings.propose_margin if margin is None else float(margin)
        if not math.isfinite(edge) or not 0 <= edge < 0.5:
            raise PlanError.worded(
                N_("margin must be between 0 and 0.5 (a share of the bound), not {margin}."),
                margin=repr(margin))
        kappa = float(compactness_weight)
        if not math.isfinite(kappa) or kappa < 0:
            raise PlanError.worded(N_("compactness_weight must be 0 or more, not {weight}."),
                                   weight=repr(compactness_weight))
        return cls(mode=mode, seed=DEFAULT_SEED if seed is None else int(seed),
                   time_limit_s=float(time_limit_s), kappa=kappa, edge=edge, **rest)

    @property
    def counted(self) -> bool:
        """Whether the caller fixed the street count (its findings are then reported)."""
        return self.n_streets is not None or self.min_streets is not None \
            or self.max_streets is not None


@dataclass
class _Task:
    """The district as the search sees it.

    Bands, which streets may change, the street count range, the problem arrays and
    what stands in the way (``analysis``).
    """

    plan: Plan
    rulebook: Rulebook
    space: _Space  # what the searches start from
    movable: list[bool]
    counts: np.ndarray
    analysis: list[Finding]
    mean_pop: float

    @classmethod
    def of(cls, plan: Plan, rulebook: Rulebook, req: _Request) -> _Task:
        street_bands = _bands(rulebook, "street")
        if not street_bands:
            raise RulebookError.worded(
                N_('The rulebook {rulebook} has no band for street offices, so there is nothing '
                   'to propose against. Add a [[rules]] table with level = "street", kinds = '
                   '["street"] and measure = "area_km2" or "population".'),
                rulebook=repr(rulebook.name),
            )
        base, streets = plan.base, plan.streets
        m0 = len(streets)
        kind_bands = {s.kind: _bands(rulebook, s.kind) for s in streets}
        ruled = [bool(kind_bands[s.kind]) for s in streets]
        counts = np.bincount(plan.assignment, minlength=m0)
        movable = [ruled[k] and not s.locked and (req.mode == "least_change" or s.kind == "street")
                   for k, s in enumerate(streets)]
        if not any(movable[k] and counts[k] > 0 for k in range(m0)):
            raise PlanError.worded(
                N_("nothing can move: unlock at least one street. Every street is locked or has "
                   "no rule in the rulebook (towns and townships have none by default)."))
        _refuse_missing_figures(plan, kind_bands, movable)
        n_fixed = sum(1 for k in range(m0) if ruled[k] and not movable[k] and counts[k] > 0)
        count_range = _count_range(plan, rulebook, req, n_fixed)
        prob = _Problem.build(base, street_bands)
        prob.street_bands = [kind_bands[s.kind] for s in streets]
        prob.movable = list(movable)
        movable_block = np.asarray(movable, dtype=bool)[plan.assignment]
        comps = _components(base, movable_block)
        mean_pop = float(base.population[movable_block].mean()) if movable_block.any() else 1.0
        space = _Space(
            prob=prob, orig=plan.assignment.tolist(),
            alive=[bool(counts[k] > 0) or not movable[k] for k in range(m0)],
            comps=comps, bands=street_bands, count_range=count_range, n_fixed=n_fixed,
        )
        return cls(
            plan=plan, rulebook=rulebook, space=space, movable=movable, counts=counts,
            analysis=_analyse(base, rulebook, street_bands, comps, movable_block),
            mean_pop=max(mean_pop, 1.0),
        )  # fmt: skip


def _count_range(plan: Plan, rulebook: Rulebook, req: _Request, n_fixed: int) -> tuple[int, int]:
    """Return the range of streets with rules: as asked, else what the totals allow."""
    if req.n_streets is not None:
        lo_n = hi_n = int(req.n_streets)
    else:
        d_lo, d_hi = street_count_range(plan, rulebook)
        lo_n = d_lo if req.min_streets is None else int(req.min_streets)
        hi_n = d_hi if req.max_streets is None else int(req.max_streets)
    if lo_n > hi_n:
        raise PlanError.worded(
            N_("min_streets ({low}) is greater than max_streets ({high}). Swap them, or give "
               "n_streets."),
            low=lo_n, high=hi_n,
        )
    if hi_n <= n_fixed:
        raise PlanError.worded(
            N_("{n} streets with rules are locked, so at most {high} streets leaves none for "
               "the other {nouns}. Ask for at least {least} streets, or unlock some."),
            n=n_fixed, high=hi_n, nouns=Word(plan.base.nouns), least=n_fixed + 1,
        )
    return max(lo_n, n_fixed + 1), hi_n


def _search(
    task: _Task, req: _Request, started: float, progress: Progress | None
) -> tuple[_State, str, list[int]]:
    """Run the mode's search; return the state found, why it stopped, and each old street's slot."""
    rnd = _Random(np.random.default_rng(req.seed))
    deadline = started + req.time_limit_s
    space = task.space
    prob, orig, alive = space.prob, space.orig, space.alive
    m0 = len(task.plan.streets)
    if req.mode == "least_change":
        weights = _Weights(
            alpha=settings.propose_weight_residents / task.mean_pop,
            gamma=settings.propose_weight_communities,
            beta=settings.propose_weight_shape,
            kappa=req.kappa,
            margin=req.edge,
            margin_weight=settings.propose_margin_weight,
        )
        shape_only = _Weights(0.0, 0.0, settings.propose_weight_shape_scratch, req.kappa)

        def grow_anew(until: float) -> _State:
            grown, _ = _scratch(task.space, shape_only, rnd, until, started, progress,
                                polish=False, max_tries=2)
            return grown

        st, stop = _least_change(
            prob, orig, alive, weights, rnd, space.count_range, space.n_fixed, deadline, started,
            progress, grow_anew,
        )  # fmt: skip
        if req.recombine_weight is not None and st.key()[0] == 0:
            # rounder least change: recombine pairs of streets, charging residents moved
            from geo.propose.compact import _kept_bands
            from geo.propose.recombine import recombine

            _log_progress(progress, "recombining pairs of streets", 0.95)
            recombine(
                st, rnd, bands=_kept_bands(st, req.edge),
                move_weight=float(req.recombine_weight),
                rounds=settings.propose_recombine_rounds,
                tries=settings.propose_recombine_tries,
                patience=settings.propose_recombine_patience,
                deadline=max(deadline, time.perf_counter() + 0.25 * req.time_limit_s),
            )  # fmt: skip
        return st, stop, list(range(m0))
    if req.mode == "compact":
        from geo.propose.compact import compact_search

        st, stop = compact_search(
            task.space, rnd, deadline, started, progress, margin=req.edge,
            move_weight=float(req.move_weight),
            starts=settings.propose_compact_starts,
            iterations=settings.propose_compact_iterations if req.iterations is None
            else int(req.iterations),
        )  # fmt: skip
        return st, stop, list(range(m0))
    # scratch anneals for compactness
    weights = _Weights(
        alpha=0.0, gamma=0.0, beta=settings.propose_weight_shape_scratch, margin=req.edge,
        margin_weight=settings.propose_margin_weight,
    )
    st, stop = _scratch(task.space, weights, rnd, deadline, started, progress)
    return st, stop, _match_slots(st, task.plan, task.movable)


def _proposal(
    task: _Task, req: _Request, st: _State, stop: str, slot_of_street: list[int],
    started: float, progress: Progress | None,
) -> Proposal:
    """Write the state found as a plan, with its summary, bound and findings."""
    plan, rulebook = task.plan, task.rulebook
    lo_n, hi_n = task.space.count_range
    proposal_name = req.name or f"proposal-{req.mode.replace('_', '-')}-{req.seed}"
    result, added, removed = _to_plan(plan, st, slot_of_street, proposal_name)
    elapsed = time.perf_counter() - started
    summary, after_table = _summarise(plan, result, rulebook, req.mode, req.seed, elapsed, stop)
    summary["street_count_range"] = [lo_n, hi_n]
    summary["compactness_weight"] = req.kappa
    summary["streets_added"] = added
    summary["streets_removed"] = removed
    summary["moves"] = explain_moves(plan, result, rulebook).to_dict(orient="records")
    if req.mode == "least_change":
        _log_progress(progress, "bounding the residents that must move", 0.99)
        n_movable = sum(1 for k in range(len(plan.streets))
                        if task.movable[k] and task.counts[k] > 0)
        bound = residents_moved_lower_bound(
            plan,
            rulebook,
            max_new_streets=max(hi_n - task.space.n_fixed - n_movable, 0),
            min_streets=max(lo_n - task.space.n_fixed, 1),
            max_streets=max(hi_n - task.space.n_fixed, 1),
            time_limit_s=min(10.0, max(req.time_limit_s / 4, 1.0)),
        )
        summary["lower_bound"] = bound.to_dict(moved=summary["residents_moved"])
    findings = list(task.analysis)
    if req.counted:
        findings.extend(_count_findings(task.space.bands, task.space.comps,
                                        task.space.count_range, task.space.n_fixed, plan.base))
    findings.extend(_street_findings_after(result, rulebook, after_table, list(findings)))
    findings.extend(f for f in result.findings(rulebook) if f.level == "street")
    if req.mode == "compact":
        from geo.propose.compact import explain_compactness

        findings.extend(
            explain_compactness(
                result, rulebook, summary["streets"],
                mean_target=settings.propose_target_mean_compactness,
                min_target=settings.propose_target_min_compactness,
                label="the compact plan",
            )
        )
    summary["n_findings"] = len(findings)
    _log_progress(progress, "done", 1.0)
    logger.info(
        "proposal %s: feasible %s, %d/%d streets in band, %s residents moved in %.1f s (%s)",
        proposal_name,
        summary["feasible"],
        summary["in_band_after"],
        summary["streets_after"],
        summary["residents_moved"],
        elapsed,
        stop,
    )
    return Proposal(plan=result, summary=summary, findings=findings)


def _least_change(
    prob: _Problem,
    orig: list[int],
    alive: list[bool],
    weights: _Weights,
    rnd: _Random,
    rng_n: tuple[int, int],
    n_fixed: int,
    deadline: float,
    started: float,
    progress: Progress | None,
    grow_anew: Callable[[float], _State] | None = None,
) -> tuple[_State, str]:
    st = _State(prob, orig, alive, orig, weights)
    repaired = _repair_pieces(st)
    lo_n, hi_n = rng_n
    if st.key()[0] == 0 and lo_n <= st.n_streets() <= hi_n and not repaired:
        return st, "already feasible: nothing to move"
    # bring the street count into range first
    while st.n_streets() > hi_n:
        k = _pick_merge(st)
        if k is None or _merge(st, k) is None:
            break
    while st.n_streets() < lo_n:
        k = _pick_split(st)
        if k is None or _split(st, k) is None:
            break
    # split streets whose totals make two or more streets in band, while the count allows
    while st.n_streets() < hi_n:
        over = []
        for k in range(st.m):
            if st.active(k) and st.cnt[k] >= 2:
                lo, hi = _count_bounds(prob.street_bands[k], (st.area[k], st.pop[k], st.hh[k]))
                if 2 <= lo <= hi:
                    over.append(k)
        if not over:
            break
        k = max(over, key=lambda q: (_fullness(st, q), -q))
        if _split(st, k) is None:
            break
    t_kick = 0.5 * weights.alpha * float(np.mean(prob.pop)) if prob.pop else 0.01

    budget = max(deadline - started, 1e-9)

    def run(state: _State, phase_deadline: float, kicks: int = 40) -> str:
        _log_progress(
            progress,
            f"searching ({state.n_streets()} streets)",
            (time.perf_counter() - started) / budget,
        )
        reason = _improve(
            state, rnd, deadline=min(phase_deadline, deadline), t_kick=t_kick, max_kicks=kicks
        )
        if state.key()[0] == 0:
            _polish(state, rnd, deadline=deadline, t0=0.0)
            _ruin_recreate(state, rnd, deadline=deadline, t_kick=t_kick)
        return reason

    first_phase = started + settings.propose_first_phase_share * budget
    stop = run(st, first_phase, kicks=12 if grow_anew is not None else 40)
    if st.key()[0] > 0 and grow_anew is not None and time.perf_counter() < deadline:
        # moving communities one by one got stuck: grow the streets anew, give each old
        # street the new one it overlaps most, then move communities back where the
        # bands allow; keep it if it ranks better
        _log_progress(progress, "growing streets anew", (time.perf_counter() - started) / budget)
        grown = grow_anew(started + settings.propose_regrow_share * budget)
        if grown.key()[:2] < st.key()[:2]:
            adopted = _adopt(grown, orig, alive, weights)
            _polish(adopted, rnd, deadline=deadline, t0=0.0)
            _ruin_recreate(
                adopted,
                rnd,
                deadline=deadline,
                t_kick=t_kick,
                max_rounds=400 if adopted.key()[0] == 0 else 60,
            )
            if adopted.key() < st.key():
                st, stop = adopted, "grown anew, then moved back toward the current plan"

    # structural moves while infeasible: split an over-full street, merge an under-full one
    tried: set[tuple[str, int, int]] = set()
    improved = True
    while st.key()[0] > 0 and improved and time.perf_counter() < deadline:
        improved = False
        options: list[tuple[str, int]] = []
        n_now = st.n_streets()
        if n_now < hi_n:
            k = _pick_split(st)
            if k is not None:
                options.append(("split", k))
        if n_now > lo_n:
            k = _pick_merge(st)
            if k is not None:
                options.append(("merge", k))
        best = st
        for op, k in options:
            sig = (op, k, n_now)
            if sig in tried:
                continue
            tried.add(sig)
            trial = _State(prob, st.a, st.alive, orig, weights)
            done = _split(trial, k) if op == "split" else _merge(trial, k)
            if done is None:
                continue
            run(trial, deadline)
            if trial.key() < best.key():
                best, stop = trial, f"after a {op}"
                improved = True
            if time.perf_counter() > deadline:
                stop = "time limit"
                break
        st = best
    if st.key()[0] == 0:
        return st, "feasible plan found" + ("" if stop == "feasible" else f" ({stop})")
    if time.perf_counter() > deadline:
        return st, "time limit reached without a feasible plan"
    return st, "search converged without a feasible plan"


# ------------------------------------------------------------------------ output


def _to_plan(
    plan: Plan, st: _State, slot_of_street: list[int], name: str
) -> tuple[Plan, list[str], list[str]]:
    """Turn the search state into a new Plan: kept streets, then new ones; emptied ones removed."""
    streets = plan.streets
    final: list[Street] = []
    pos_of_slot: dict[int, int] = {}
    removed: list[str] = []
    for k, s in enumerate(streets):
        slot = slot_of_street[k]
        if not st.prob.movable[k] or st.cnt[slot] > 0:  # locked and rule-less streets stay
            pos_of_slot[slot] = len(final)
            final.append(s)
        else:
            removed.append(s.code)
    work = plan.copy(name=f"{name}-work")
    names = {s.name for s in streets}
    added: list[str] = []
    counter = 0
    for slot in range(st.m):
        if slot in pos_of_slot or st.cnt[slot] == 0:
            continue
        counter += 1
        while f"{NEW_STREET_NAME}{counter}" in names:
            counter += 1
        try:
            new = work.new_street(name=f"{NEW_STREET_NAME}{counter}")
        except PlanError:  # no 12-digit codes to derive from
            code = f"NEW{counter:03d}"
            while code in {s.code for s in work.streets}:
                code += "x"
            new = work.new_street(name=f"{NEW_STREET_NAME}{counter}", code=code)
        names.add(new.name)
        pos_of_slot[slot] = len(final)
        final.append(new)
        added.append(new.code)
    assignment = np.array([pos_of_slot[k] for k in st.a], dtype=np.int64)
    return Plan(plan.base, name=name, streets=final, assignment=assignment), added, removed


def _table_rows(table: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {
        str(r["code"]): {
            "name": str(r["name"]),
            "kind": str(r["kind"]),
            "locked": bool(r["locked"]),
            "blocks": int(r["blocks"]),
            "area_km2": round(float(r["area_km2"]), 4),
            "population": float(r["population"]),
            "households": float(r["households"]),
            "density_per_km2": float(r["density_per_km2"]),
            "status": str(r["status"]),
            "broken": str(r["broken"]),
            "compactness": None
            if not math.isfinite(float(r["compactness"]))
            else round(float(r["compactness"]), 4),
        }
        for _, r in table.iterrows()
    }


def _street_margin(rulebook: Rulebook, row: dict[str, Any]) -> float | None:
    """Return the smallest share of a bound a street keeps inside its bands (None outside)."""
    margins = []
    for rule in rulebook.for_level("street", row["kind"]):
        m = Band.of(rule).edge_margin(row.get(rule.measure))
        if m is None:
            return None
        margins.append(m)
    return round(min(margins), 4) if margins else None


def _elongated(before: float | None, after: float | None) -> bool:
    """Whether the bands were met with stretched streets.

    That is, mean compactness fell below :data:`geo.settings.elongated_compactness_ratio`
    of what it was.
    """
    return bool(before and after is not None
                and after < settings.elongated_compactness_ratio * before)


def _summarise(
    before: Plan,
    after: Plan,
    rulebook: Rulebook,
    mode: str,
    seed: int,
    elapsed: float,
    stop: str,
) -> tuple[dict[str, Any], pd.DataFrame]:
    t0 = before.street_table(rulebook)
    t1 = after.street_table(rulebook)
    ruled0 = t0[(t0["status"] != "no rule") & ~t0["empty"]]
    ruled1 = t1[t1["status"] != "no rule"]
    ok0 = [str(c) for c in ruled0.loc[ruled0["status"] == "ok", "code"]]
    ok1 = [str(c) for c in ruled1.loc[ruled1["status"] == "ok", "code"]]
    moved, _ = before.compare(after, rulebook=rulebook)
    rows0, rows1 = _table_rows(t0), _table_rows(t1)
    rows = []
    for code in dict.fromkeys([*rows0, *rows1]):
        r0, r1 = rows0.get(code), rows1.get(code)
        ref = r1 or r0
        assert ref is not None
        rows.append(
            {
                "code": code,
                "name": ref["name"],
                "kind": ref["kind"],
                "locked": ref["locked"],
                "area_km2_before": r0["area_km2"] if r0 else None,
                "area_km2_after": r1["area_km2"] if r1 else None,
                "population_before": r0["population"] if r0 else None,
                "population_after": r1["population"] if r1 else None,
                "status_before": r0["status"] if r0 else None,
                "status_after": r1["status"] if r1 else None,
                "broken_after": r1["broken"] if r1 else "",
                "compactness_after": r1["compactness"] if r1 else None,
                "margin_after": _street_margin(rulebook, r1) if r1 else None,
            }
        )

    def mean_comp(t: pd.DataFrame, how: str = "mean") -> float | None:
        vals = t["compactness"].astype(float)
        vals = vals[np.isfinite(vals)]
        return round(float(getattr(vals, how)()), 4) if len(vals) else None

    feasible = bool(len(ruled1) > 0 and (ruled1["status"] == "ok").all())
    summary: dict[str, Any] = {
        "plan": after.name,
        "mode": mode,
        "seed": seed,
        "feasible": feasible,
        "stop_reason": stop,
        "elapsed_s": round(elapsed, 3),
        "streets_before": len(ruled0),
        "streets_after": len(ruled1),
        "in_band_before": len(ok0),
        "in_band_after": len(ok1),
        "in_band_before_codes": ok0,
        "in_band_after_codes": ok1,
        "out_of_band_after_codes": [str(c) for c in ruled1.loc[ruled1["status"] != "ok", "code"]],
        "communities_moved": len(moved),
        "residents_moved": float(moved["population"].sum()) if len(moved) else 0.0,
        "moved_codes": [str(c) for c in moved["code"]],
        "block_level": before.base.level,
        "compactness_mean_before": mean_comp(ruled0),
        "compactness_mean_after": mean_comp(ruled1),
        "compactness_min_before": mean_comp(ruled0, "min"),
        "compactness_min_after": mean_comp(ruled1, "min"),
        "elongated": _elongated(mean_comp(ruled0), mean_comp(ruled1)),
        "max_pieces_after": int(t1["pieces"].max()) if len(t1) else 0,
        "streets": rows,
    }
    return summary, t1


__all__ = ["Proposal", "propose_plan"]
