"""The sample's people: a residential density field, planned per street, and residents per grid.

Steps 2, 3 and 7 of :mod:`geo.sample.build`: the smooth density field
(:class:`_DensityField`), corrected street by street until every planned unit
holds its planned residents (:func:`_planned_density`), the intensity grid
sites are thrown with (:class:`_SiteIntensity`), and the grids' residents and
households (:func:`_raw_population`, :func:`_scale_population`,
:func:`_households`).
"""

from __future__ import annotations

import numpy as np

from geo import settings
from geo.sample.design import (
    _BLEND_M,
    _CORE_KM,
    _EMPTY_SHARE,
    _GRID_HOUSEHOLDS,
    _NOISE,
    _SUBCENTRE_KM,
    _VILLAGE_GRID_HOUSEHOLDS,
    _UnitPlan,
)
from geo.sample.geometry import _power_fit, _power_label


class _DensityField:
    """Smooth residential density (persons/km²) over the district, in metres."""

    def __init__(self, rng: np.random.Generator, centre: np.ndarray, plan: list[_UnitPlan]):
        self.core = centre + 1000.0 * np.array(_CORE_KM) + rng.normal(0.0, 150.0, size=2)
        self.subcentre = centre + 1000.0 * np.array(_SUBCENTRE_KM) + rng.normal(0.0, 150.0, 2)
        town = next(p for p in plan if p.town)
        self.seat = centre + 1000.0 * np.array([town.x_km, town.y_km])
        self.waves = [
            (rng.uniform(0.0, 2.0 * np.pi), rng.uniform(1.5e-3, 3.5e-3), rng.uniform(0, 2 * np.pi))
            for _ in range(4)
        ]

    def __call__(self, xy: np.ndarray) -> np.ndarray:
        """Return the density at points ``xy`` (n x 2, metres), persons/km²."""
        d_core = np.hypot(*(xy - self.core).T)
        d_sub = np.hypot(*(xy - self.subcentre).T)
        d_seat = np.hypot(*(xy - self.seat).T)
        density = (
            3000.0
            + 27000.0 * np.exp(-((d_core / 3800.0) ** 2))
            + 7000.0 * np.exp(-((d_sub / 1800.0) ** 2))
            + 6000.0 * np.exp(-((d_seat / 900.0) ** 2))
        )
        noise = np.zeros(len(xy))
        for direction, frequency, phase in self.waves:
            along = xy[:, 0] * np.cos(direction) + xy[:, 1] * np.sin(direction)
            noise += np.cos(frequency * along + phase)
        return np.asarray(density * np.exp(0.06 * noise))


class _PlannedDensity:
    """The density field times a smooth street-by-street factor that meets the plan."""

    def __init__(self, field: _DensityField, street_xy: np.ndarray, factor: np.ndarray):
        self.field = field
        self.street_xy = street_xy
        self.factor = factor

    def __call__(self, xy: np.ndarray) -> np.ndarray:
        """Return the planned density at points ``xy`` (n x 2, metres), persons/km²."""
        return np.asarray(self.field(xy) * (_blend(xy, self.street_xy) @ self.factor))


def _blend(xy: np.ndarray, street_xy: np.ndarray) -> np.ndarray:
    """Gaussian weights (n x k, rows summing to 1) of the streets around each point."""
    d2 = ((xy[:, None, :] - street_xy[None, :, :]) ** 2).sum(axis=2)
    blend = np.exp(-d2 / _BLEND_M**2)
    return np.asarray(blend / blend.sum(axis=1, keepdims=True))


def _planned_density(
    plan: list[_UnitPlan],
    centre: np.ndarray,
    points: np.ndarray,
    field: _DensityField,
    area_m2: float,
) -> tuple[_PlannedDensity, _SiteIntensity]:
    """Plan the residential density, and from it the grid sites, before any grid exists.

    The uniform ``points`` are split into the planned streets as the grids
    will be later (a power diagram balancing area), and the density field is
    corrected by a smooth blend of per-street factors until each street holds
    its planned residents.
    """
    k = len(plan)
    seeds = centre + 1000.0 * np.array([[p.x_km, p.y_km] for p in plan])
    targets = np.array([p.area_km2 for p in plan])
    centres, weights = _power_fit(
        points, np.ones(len(points)), seeds, targets, spread_m2=area_m2 / k / np.pi, lloyd=0.15
    )
    label = _power_label(points, centres, weights)
    if len(np.unique(label)) != k:
        raise RuntimeError("a planned street of the sample district came out empty")
    street_xy = np.array([points[label == s].mean(axis=0) for s in range(k)])
    people = field(points) * (area_m2 / len(points) / 1e6)
    blend = _blend(points, street_xy)
    wanted = np.array([float(p.population) for p in plan])
    factor = np.ones(k)
    for _ in range(30):
        factor *= wanted / np.bincount(label, weights=people * (blend @ factor), minlength=k)
    density = _PlannedDensity(field, street_xy, factor)
    town = next(s for s in range(k) if plan[s].town)
    return density, _SiteIntensity(density, centres, weights, town)


class _SiteIntensity:
    """Wanted grid sites per m²: planned households over the households a grid should hold.

    Grid managers draw grids by household count, so a grid should hold about
    ``_GRID_HOUSEHOLDS`` households in the streets and at the town seat, and
    about ``_VILLAGE_GRID_HOUSEHOLDS`` in the town's villages, which are
    drawn village by village rather than by count.
    """

    def __init__(
        self, density: _PlannedDensity, centres: np.ndarray, weights: np.ndarray, town: int
    ):
        self.density = density
        self.centres = centres
        self.weights = weights
        self.town = town

    def __call__(self, xy: np.ndarray) -> np.ndarray:
        """Return the wanted sites per m² at points ``xy`` (n x 2, metres)."""
        density = self.density(xy)
        per_grid = np.full(len(xy), _GRID_HOUSEHOLDS)
        town = _power_label(xy, self.centres, self.weights) == self.town
        seat = np.clip((density[town] - 5000.0) / 3000.0, 0.0, 1.0)
        per_grid[town] = _VILLAGE_GRID_HOUSEHOLDS + seat * (
            _GRID_HOUSEHOLDS - _VILLAGE_GRID_HOUSEHOLDS
        )
        return np.asarray(density / 1e6 / settings.household_size / per_grid)


def _raw_population(
    rng: np.random.Generator, density: _PlannedDensity, centroids: np.ndarray, areas: np.ndarray
) -> np.ndarray:
    """Unscaled residents of each grid: density x area x noise; a few grids nearly empty."""
    noise = np.exp(rng.normal(0.0, _NOISE, size=len(areas)))
    empty = rng.random(len(areas)) < _EMPTY_SHARE
    noise[empty] *= rng.uniform(0.05, 0.3, size=int(empty.sum()))
    return np.asarray(density(centroids) * areas / 1e6 * noise)


def _scale_population(
    plan: list[_UnitPlan], street_of: np.ndarray, raw: np.ndarray, centroids: np.ndarray
) -> np.ndarray:
    """Rescale raw residents so each street hits its planned total; integers.

    The raw figures already follow the planned density, so only a small gap
    is left (grids at street borders, noise). A smooth correction (a Gaussian
    blend of per-street factors) takes up most of it, so density changes
    gradually across street borders; a last exact per-street factor closes it.
    """
    k = len(plan)
    targets = np.array([float(p.population) for p in plan])
    street_xy = np.array([centroids[street_of == s].mean(axis=0) for s in range(k)])
    blend = _blend(centroids, street_xy)
    scaled = raw.copy()
    for _ in range(12):
        factor = targets / np.bincount(street_of, weights=scaled, minlength=k)
        scaled *= blend @ factor
    population = np.zeros(len(raw), dtype=np.int64)
    for s in range(k):
        members = np.flatnonzero(street_of == s)
        share = scaled[members] * (targets[s] / scaled[members].sum())
        population[members] = _round_to_total(share, plan[s].population)
    return population


def _round_to_total(values: np.ndarray, total: int) -> np.ndarray:
    """Round non-negative values to integers summing to ``total`` (largest remainder)."""
    floor = np.floor(values).astype(np.int64)
    missing = int(total - floor.sum())
    order = np.argsort(-(values - floor), kind="stable")
    floor[order[:missing]] += 1
    return floor


def _households(rng: np.random.Generator, population: np.ndarray) -> np.ndarray:
    """Households: residents / average household size, with a little noise; at least 1."""
    size = settings.household_size * np.exp(rng.normal(0.0, 0.04, size=len(population)))
    return np.maximum(1, np.rint(population / size)).astype(np.int64)
