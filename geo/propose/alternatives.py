"""A small set of street plans along the trade-off between residents moved and compactness.

No single proposal is the answer a district government signs: moving fewest residents
draws elongated streets, round streets move more people. :func:`propose_alternatives`
runs the proposer several ways (:data:`CANDIDATES`), keeps the plans that put every
street in band, drops any plan another beats on both residents moved and mean
compactness (mean and worst street), and names what is left along the front: **fewest**
moved, **balanced**, **roundest** (:func:`roundness`: the mean and the worst street both
weighed). A plan is never called roundest that another alternative beats.

Each is a full :class:`~geo.propose.search.Proposal` (its own plan, summary and findings),
with the same seed, so the set is reproducible unless a time limit stops a search (the
summaries' ``stop_reason`` says so).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from geo import settings
from geo.findings import Finding
from geo.plan.model import Plan
from geo.propose.ceiling import ceiling_inputs, estimate_ceiling, streets_of
from geo.propose.compact import explain_compactness
from geo.propose.search import Proposal, propose_plan
from geo.propose.state import DEFAULT_SEED
from geo.rules.rulebook import Rulebook

logger = logging.getLogger(__name__)

CANDIDATES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("least change", {"mode": "least_change", "compactness_weight": 0.0}),
    ("least change, rounder", {"mode": "least_change", "compactness_weight": 1.0}),
    ("least change, roundest", {"mode": "least_change", "compactness_weight": 2.5}),
    ("least change, recombined", {"mode": "least_change", "recombine_weight": 0.3}),
    ("drawn afresh", {"mode": "scratch"}),
    ("round by design", {"mode": "compact", "move_weight": 0.0}),
    ("round by design, fewer moved", {"mode": "compact", "move_weight": 0.5}),
)
"""The searches run: a label and the arguments to :func:`geo.propose.search.propose_plan`.

Stronger compactness weights trade residents moved for rounder streets until the bands
can no longer all be met; recombining pairs of the least-change streets
(:mod:`geo.propose.recombine`) at a cost per resident moved gives a balance; growing
streets afresh sometimes finds rounder plans still;
drawing them round by design (:mod:`geo.propose.compact`) finds the roundest, and with a cost per
resident moved a balance.
"""

WHY_RULES = ("propose.compactness_target", "propose.compactness_ceiling", "propose.dense_core",
             "propose.compactness_search")
"""The findings that say why an alternative misses the compactness targets, in the order
a planner reads them."""

KINDS = ("fewest", "balanced", "roundest")
"""Keys of the alternatives shown, from fewest residents moved to roundest streets."""


@dataclass(frozen=True)
class Alternative:
    """One alternative: its key (``fewest``, ``balanced``, ``roundest``), label and proposal."""

    key: str
    label: str
    proposal: Proposal

    def figures(self) -> dict[str, Any]:
        """Return the figures a planner compares alternatives by."""
        s = self.proposal.summary
        rows = [r for r in s["streets"] if r["status_after"] not in (None, "no rule")]
        comps = [r["compactness_after"] for r in rows if r["compactness_after"] is not None]
        margins = [r.get("margin_after") for r in rows]
        return {
            "key": self.key,
            "label": self.label,
            "plan": self.proposal.plan.name,
            "feasible": s["feasible"],
            "in_band": f"{s['in_band_after']}/{s['streets_after']}",
            "residents_moved": s["residents_moved"],
            "communities_moved": s["communities_moved"],
            "compactness_mean": s["compactness_mean_after"],
            "compactness_min": round(min(comps), 4) if comps else None,
            "margin_min": (
                None if not margins or any(m is None for m in margins) else min(margins)
            ),
            "targets": s.get("targets"),
            "why": [f.to_dict() for f in self.proposal.findings if f.rule in WHY_RULES],
        }


def propose_alternatives(
    plan: Plan,
    rulebook: Rulebook,
    *,
    seed: int | None = None,
    time_limit_s: float = 60.0,
    name: str | None = None,
    progress: Callable[[str, float], None] | None = None,
    **options: Any,
) -> list[Alternative]:
    """Return the fewest-moved, balanced and roundest proposals for a plan.

    Parameters
    ----------
    plan : Plan
        The current plan; never modified.
    rulebook : Rulebook
        The bands.
    seed : int, optional
        Seed of every search.
    time_limit_s : float
        Budget of each of the three searches.
    name : str, optional
        Stem of the plans' names; default ``proposal-<seed>``, giving
        ``proposal-<seed>-fewest`` and so on.
    progress : callable, optional
        ``progress(text, fraction)`` over the three searches.
    **options
        Passed to every :func:`~geo.propose.search.propose_plan` (``n_streets``,
        ``min_streets``, ``max_streets``, ``margin``).
    """
    stem = name or f"proposal-{seed if seed is not None else 'default'}"
    runs: list[tuple[str, Proposal]] = []
    for i, (label, args) in enumerate(CANDIDATES):

        def step(text: str, frac: float, i: int = i, label: str = label) -> None:
            if progress is not None:
                progress(f"{label}: {text}", (i + frac) / len(CANDIDATES))

        proposal = propose_plan(
            plan,
            rulebook,
            seed=seed,
            time_limit_s=time_limit_s,
            name=f"{stem}-{i}",
            progress=step,
            **args,
            **options,
        )
        runs.append((label, proposal))
    front = pareto_front([p for _, p in runs])
    front = _three(front, [p for _, p in runs])
    none_in_band = not any(p.feasible for _, p in runs)
    out = []
    for j, k in enumerate(front):
        label, proposal = runs[k]
        key = (
            "fewest" if j == 0 else "roundest" if j == len(front) - 1 else
            "balanced" if len(front) == 3 else f"balanced-{j}"
        )
        if (key == "roundest" or len(front) == 1) and not any(
            f.rule == "propose.compactness_target" for f in proposal.findings
        ):
            proposal.findings.extend(
                explain_compactness(
                    proposal.plan, rulebook, proposal.summary["streets"],
                    mean_target=settings.propose_target_mean_compactness,
                    min_target=settings.propose_target_min_compactness,
                )
            )
        proposal.summary["targets"] = _targets(
            "roundest" if len(front) == 1 else key, proposal, runs[front[0]][1]
        )
        proposal.plan.name = f"{stem}-{key}"
        proposal.summary["plan"] = proposal.plan.name
        proposal.summary["search"] = label
        text = f"{_LABELS.get(key.split('-')[0], key)} ({label})"
        if none_in_band:
            text += " — no search put every street in band"
        out.append(Alternative(key, text, proposal))
    roundest = out[-1].proposal if out else None
    if roundest is not None and roundest.feasible and (
        roundest.summary["compactness_mean_after"] or 0.0
    ) < settings.propose_target_mean_compactness:
        if progress is not None:
            progress("estimating how round the streets can be", 1.0)
        try:
            found = compactness_ceiling(plan, rulebook, [a.proposal for a in out], seed=seed,
                                        time_limit_s=time_limit_s, **options)
        except Exception:  # the estimate only adds a note: the plans found stand without it
            logger.exception("estimating the compactness ceiling failed")
            found = None
        if found is not None:
            at = next((i + 1 for i, f in enumerate(roundest.findings)
                       if f.rule == "propose.compactness_target"), len(roundest.findings))
            roundest.findings.insert(at, found)
    return out


def compactness_ceiling(
    plan: Plan,
    rulebook: Rulebook,
    proposals: list[Proposal],
    *,
    seed: int | None,
    time_limit_s: float,
    **options: Any,
) -> Finding | None:
    """Return a finding when even a fractional mix of round streets misses the mean target.

    Runs :func:`geo.propose.ceiling.estimate_ceiling` over the streets compact mode may
    draw (the bands alone, no margin), with the proposals' streets among the candidates,
    for at most :data:`geo.settings.propose_ceiling_rounds` rounds and ``time_limit_s``
    (capped at :data:`geo.settings.propose_ceiling_seconds`), over every street count the
    bands and the caller allow. None when the estimate comes within
    :data:`geo.settings.propose_ceiling_margin` of the target or has not settled by then
    (:class:`~geo.propose.ceiling.Ceiling`), when a street with rules stays as it is
    (locked, or of a kind compact mode does not redraw) or when no mix covers the district.
    """
    target = settings.propose_target_mean_compactness
    space, blocks, bands, counts = ceiling_inputs(
        plan, rulebook, seed=seed, n_streets=options.get("n_streets"),
        min_streets=options.get("min_streets"), max_streets=options.get("max_streets"),
    )
    if space.n_fixed:
        return None
    plans = [streets_of(p.plan.assignment, blocks) for p in proposals]
    budget = min(time_limit_s, settings.propose_ceiling_seconds)
    ceiling = estimate_ceiling(
        space.prob, blocks, bands, counts, plans, seed=DEFAULT_SEED if seed is None else seed,
        rounds=settings.propose_ceiling_rounds, deadline=time.perf_counter() + budget,
    )
    if ceiling is None or not ceiling.settled:
        return None
    best = max((p.summary["compactness_mean_after"] or 0.0) for p in proposals)
    if ceiling.mean < best - 0.01:  # pragma: no cover - the plans are among the candidates
        logger.warning("compactness ceiling %.3f below a plan's mean %.3f", ceiling.mean, best)
        return None
    if ceiling.mean >= target - settings.propose_ceiling_margin:
        return None
    return Finding(
        rule="propose.compactness_ceiling",
        level="district",
        severity="info",
        value=round(ceiling.mean, 4),
        minimum=target,
        message=(
            f"Even a mix of the {ceiling.streets_tried:,} in-band streets tried here, taken "
            f"in fractions, has a mean compactness of {ceiling.mean:.2f} at most, below the "
            f"target {target:.2f}: with these bands the target is most likely out of reach "
            "in this district, and a longer search is unlikely to help. This is an estimate "
            "from the streets tried (column generation), not a proof."
        ),
    )


def roundness(proposal: Proposal) -> tuple[float, float, float]:
    """Return how round a proposal's streets are: (score, mean, worst street).

    The score is minus the shortfalls from the two compactness targets, each as a share
    of its target (:data:`geo.settings.propose_target_mean_compactness` for the mean,
    :data:`geo.settings.propose_target_min_compactness` for the worst street; a target met
    falls short by nothing): a plan with one sliver street is not called round for a
    good mean, nor one with a good worst street for a poor mean. Plans meeting both tie
    at 0 and are told apart by their mean.
    """
    s = proposal.summary
    mean = float(s.get("compactness_mean_after") or 0.0)
    low = s.get("compactness_min_after")
    low = mean if low is None else float(low)
    short = (max(0.0, 1.0 - mean / settings.propose_target_mean_compactness)
             + max(0.0, 1.0 - low / settings.propose_target_min_compactness))
    return -short, mean, low


def _three(front: list[int], proposals: list[Proposal]) -> list[int]:
    """Keep the fewest, the roundest and, between them, the balanced one.

    The roundest is the one with the best :func:`roundness` score (mean and worst
    street both weighed). The balanced one is the plan between the two with the best
    mean moving at most :data:`geo.settings.propose_target_balanced_moved_ratio`
    times the residents of the fewest (else the one nearest that), so a planner sees
    three plans, not a long front.
    """
    def moved(i: int) -> float:
        return float(proposals[i].summary["residents_moved"])

    fewest = front[0]
    roundest = max(front, key=lambda i: (roundness(proposals[i]), -moved(i)))
    if roundest == fewest:
        return [fewest]
    middle = [i for i in front if i not in (fewest, roundest)
              and moved(fewest) <= moved(i) <= moved(roundest)
              and roundness(proposals[i])[1] > roundness(proposals[fewest])[1]]
    if not middle:
        return [fewest, roundest]
    ratio = settings.propose_target_balanced_moved_ratio
    within = [i for i in middle if moved(i) <= ratio * (moved(fewest) or 1.0)]
    pick = (max(within, key=lambda i: roundness(proposals[i])[1]) if within
            else min(middle, key=moved))
    return [fewest, pick, roundest]


def _targets(key: str, proposal: Proposal, fewest: Proposal) -> dict[str, Any] | None:
    """Return an alternative's targets, whether it meets each, and whether it meets all.

    ``each`` holds a flag per target; ``met`` is all of them with every street in band.
    """
    s = proposal.summary
    comps = [
        r["compactness_after"] for r in s["streets"]
        if r["status_after"] not in (None, "no rule") and r["compactness_after"] is not None
    ]
    mean = sum(comps) / len(comps) if comps else None
    low = min(comps) if comps else None
    if key == "roundest":
        want = {
            "mean_min": settings.propose_target_mean_compactness,
            "street_min": settings.propose_target_min_compactness,
        }
    elif key.startswith("balanced"):
        base = float(fewest.summary["residents_moved"])
        want = {
            "mean_min": settings.propose_target_balanced_compactness,
            "moved_max": settings.propose_target_balanced_moved_ratio * base,
        }
    else:
        return None
    figure = {"mean_min": mean, "street_min": low, "moved_max": s["residents_moved"]}
    each = {
        k: figure[k] is not None
        and (figure[k] <= v if k.endswith("_max") else figure[k] >= v)
        for k, v in want.items()
    }
    return {**want, "met": bool(proposal.feasible and all(each.values())), "each": each}


_LABELS = {"fewest": "fewest moved", "balanced": "balanced", "roundest": "roundest"}


def pareto_front(proposals: list[Proposal]) -> list[int]:
    """Return the positions of the proposals on the front, fewest residents moved first.

    Only proposals with every street in band count, unless none has; a proposal is
    dropped when another moves no more residents, is at least as round on the mean
    and in its worst street, and is better in one of the three. With one survivor,
    it is both fewest and roundest.
    """
    feasible = [i for i, p in enumerate(proposals) if p.feasible] or list(range(len(proposals)))

    def figures(i: int) -> tuple[float, float, float]:
        _score, mean, low = roundness(proposals[i])
        return float(proposals[i].summary["residents_moved"]), -mean, -low

    keep: list[int] = []
    for i in feasible:
        fi = figures(i)
        beaten = any(
            all(a <= b for a, b in zip(fj, fi, strict=True)) and fj != fi
            for j in feasible
            if j != i
            for fj in [figures(j)]
        )
        if not beaten and all(figures(k) != fi for k in keep):
            keep.append(i)
    return sorted(keep, key=lambda i: figures(i))


def compare_alternatives(alternatives: list[Alternative]) -> list[dict[str, Any]]:
    """Return the alternatives' figures, with residents moved relative to the fewest."""
    rows = [a.figures() for a in alternatives]
    fewest = next((r["residents_moved"] for r in rows if r["key"] == "fewest"), None)
    for r in rows:
        r["moved_vs_fewest"] = (
            r["residents_moved"] / fewest if fewest and not math.isclose(fewest, 0) else None
        )
    return rows
