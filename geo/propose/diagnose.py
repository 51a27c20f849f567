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
from geo.findings import Finding
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
    values = (np.asarray(base.area_m2) / 1e6, base.population, base.households)
    for b in np.flatnonzero(movable_block):
        for m, _lo, hi, _ in bands:
            if m not in _ADDITIVE or not math.isfinite(hi):
                continue
            v = float(values[m][b])
            if v > hi:
                hi = hi - tolerance(_MEASURE_NAMES[m])  # the rulebook's figure, for the message
                what, unit = names[m]
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
                        message=(
                            f"{noun} {base.names[b] or base.codes[b]} ({base.codes[b]}) alone has "
                            f"{_approx(v)} {unit} of {what}, more than a whole street may have "
                            f"({_approx(hi)}). Whatever street holds it breaks that band; "
                            f"split the {noun} first (it is never split here), "
                            "or accept the exception."
                        ),
                    )
                )
                break
    multi = len(comps) > 1
    for comp in comps:
        area, pop, hh = comp.totals
        lo, hi = _count_bounds(bands, comp.totals)
        blocks = comp.blocks
        spot = _anchor(base, blocks)
        where = (
            f"the {len(blocks)} {nouns} around {base.names[spot] or base.codes[spot]} "
            f"({base.codes[spot]}), cut off from the other movable {nouns} by locked streets, "
            "streets without rules or a gap,"
            if multi
            else f"the district's {len(blocks)} movable {nouns} together"
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
                    message=(
                        f"{where[0].upper()}{where[1:]} have {_approx(density)} residents/km² "
                        f"({_approx(area)} km², {_approx(pop)} residents): too {side} for every "
                        f"street there to meet both {envelope.area_rule.band_text()} and "
                        f"{envelope.population_rule.band_text()} (possible only at "
                        f"{_approx(envelope.min_density)}–{_approx(envelope.max_density)} "
                        "residents/km²). At least one street there must break a band; the "
                        "proposal keeps the breaches as few and as small as it can."
                    ),
                )
            )
            continue
        if lo > hi:
            parts = []
            for m, b_lo, b_hi, _ in bands:
                if m not in _ADDITIVE:
                    continue
                t = comp.totals[m]
                what, unit = names[m]
                parts.append(
                    f"{_approx(t)} {unit} of {what} fits "
                    + (
                        f"{math.ceil(t / b_hi - 1e-9)}–{math.floor(t / b_lo + 1e-9)}"
                        if math.isfinite(b_hi) and math.isfinite(b_lo)
                        else "any number of"
                    )
                    + " streets"
                )
            if hi < 1:
                size = "too small to form even one street"
            else:
                size = f"too large for {hi} street{'s' if hi > 1 else ''} and too small for {lo}"
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
                    message=(
                        f"{where[0].upper()}{where[1:]} are {size}: {'; '.join(parts)}, and no "
                        "count fits all bands. At least one street there must break a band; "
                        "unlock a neighbouring street or adjust the bands."
                    ),
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
                    message=(
                        f"street {row['name']} ({row['code']}) is locked and breaks "
                        f"{row['broken'].replace(';', ', ')}; a locked street is left exactly "
                        "as it is. Unlock it to let the proposal change it."
                    ),
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
                    message=(
                        f"street {row['name']} ({row['code']}) has {_approx(d)} residents/km², too "
                        f"{side} to meet both {env.area_rule.band_text()} and "
                        f"{env.population_rule.band_text()}: {len(beyond)} of its "
                        f"{len(members)} {base.nouns} lie beyond "
                        f"{_approx(env.min_density if side == 'sparse' else env.max_density)} "
                        "residents/km²; the search found no way to mix in enough "
                        f"{'denser' if side == 'sparse' else 'sparser'} {base.nouns} without "
                        "breaking other streets' bands."
                    ),
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
                message=(
                    f"The search stopped without putting {codes} in band, though nothing "
                    "found here rules it out. Give it more time (--time-limit), another seed, "
                    "or try the other mode."
                ),
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
                message=(
                    f"{rng_n[0]}–{rng_n[1]} streets were asked for, but the movable "
                    f"{base.nouns} ({_approx(totals[0])} km², {_approx(totals[1])} residents) make "
                    f"{lo + n_fixed}–{hi + n_fixed} streets in band (locked ones included). "
                    "With the count asked for, the average street breaks a band."
                ),
            )
        ]
    return []
