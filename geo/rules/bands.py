"""The one band module: is a figure inside a rule's band, by how much not, at what cost.

Every place that judges a unit against a band — the check
(:func:`geo.rules.rulebook.evaluate_rules`), the editor's street table
(:meth:`geo.plan.model.Plan.street_table`) and the proposer
(:func:`geo.propose.search.propose_plan`) — asks this module, so they cannot
disagree.

Figures are compared **at the precision they are shown**
(:data:`geo.settings.band_precision`: 0.01 km², one resident, one
household): a street of 5.996 km² is shown as 6.00 km² and is in the 6–8 km²
band, as a planner reads it. A figure that is missing (``None``/NaN) has the
state ``"no data"``, never 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from geo import settings
from geo._format import bound as _bound
from geo.findings import Phrase
from geo.i18n import N_

STATES = ("ok", "below", "above", "no data")
"""What :func:`band_state` returns."""

MEASURE_UNITS: dict[str, str] = {
    "area_km2": "km²",
    "population": "residents",
    "households": "households",
    "density_per_km2": "residents/km²",
}
"""Measures a band can apply to, with the unit a planner reads."""

_BAND_TEMPLATES: dict[str, tuple[str, str, str]] = {
    "area_km2": (N_("{low}–{high} km²"), N_("≥ {low} km²"), N_("≤ {high} km²")),
    "population": (N_("{low}–{high} residents"), N_("≥ {low} residents"),
                   N_("≤ {high} residents")),
    "households": (N_("{low}–{high} households"), N_("≥ {low} households"),
                   N_("≤ {high} households")),
    "density_per_km2": (N_("{low}–{high} residents/km²"), N_("≥ {low} residents/km²"),
                        N_("≤ {high} residents/km²")),
}


def band_text(measure: str, low: float | None, high: float | None) -> str:
    """Return a band as a planner reads it (``6–8 km²``), translatable in a finding.

    A :class:`~geo.findings.Phrase` (a ``str``): placed in a finding's
    :func:`~geo.findings.worded` message, the app shows it in the chosen language.
    """
    both, at_least, at_most = _BAND_TEMPLATES.get(
        measure, ("{low}–{high} " + measure, "≥ {low} " + measure, "≤ {high} " + measure))
    if low is not None and high is not None:
        return Phrase(both, low=_bound(low), high=_bound(high))
    if low is not None:
        return Phrase(at_least, low=_bound(low))
    return Phrase(at_most, high=_bound(high or 0.0))


def precision(measure: str) -> int:
    """Return the decimals a measure is shown and compared with (default 2)."""
    return int(settings.band_precision.get(measure, 2))


def tolerance(measure: str) -> float:
    """Return how far outside a bound a raw figure may lie and still show as on it.

    Half a unit of the shown precision, less a hair so that a figure which
    rounds away from the bound is never called inside.
    """
    return 0.5 * 10.0 ** (-precision(measure)) * (1.0 - 1e-9)


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError):
        return True


@dataclass(frozen=True)
class Band:
    """A band ``[minimum, maximum]`` (either may be open) on one measure."""

    measure: str
    minimum: float | None
    maximum: float | None

    @classmethod
    def of(cls, rule: Any) -> Band:
        """Return the band of a rulebook rule (anything with ``measure``, ``min``, ``max``)."""
        return cls(rule.measure, rule.min, rule.max)

    @property
    def low(self) -> float:
        """The lowest raw figure in band (``-inf`` when open)."""
        return -math.inf if self.minimum is None else self.minimum - tolerance(self.measure)

    @property
    def high(self) -> float:
        """The highest raw figure in band (``inf`` when open)."""
        return math.inf if self.maximum is None else self.maximum + tolerance(self.measure)

    @property
    def scale(self) -> float:
        """The band's width, the unit in which violations are costed.

        A half-open band is costed in quarters of its bound.
        """
        lo, hi = self.minimum, self.maximum
        if lo is not None and hi is not None and hi > lo:
            return float(hi - lo)
        bound = lo if lo is not None else hi
        quarter = abs(float(bound or 0.0)) * 0.25
        return quarter if quarter > 0 else 1.0  # "≥ 0": cost in the measure's own units

    def state(self, value: Any) -> str:
        """Return ``"ok"``, ``"below"``, ``"above"`` or ``"no data"``."""
        if _missing(value):
            return "no data"
        x = float(value)
        if x < self.low:
            return "below"
        if x > self.high:
            return "above"
        return "ok"

    def states(self, values: Any) -> np.ndarray:
        """:meth:`state` of every figure of an array at once (same answers, no Python loop)."""
        x = np.asarray(values, dtype=float)
        finite = np.isfinite(x)
        out = np.where(finite, "ok", "no data").astype(object)
        out[finite & (x < self.low)] = "below"
        out[finite & (x > self.high)] = "above"
        return out

    def deviation(self, value: Any) -> tuple[float, float] | None:
        """Return ``(deviation, percent of the crossed bound)``; ``None`` inside or missing.

        Below the band the deviation is negative, above it positive.
        """
        state = self.state(value)
        if state in ("ok", "no data"):
            return None
        x = float(value)
        bound = float(self.minimum if state == "below" else self.maximum)  # type: ignore[arg-type]
        dev = x - bound
        pct = (100.0 * dev / bound) if bound else math.nan  # no percentage of a zero bound
        return dev, pct

    def violation(self, value: float) -> float:
        """Return how far outside the band a figure lies, in band widths (0 inside)."""
        x = float(value)
        if x < self.low:
            return (self.low - x) / self.scale
        if x > self.high:
            return (x - self.high) / self.scale
        return 0.0

    def margin(self, value: Any) -> float | None:
        """Return the distance to the nearer bound as a share of the band width (inside only)."""
        if self.state(value) != "ok":
            return None
        x = float(value)
        gaps = [x - b for b in (self.minimum,) if b is not None]
        gaps += [b - x for b in (self.maximum,) if b is not None]
        return max(min(gaps), 0.0) / self.scale if gaps else None

    def edge_margin(self, value: Any) -> float | None:
        """Return how far inside the band a figure lies, as a share of the nearer bound.

        ``None`` outside the band or missing; 0.02 means 2 % of the bound to spare.
        """
        if self.state(value) != "ok":
            return None
        x = float(value)
        shares = [(x - b) / abs(b) for b in (self.minimum,) if b]
        shares += [(b - x) / abs(b) for b in (self.maximum,) if b]
        return max(min(shares), 0.0) if shares else None

    def text(self) -> str:
        """Return the band as text, e.g. ``6–8 km²``."""
        unit = MEASURE_UNITS.get(self.measure, self.measure)
        if self.minimum is not None and self.maximum is not None:
            return f"{_bound(self.minimum)}–{_bound(self.maximum)} {unit}"
        if self.minimum is not None:
            return f"≥ {_bound(self.minimum)} {unit}"
        return f"≤ {_bound(self.maximum or 0.0)} {unit}"


def band_state(value: Any, minimum: float | None, maximum: float | None, *, measure: str) -> str:
    """Return the state of a figure against a band (see :meth:`Band.state`)."""
    return Band(measure, minimum, maximum).state(value)


def shown(value: float, measure: str) -> str:
    """Return a figure as a planner reads it, at the measure's precision."""
    p = precision(measure)
    return f"{value:,.{p}f}"


def breach_message(
    *, level: str, label: str, rule: Any, value: float, deviation: tuple[float, float]
) -> str:
    """Return the sentence saying which band a unit breaks, by how much and how sure the band is."""
    unit = MEASURE_UNITS.get(rule.measure, rule.measure)
    side = "above" if deviation[0] > 0 else "below"
    band = Band.of(rule)
    tail = str(getattr(rule, "note", ""))  # "; the band is advisory (建议)" and the like
    title = rule.title.lower()
    after = "" if unit in title else f" {unit}"  # "residents 166,360", not "... residents"
    return (
        f"{level} {label}: {title} {shown(value, rule.measure)}{after} is {side} "
        f"the band {band.text()} by {shown(abs(deviation[0]), rule.measure)}{after}"
        + (f" ({abs(deviation[1]):.1f}%)" if math.isfinite(deviation[1]) else "")
        + f"{tail}."
    )


@dataclass(frozen=True)
class Envelope:
    """Densities at which a unit of one level and kind can meet both its area and population bands."""  # noqa: E501

    level: str
    kind: str
    min_density: float
    max_density: float
    area_rule: Any
    population_rule: Any


def envelope(level: str, kind: str, area_rule: Any, population_rule: Any) -> Envelope:
    """Return the density envelope implied by an area band and a population band.

    Examples
    --------
    With 6–8 km² and 80,000–120,000 residents, only densities between
    10,000 and 20,000 residents/km² let a street meet both bands.

    >>> class R:
    ...     def __init__(self, lo, hi):
    ...         self.min, self.max = lo, hi
    >>> e = envelope("street", "street", R(6, 8), R(80_000, 120_000))
    >>> (e.min_density, e.max_density)
    (10000.0, 20000.0)
    """
    pop, area = population_rule, area_rule
    lo = (pop.min / area.max) if pop.min is not None and area.max else 0.0
    hi = (pop.max / area.min) if pop.max is not None and area.min else math.inf
    return Envelope(level, kind, float(lo), float(hi), area_rule, population_rule)
