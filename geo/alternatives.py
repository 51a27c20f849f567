"""A small set of street plans along the trade-off between residents moved and compactness.

No single proposal is the answer a district government signs: moving fewest residents
draws elongated streets, round streets move more people. :func:`propose_alternatives`
runs the proposer three ways and compares them:

* **fewest moved** — least change, compactness a mere tie-breaker;
* **balanced** — least change with a compactness weight (:data:`BALANCED_WEIGHT`);
* **roundest** — streets grown afresh and annealed for compactness (scratch).

Each is a full :class:`~geo.redistrict.Proposal` (its own plan, summary and findings),
with the same seed, so the set is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from geo.plan import Plan
from geo.redistrict import Proposal, propose_plan
from geo.rules import Rulebook

BALANCED_WEIGHT = 1.0
"""Compactness weight of the balanced alternative (see ``propose_plan``)."""

KINDS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("fewest", "fewest moved", {"mode": "least_change", "compactness_weight": 0.0}),
    ("balanced", "balanced", {"mode": "least_change", "compactness_weight": BALANCED_WEIGHT}),
    ("roundest", "roundest", {"mode": "scratch"}),
)
"""The alternatives: key, label, arguments to :func:`geo.redistrict.propose_plan`."""


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
        Passed to every :func:`~geo.redistrict.propose_plan` (``n_streets``,
        ``min_streets``, ``max_streets``, ``margin``).
    """
    out = []
    stem = name or f"proposal-{seed if seed is not None else 'default'}"
    for i, (key, label, args) in enumerate(KINDS):

        def step(text: str, frac: float, i: int = i, label: str = label) -> None:
            if progress is not None:
                progress(f"{label}: {text}", (i + frac) / len(KINDS))

        proposal = propose_plan(
            plan,
            rulebook,
            seed=seed,
            time_limit_s=time_limit_s,
            name=f"{stem}-{key}",
            progress=step,
            **args,
            **options,
        )
        out.append(Alternative(key, label, proposal))
    return out


def compare_alternatives(alternatives: list[Alternative]) -> list[dict[str, Any]]:
    """Return the alternatives' figures, with residents moved relative to the fewest."""
    rows = [a.figures() for a in alternatives]
    fewest = next((r["residents_moved"] for r in rows if r["key"] == "fewest"), None)
    for r in rows:
        r["moved_vs_fewest"] = (
            r["residents_moved"] / fewest if fewest and not math.isclose(fewest, 0) else None
        )
    return rows
