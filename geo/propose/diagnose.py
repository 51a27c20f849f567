"""Why a district cannot be proposed, and what is still wrong after a proposal.

Connected regions of movable communities, their street count ranges, the density
envelope and oversized communities (:func:`_analyse`); findings about the streets of a
proposal (:func:`_street_findings_after`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse.csgraph import connected_components

from geo._format import approx as _approx
from geo.findings import Finding, Phrase, Word, worded
from geo.i18n import N_
from geo.plan.base import PlanBase
from geo.plan.model import Plan
from geo.propose.state import (
    _ADDITIVE,
    _MEASURE_NAMES,
    _Band,
    _bands,
    _count_bounds,
)
from geo.rules.bands import tolerance
from geo.rules.rulebook import Rulebook, density_envelopes

logger = logging.getLogger(__name__)

# ------------------------------------------------------------------------ analysis


@dataclass(frozen=True)
class _Component:
    blocks: np.ndarray
    totals: tuple[float, float, float]  # area km², residents, households


def _components(base: PlanBase, movable_block: np.ndarray) -> list[_Component]:
    idx = np.flatnonzero(movable_block)
    if len(idx) == 0:
        return []
    sub = base.rook_graph[idx][:, idx]
    count, labels = connected_components(sub, directed=False)
    out = []
    for c in range(count):
        blocks = idx[labels == c]
        out.append(
            _Component(
                blocks=blocks,
                totals=(
                    float(base.area_m2[blocks].sum()) / 1e6,
                    float(base.population[blocks].sum()),
                    float(base.households[blocks].sum()),
                ),
            )
        )
    out.sort(key=lambda c: int(c.blocks.min()))
    return out


def _anchor(base: PlanBase, blocks: np.ndarray) -> int:
    """Return the block nearest the residents-weighted centre of a set of blocks."""
    w = base.population[blocks] + 1e-9
    cx = float(np.average(base.lon[blocks], weights=w))
    cy = float(np.average(base.lat[blocks], weights=w))
    return int(blocks[np.argmin((base.lon[blocks] - cx) ** 2 + (base.lat[blocks] - cy) ** 2)])


def _analyse(
    base: PlanBase,
    rulebook: Rulebook,
    bands: tuple[_Band, ...],
    comps: list[_Component],
    movable_block: np.ndarray,
) -> list[Finding]:
    """Return findings on why some streets cannot meet their bands, before any search."""
    out: list[Finding] = []
    envelope = next(
        (e for e in density_envelopes(rulebook) if e.level == "street" and e.kind == "street"),
        None,
    )
    noun, nouns = base.noun, base.nouns
    # (2) communities larger than a whole street may be
    names = {0: ("area", "km²"), 1: ("residents", "residents"), 2: ("households", "households")}
    oversized = {
        0: N_("{noun} {name} ({code}) alone has {value} km² of area, more than a whole street "
              "may have ({high}). Whatever street holds it breaks that band; split the {noun} "
              "first (it is never split here), or accept the exception."),
        1: N_("{noun} {name} ({code}) alone has {value} residents, more than a whole street "
              "may have ({high}). Whatever street holds it breaks that band; split the {noun} "
              "first (it is never split here), or accept the exception."),
        2: N_("{noun} {name} ({code}) alone has {value} households, more than a whole street "
              "may have ({high}). Whatever street holds it breaks that band; split the {noun} "
              "first (it is never split here), or accept the exception."),
    }
    values = (np.asarray(base.area_m2) / 1e6, base.population, base.households)
    for b in np.flatnonzero(movable_block):
        for m, _lo, hi, _ in bands:
            if m not in _ADDITIVE or not math.isfinite(hi):
                continue
            v = float(values[m][b])
            if v > hi:
                hi = hi - tolerance(_MEASURE_NAMES[m])  # the rulebook's figure, for the message
                unit = names[m][1]
                out.append(
                    Finding(
                        rule="propose.oversized_community",
                        level=base.level,
                        severity="error",
                        code=str(base.codes[b]),
                        name=str(base.names[b]) or None,
                        value=v,
                        maximum=hi,
                        deviation=v - hi,
                        deviation_pct=100 * (v - hi) / hi if hi else None,
                        unit=unit,
                        lon=float(base.lon[b]),
                        lat=float(base.lat[b]),
                        area_m2=float(base.area_m2[b]),
                        **worded(oversized[m], noun=Word(noun),
                                 name=str(base.names[b] or base.codes[b]),
                                 code=str(base.codes[b]), value=_approx(v), high=_approx(hi)),
                    )
                )
                break
    multi = len(comps) > 1
    fits = {0: N_("{total} km² of area fits {low}–{high} streets"),
            1: N_("{total} residents fit {low}–{high} streets"),
            2: N_("{total} households fit {low}–{high} streets")}
    fits_any = {0: N_("{total} km² of area fits any number of streets"),
                1: N_("{total} residents fit any number of streets"),
                2: N_("{total} households fit any number of streets")}
    for comp in comps:
        area, pop, hh = comp.totals
        lo, hi = _count_bounds(bands, comp.totals)
        blocks = comp.blocks
        spot = _anchor(base, blocks)
        where = (
            Phrase(N_("The {n} {nouns} around {name} ({code}), cut off from the other movable "
                      "{nouns} by locked streets, streets without rules or a gap,"),
                   n=len(blocks), nouns=Word(nouns), name=str(base.names[spot] or base.codes[spot]),
                   code=str(base.codes[spot]))
            if multi
            else Phrase(N_("The district's {n} movable {nouns} together"), n=len(blocks),
                        nouns=Word(nouns))
        )
        density = pop / area if area > 0 else 0.0
        if (
            envelope is not None
            and area > 0
            and not (envelope.min_density <= density <= envelope.max_density)
        ):
            side = "sparse" if density < envelope.min_density else "dense"
            bound = envelope.min_density if side == "sparse" else envelope.max_density
            out.append(
                Finding(
                    rule="propose.density_envelope",
                    level="district" if not multi else base.level,
                    severity="error",
                    code=str(base.codes[spot]),
                    name=str(base.names[spot]) or None,
                    value=density,
                    minimum=envelope.min_density,
                    maximum=envelope.max_density,
                    deviation=density - bound,
                    deviation_pct=100 * (density - bound) / bound if bound else None,
                    unit="residents/km²",
                    lon=float(base.lon[spot]),
                    lat=float(base.lat[spot]),
                    area_m2=area * 1e6,
                    related=tuple(str(c) for c in base.codes[blocks]),
                    source=f"{envelope.area_rule.source} (arithmetic on the two bands)",
                    status=envelope.area_rule.status,
                    **worded(
                        N_("{where} have {density} residents/km² ({area} km², "
                           "{pop} residents): too {side} for every street there to meet both "
                           "{area_band} and {pop_band} (possible only at {low}–{high} "
                           "residents/km²). At least one street there must break a band; the "
                           "proposal keeps the breaches as few and as small as it can."),
                        where=where, density=_approx(density), area=_approx(area),
                        pop=_approx(pop),
                        side=Word(N_("sparse") if side == "sparse" else N_("dense")),
                        area_band=envelope.area_rule.band_text(),
                        pop_band=envelope.population_rule.band_text(),
                        low=_approx(envelope.min_density), high=_approx(envelope.max_density)),
                )
            )
            continue
        if lo > hi:
            parts = []
            for m, b_lo, b_hi, _ in bands:
                if m not in _ADDITIVE:
                    continue
                t = comp.totals[m]
                if not (math.isfinite(b_hi) and math.isfinite(b_lo)):
                    parts.append(Phrase(fits_any[m], total=_approx(t)))
                    continue
                parts.append(Phrase(fits[m], total=_approx(t), low=math.ceil(t / b_hi - 1e-9),
                                    high=math.floor(t / b_lo + 1e-9)))
            size = (Phrase(N_("too small to form even one street")) if hi < 1 else
                    Phrase(N_("too large for {hi} street(s) and too small for {lo}"), hi=hi,
                           lo=lo))
            out.append(
                Finding(
                    rule="propose.island" if multi else "propose.totals",
                    level=base.level if multi else "district",
                    severity="error",
                    code=str(base.codes[spot]),
                    name=str(base.names[spot]) or None,
                    value=float(len(blocks)),
                    unit=nouns,
                    lon=float(base.lon[spot]),
                    lat=float(base.lat[spot]),
                    area_m2=area * 1e6,
                    related=tuple(str(c) for c in base.codes[blocks]),
                    **worded(
                        N_("{where} are {size}: {parts}, and no count fits all "
                           "bands. At least one street there must break a band; unlock a "
                           "neighbouring street or adjust the bands."),
                        where=where, size=size, parts=Phrase.joined(parts)),
                )
            )
    return out


def _street_findings_after(
    plan: Plan,
    rulebook: Rulebook,
    table: pd.DataFrame,
    analysis: list[Finding],
) -> list[Finding]:
    """Return findings on the proposal: streets still out of band and why."""
    base = plan.base
    out: list[Finding] = []
    envelopes = {e.kind: e for e in density_envelopes(rulebook) if e.level == "street"}
    rules = {r.id: r for r in rulebook.rules}
    a = plan.assignment
    explained_blocks: set[str] = set()
    for f in analysis:
        explained_blocks.update(f.related)
        if f.rule == "propose.oversized_community" and f.code:
            explained_blocks.add(f.code)
    unexplained: list[dict[str, Any]] = []
    for k, row in enumerate(table.to_dict("records")):
        if row["status"] != "outside" or row["empty"]:
            continue
        members = np.flatnonzero(a == k)
        spot = int(members[np.argmax(base.area_m2[members])])
        if row["locked"]:
            out.append(
                Finding(
                    rule="propose.locked",
                    level="street",
                    severity="warning",
                    code=str(row["code"]),
                    name=str(row["name"]),
                    lon=float(base.lon[spot]),
                    lat=float(base.lat[spot]),
                    **worded(
                        N_("street {name} ({code}) is locked and breaks {broken}; a locked "
                           "street is left exactly as it is. Unlock it to let the proposal "
                           "change it."),
                        name=str(row["name"]), code=str(row["code"]),
                        broken=Phrase.joined([rules[b].band_text() if b in rules else Word(b)
                                              for b in str(row["broken"]).split(";")], ", ")),
                )
            )
            continue
        env = envelopes.get(str(row["kind"]))
        d = float(row["density_per_km2"])
        if env is not None and math.isfinite(d) and not (env.min_density <= d <= env.max_density):
            side = "sparse" if d < env.min_density else "dense"
            dens = base.population[members] / (base.area_m2[members] / 1e6)
            beyond = members[dens < env.min_density if side == "sparse" else dens > env.max_density]
            bound = env.min_density if side == "sparse" else env.max_density
            out.append(
                Finding(
                    rule="propose.density_envelope",
                    level="street",
                    severity="warning",
                    code=str(row["code"]),
                    name=str(row["name"]),
                    value=d,
                    minimum=env.min_density,
                    maximum=env.max_density,
                    deviation=d - bound,
                    deviation_pct=100 * (d - bound) / bound if bound else None,
                    unit="residents/km²",
                    lon=float(base.lon[spot]),
                    lat=float(base.lat[spot]),
                    related=tuple(str(c) for c in base.codes[beyond]),
                    **worded(
                        N_("street {name} ({code}) has {density} residents/km², too {side} to "
                           "meet both {area_band} and {pop_band}: {n} of its {total} {nouns} lie "
                           "beyond {bound} residents/km²; the search found no way to mix in "
                           "enough {other} {nouns} without breaking other streets' bands."),
                        name=str(row["name"]), code=str(row["code"]), density=_approx(d),
                        side=Word(N_("sparse") if side == "sparse" else N_("dense")),
                        area_band=env.area_rule.band_text(),
                        pop_band=env.population_rule.band_text(), n=len(beyond),
                        total=len(members), nouns=Word(base.nouns), bound=_approx(bound),
                        other=Word(N_("denser") if side == "sparse" else N_("sparser"))),
                )
            )
            continue
        if not explained_blocks.intersection(str(c) for c in base.codes[members]):
            unexplained.append(row)
    if unexplained and not any(f.rule == "propose.street_count" for f in analysis):
        codes = ", ".join(f"{r['name']} ({r['code']})" for r in unexplained[:5])
        out.append(
            Finding(
                rule="propose.not_found",
                level="district",
                severity="warning",
                **worded(
                    N_("The search stopped without putting {streets} in band, though nothing "
                       "found here rules it out. Give it more time (--time-limit), another "
                       "seed, or try the other mode."),
                    streets=codes),
            )
        )
    return out


# ------------------------------------------------------------------------ the search


def street_count_range(plan: Plan, rulebook: Rulebook, *, widen: int = 1) -> tuple[int, int]:
    """Return the default range of the number of streets with rules.

    Parameters
    ----------
    plan : Plan
    rulebook : Rulebook
    widen : int
        Added on each side of what the totals allow.

    Returns
    -------
    (int, int)
        Fewest and most streets: ``⌈total / band max⌉ … ⌊total / band min⌋``
        for each banded total (area, residents, households) of the communities
        in streets with rules, intersected, then widened. Where no count fits
        every band, the two bounds are swapped before widening.
    """
    bands = _bands(rulebook, "street")
    ruled = np.array([bool(rulebook.for_level("street", s.kind)) for s in plan.streets])
    in_ruled = ruled[plan.assignment]
    base = plan.base
    totals = (
        float(base.area_m2[in_ruled].sum()) / 1e6,
        float(base.population[in_ruled].sum()),
        float(base.households[in_ruled].sum()),
    )
    lo, hi = _count_bounds(bands, totals)
    if hi >= 10**9:
        hi = max(lo, int(ruled.sum()))
    if lo > hi:
        lo, hi = hi, lo
    return max(1, lo - widen), max(1, hi + widen)


def _count_findings(
    bands: tuple[_Band, ...],
    comps: list[_Component],
    rng_n: tuple[int, int],
    n_fixed: int,
    base: PlanBase,
) -> list[Finding]:
    totals = [sum(c.totals[i] for c in comps) for i in range(3)]
    lo, hi = _count_bounds(bands, totals)
    want_lo, want_hi = rng_n[0] - n_fixed, rng_n[1] - n_fixed
    if lo <= hi and (want_hi < lo or want_lo > hi):
        return [
            Finding(
                rule="propose.street_count",
                level="district",
                severity="error",
                value=float(rng_n[0]) if rng_n[0] == rng_n[1] else None,
                minimum=float(lo + n_fixed),
                maximum=float(hi + n_fixed),
                unit="streets",
                **worded(
                    N_("{asked_low}–{asked_high} streets were asked for, but the movable {nouns} "
                       "({area} km², {pop} residents) make {low}–{high} streets in band (locked "
                       "ones included). With the count asked for, the average street breaks a "
                       "band."),
                    asked_low=rng_n[0], asked_high=rng_n[1], nouns=Word(base.nouns),
                    area=_approx(totals[0]), pop=_approx(totals[1]), low=lo + n_fixed,
                    high=hi + n_fixed),
            )
        ]
    return []
