"""Rulebooks (TOML) and evaluating units against them.

A rulebook is data, never constants in code: cities differ and standards
change. Each rule applies a band (``min``/``max``) to one measure of the
units of one level and, optionally, of some kinds only (the street guideline
is for street offices, not towns). Every rule names its source and how sure
we are of it; unconfirmed rules give warnings, not errors.

Besides rule-by-rule findings, :func:`evaluate` reports the **density
envelope**: when a level has both an area band and a population band, only
densities between ``pop_min / area_max`` and ``pop_max / area_min`` allow a
unit to meet both. Where a unit's (or the whole district's) density lies
outside that envelope, no redrawing can make a unit there meet both bands,
and the finding says so instead of leaving the planner to search in vain.
"""

from __future__ import annotations

import logging
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo import LEVELS, settings
from geo.bands import Band, Envelope, breach_message, envelope
from geo.errors import RulebookError
from geo.findings import Finding
from geo.hierarchy import District

logger = logging.getLogger(__name__)

MEASURES: dict[str, str] = {
    "area_km2": "km²",
    "population": "residents",
    "households": "households",
    "density_per_km2": "residents/km²",
}
"""Measures a rule can test, with their units."""

KINDS: dict[str, tuple[str, ...]] = {
    "street": ("street", "town", "township"),
    "community": ("community", "village"),
    "grid": ("grid",),
}
"""Kinds of unit at each level."""

STATUSES = ("confirmed", "partial", "unconfirmed")


@dataclass(frozen=True)
class Rule:
    """One band on one measure of the units of one level (and kinds)."""

    id: str
    level: str
    measure: str
    min: float | None
    max: float | None
    kinds: tuple[str, ...]
    title: str
    source: str
    status: str
    title_zh: str = ""

    @property
    def severity(self) -> str:
        """``error`` for confirmed and partly confirmed rules, ``warning`` for unconfirmed ones."""
        return "warning" if self.status == "unconfirmed" else "error"

    def band_text(self) -> str:
        """Return the band as text, e.g. ``6–8 km²``."""
        unit = MEASURES[self.measure]
        if self.min is not None and self.max is not None:
            return f"{_fmt(self.min)}–{_fmt(self.max)} {unit}"
        if self.min is not None:
            return f"≥ {_fmt(self.min)} {unit}"
        return f"≤ {_fmt(self.max or 0.0)} {unit}"


@dataclass(frozen=True)
class Category:
    """One of the six categories of community public affairs, with its responsible body."""

    key: str
    name: str
    name_zh: str = ""
    examples: str = ""
    responsible: str = ""


@dataclass(frozen=True)
class FacilityType:
    """A kind of facility with its walking radius and floor-area norms.

    Each figure carries its own source and status, since some are confirmed
    national norms and others editable local defaults.
    """

    key: str
    name: str
    category: str
    service_radius_m: float
    radius_source: str
    radius_status: str
    name_zh: str = ""
    min_floor_area_m2: float | None = None
    floor_area_source: str = ""
    floor_area_status: str = ""
    m2_per_100_households: float | None = None
    ratio_source: str = ""
    ratio_status: str = ""
    osm: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def label(self) -> str:
        """Return ``name (name_zh)``."""
        return f"{self.name} ({self.name_zh})" if self.name_zh else self.name


@dataclass(frozen=True)
class Rulebook:
    """A loaded rulebook."""

    name: str
    rules: tuple[Rule, ...]
    household_size: float = settings.household_size
    household_size_source: str = ""
    version: str = ""
    path: str = ""
    name_zh: str = ""
    facilities: dict[str, FacilityType] = field(default_factory=dict, compare=False, hash=False)
    categories: dict[str, Category] = field(default_factory=dict, compare=False, hash=False)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def facility(self, key: str) -> FacilityType:
        """Return a facility type, or raise :class:`RulebookError` naming the known ones."""
        try:
            return self.facilities[key]
        except KeyError:
            known = ", ".join(sorted(self.facilities)) or "none"
            raise RulebookError(
                f"Facility type {key!r} is not in the rulebook {self.name!r} (known types: "
                f"{known}). Add a [facilities.{key}] table to the rulebook or correct the type."
            ) from None

    def for_level(self, level: str, kind: str | None = None) -> list[Rule]:
        """Return the rules for a level (and kind, when given)."""
        return [r for r in self.rules if r.level == level and (kind is None or kind in r.kinds)]


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() and abs(x) >= 100 else f"{x:g}"


def _num(value: Any, where: str, key: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RulebookError(f"{where}: {key} must be a number, not {value!r}.")
    return float(value)


def load_rulebook(path: str | os.PathLike[str] | None = None) -> Rulebook:
    """Load and validate a rulebook.

    Parameters
    ----------
    path : path-like, optional
        A TOML rulebook; default :data:`geo.settings.default_rulebook`.

    Returns
    -------
    Rulebook

    Raises
    ------
    RulebookError
        If the file is missing, not TOML, or a rule is malformed (unknown
        level, kind or measure, ``min`` above ``max``, no source ...). The
        message names the rule and the fix.
    """
    path = Path(settings.default_rulebook if path is None else path)
    if not path.exists():
        raise RulebookError(
            f"Rulebook {path} does not exist. Check the path, or leave --rules out "
            "to use the default rulebook."
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RulebookError(
            f"Rulebook {path.name} is not valid TOML: {exc}. Fix the place named, "
            "or start again from a copy of the default rulebook."
        ) from exc
    return rulebook_from_dict(data, path=str(path))


def rulebook_from_dict(data: dict[str, Any], *, path: str = "") -> Rulebook:
    """Validate a parsed rulebook (see :func:`load_rulebook`)."""
    label = Path(path).name if path else "rulebook"
    meta = data.get("rulebook", {})
    defaults = data.get("defaults", {})
    hh = _num(
        defaults.get("household_size", settings.household_size), label, "defaults.household_size"
    )
    if hh is None or hh <= 0:
        raise RulebookError(f"{label}: defaults.household_size must be a positive number.")
    rules = []
    seen = set()
    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list):
        raise RulebookError(f"{label}: rules must be an array of tables ([[rules]]).")
    for n, item in enumerate(raw_rules, start=1):
        rid = str(item.get("id") or f"rule #{n}")
        where = f"{label}, rule {rid}"
        level = item.get("level")
        if level not in LEVELS:
            raise RulebookError(
                f"{where}: level must be one of {', '.join(LEVELS)}, not {level!r}."
            )
        measure = item.get("measure")
        if measure not in MEASURES:
            raise RulebookError(
                f"{where}: measure must be one of {', '.join(MEASURES)}, not {measure!r}."
            )
        kinds = tuple(item.get("kinds") or KINDS[level])
        bad = [k for k in kinds if k not in KINDS[level]]
        if bad:
            raise RulebookError(
                f"{where}: kind(s) {', '.join(bad)} do not exist at the {level} level; use "
                f"{', '.join(KINDS[level])}."
            )
        lo, hi = _num(item.get("min"), where, "min"), _num(item.get("max"), where, "max")
        if lo is None and hi is None:
            raise RulebookError(f"{where}: give min, max or both.")
        if lo is not None and hi is not None and lo > hi:
            raise RulebookError(
                f"{where}: min ({_fmt(lo)}) is greater than max ({_fmt(hi)}). Check the band: "
                "min must not exceed max."
            )
        if not item.get("source"):
            raise RulebookError(f'{where}: every rule must name its source (source = "...").')
        status = item.get("status", "unconfirmed")
        if status not in STATUSES:
            raise RulebookError(f"{where}: status must be one of {', '.join(STATUSES)}.")
        if rid in seen:
            raise RulebookError(f"{where}: the id {rid} is used twice; ids must be unique.")
        seen.add(rid)
        rules.append(
            Rule(
                id=rid,
                level=level,
                measure=measure,
                min=lo,
                max=hi,
                kinds=kinds,
                title=str(item.get("title", rid)),
                title_zh=str(item.get("title_zh", "")),
                source=str(item["source"]),
                status=status,
            )
        )
    categories = _parse_categories(data.get("categories", {}), label)
    facilities = _parse_facilities(data.get("facilities", {}), label, categories)
    return Rulebook(
        facilities=facilities,
        categories=categories,
        name=str(meta.get("name", label)),
        name_zh=str(meta.get("name_zh", "")),
        version=str(meta.get("version", "")),
        rules=tuple(rules),
        household_size=hh,
        household_size_source=str(defaults.get("household_size_source", "")),
        path=path,
        raw=data,
    )


def _parse_categories(raw: Any, label: str) -> dict[str, Category]:
    if not isinstance(raw, dict):
        raise RulebookError(f"{label}: categories must be tables ([categories.KEY]).")
    out = {}
    for key, item in raw.items():
        if not isinstance(item, dict) or not item.get("name"):
            raise RulebookError(f'{label}, category {key}: give it a name (name = "...").')
        out[key] = Category(
            key=key,
            name=str(item["name"]),
            name_zh=str(item.get("name_zh", "")),
            examples=str(item.get("examples", "")),
            responsible=str(item.get("responsible", "")),
        )
    return out


def _parse_facilities(
    raw: Any, label: str, categories: dict[str, Category]
) -> dict[str, FacilityType]:
    if not isinstance(raw, dict):
        raise RulebookError(f"{label}: facilities must be tables ([facilities.TYPE]).")
    out = {}
    for key, item in raw.items():
        where = f"{label}, facility type {key}"
        if not isinstance(item, dict):
            raise RulebookError(f"{where}: must be a table.")
        radius = _num(item.get("service_radius_m"), where, "service_radius_m")
        if radius is None or radius <= 0:
            raise RulebookError(f"{where}: service_radius_m must be a positive number of metres.")
        cat = item.get("category", "")
        if categories and cat not in categories:
            raise RulebookError(f"{where}: category {cat!r} is not one of {', '.join(categories)}.")
        for fig in ("min_floor_area_m2", "m2_per_100_households"):
            val = _num(item.get(fig), where, fig)
            if val is not None and val < 0:
                raise RulebookError(f"{where}: {fig} cannot be negative.")
        statuses = [
            item.get(k)
            for k in ("radius_status", "floor_area_status", "ratio_status")
            if item.get(k)
        ]
        bad = [st for st in statuses if st not in STATUSES]
        if bad:
            raise RulebookError(f"{where}: status {bad[0]!r} must be one of {', '.join(STATUSES)}.")
        osm_raw = item.get("osm", {})
        if not isinstance(osm_raw, dict):
            raise RulebookError(f"{where}: osm must map tag keys to lists of values.")
        osm = tuple(
            (str(k), tuple(str(v) for v in (vals if isinstance(vals, list) else [vals])))
            for k, vals in osm_raw.items()
        )
        out[key] = FacilityType(
            key=key,
            name=str(item.get("name", key)),
            name_zh=str(item.get("name_zh", "")),
            category=str(cat),
            service_radius_m=float(radius),
            radius_source=str(item.get("radius_source", "")),
            radius_status=str(item.get("radius_status", "unconfirmed")),
            min_floor_area_m2=_num(item.get("min_floor_area_m2"), where, "min_floor_area_m2"),
            floor_area_source=str(item.get("floor_area_source", "")),
            floor_area_status=str(item.get("floor_area_status", "unconfirmed")),
            m2_per_100_households=_num(
                item.get("m2_per_100_households"), where, "m2_per_100_households"
            ),
            ratio_source=str(item.get("ratio_source", "")),
            ratio_status=str(item.get("ratio_status", "unconfirmed")),
            osm=osm,
        )
    return out


# ---------------------------------------------------------------------- evaluation


def measure_values(units: pd.DataFrame, measure: str) -> pd.Series:
    """Return one measure for every unit (NaN where unknown)."""
    if measure == "density_per_km2":
        area = units["area_km2"].astype(float)
        return (units["population"].astype(float) / area.where(area > 0)).rename(measure)
    return units[measure].astype(float).rename(measure)


def density_envelopes(rulebook: Rulebook) -> list[Envelope]:
    """Return the density envelope of every (level, kind) with an area and a population band.

    Examples
    --------
    With 6–8 km² and 80,000–120,000 residents, only densities between
    10,000 and 20,000 residents/km² let a street meet both bands.
    """
    out = []
    for level in LEVELS:
        for kind in KINDS[level]:
            rules = rulebook.for_level(level, kind)
            area = next((r for r in rules if r.measure == "area_km2"), None)
            pop = next((r for r in rules if r.measure == "population"), None)
            if area is None or pop is None:
                continue
            out.append(envelope(level, kind, area, pop))
    return out


def _unit_label(row: pd.Series) -> str:
    if row.get("name") and row.get("code"):
        return f"{row['name']} ({row['code']})"
    return str(row.get("name") or row.get("code") or "(unnamed)")


def _rep(geom: Any) -> tuple[float | None, float | None]:
    if geom is None or geom.is_empty or not geom.is_valid:
        return None, None
    pt = geom.representative_point()
    return float(pt.x), float(pt.y)


def evaluate_rules(district: District, rulebook: Rulebook) -> list[Finding]:
    """Check every unit against every rule of its level and kind, and the density envelopes.

    Returns
    -------
    list of Finding
        One per unit and broken rule (rule id as in the rulebook), plus
        ``<level>.density_envelope`` findings per unit and for the district.
    """
    findings: list[Finding] = []
    for level in district.levels:
        units = district.units[level]
        for rule in rulebook.for_level(level):
            mask = units["kind"].isin(rule.kinds)
            values = measure_values(units, rule.measure)
            band = Band.of(rule)
            for idx in units.index[mask]:
                value = values.loc[idx]
                dev = band.deviation(value)
                if dev is None:
                    continue
                row = units.loc[idx]
                lon, lat = _rep(row.geometry)
                findings.append(
                    Finding(
                        rule=rule.id,
                        level=level,
                        severity=rule.severity,
                        code=row["code"],
                        name=row["name"],
                        value=float(value),
                        minimum=rule.min,
                        maximum=rule.max,
                        deviation=dev[0],
                        deviation_pct=dev[1],
                        unit=MEASURES[rule.measure],
                        lon=lon,
                        lat=lat,
                        source=rule.source,
                        status=rule.status,
                        message=breach_message(
                            level=level, label=_unit_label(row), rule=rule, value=float(value),
                            deviation=dev,
                        ),
                    )
                )
        for env in density_envelopes(rulebook):
            if env.level != level:
                continue
            findings.extend(_envelope_findings(units, env))
    return findings


def _envelope_findings(units: pd.DataFrame, env: Envelope) -> list[Finding]:
    findings: list[Finding] = []
    mask = units["kind"] == env.kind
    sub = units[mask]
    if len(sub) == 0:
        return findings
    density = measure_values(sub, "density_per_km2")
    density_band = Band("density_per_km2", env.min_density, env.max_density)
    band = f"{_fmt(env.min_density)}–{_fmt(env.max_density)} residents/km²"
    area_band, pop_band = env.area_rule.band_text(), env.population_rule.band_text()
    for idx in sub.index:
        d = density.loc[idx]
        if not np.isfinite(d):
            continue
        dev = density_band.deviation(float(d))
        if dev is None:
            continue
        row = sub.loc[idx]
        lon, lat = _rep(row.geometry)
        side = "sparse" if dev[0] < 0 else "dense"
        findings.append(
            Finding(
                rule=f"{env.level}.density_envelope",
                level=env.level,
                severity="info",
                code=row["code"],
                name=row["name"],
                value=float(d),
                minimum=env.min_density,
                maximum=env.max_density,
                deviation=dev[0],
                deviation_pct=dev[1],
                unit="residents/km²",
                lon=lon,
                lat=lat,
                source=f"{env.area_rule.source} (arithmetic on the two bands)",
                status=env.area_rule.status,
                message=(
                    f"{env.level} {_unit_label(row)} has {_fmt(round(float(d)))} residents/km²: "
                    f"too {side} for a {env.kind} over this area to meet both "
                    f"{area_band} and {pop_band} (possible only at {band}). Trading "
                    f"communities with its own kind of neighbours will not fix it: it must "
                    f"take in {'denser' if side == 'sparse' else 'sparser'} communities from "
                    "its neighbours (wangge propose searches for such a plan)."
                ),
            )
        )
    total_area = float(sub["area_km2"].sum(min_count=1) or 0)
    total_pop = float(sub["population"].sum(min_count=1) or 0)
    if total_area > 0 and total_pop > 0:
        d = total_pop / total_area
        dev = density_band.deviation(d)
        if dev is not None:
            side = "sparse" if dev[0] < 0 else "dense"
            findings.append(
                Finding(
                    rule=f"{env.level}.density_envelope",
                    level="district",
                    severity="warning",
                    value=d,
                    minimum=env.min_density,
                    maximum=env.max_density,
                    deviation=dev[0],
                    deviation_pct=dev[1],
                    unit="residents/km²",
                    source=f"{env.area_rule.source} (arithmetic on the two bands)",
                    status=env.area_rule.status,
                    message=(
                        f"Taken together, the {len(sub)} {env.kind} units have "
                        f"{_fmt(round(d))} residents/km², too {side} for every {env.kind} to "
                        f"meet both {area_band} and {pop_band} (possible only at {band}). "
                        "No plan can make them all fit; decide which band matters more here."
                    ),
                )
            )
    return findings


def status_table(
    district: District, rulebook: Rulebook, level: str, findings: list[Finding] | None = None
) -> pd.DataFrame:
    """Return one row per unit of a level: figures and status against the rulebook.

    Columns: ``code``, ``name``, ``kind``, ``parent_code``, ``area_km2``,
    ``population``, ``households``, ``density_per_km2``, ``status`` (``ok``,
    ``outside``, ``no rule`` or ``no data`` when a banded figure is missing), ``broken``
    (ids of broken rules; the ``findings`` argument is accepted for compatibility)
    and ``derived`` (figures that were derived rather than given).
    """
    units = district.units[level]
    del findings  # statuses come from the band module directly, for coded and uncoded units
    table = pd.DataFrame(
        {
            "code": units["code"],
            "name": units["name"],
            "kind": units["kind"],
            "parent_code": units["parent_code"],
            "area_km2": units["area_km2"].astype(float),
            "population": units["population"],
            "households": units["households"],
        }
    )
    table["density_per_km2"] = measure_values(units, "density_per_km2")
    values = {m: measure_values(units, m).to_numpy() for m in MEASURES}
    statuses, broken = [], []
    for i, kind in enumerate(units["kind"].to_numpy()):
        rules = rulebook.for_level(level, kind)
        states = [(r.id, Band.of(r).state(values[r.measure][i])) for r in rules]
        out = [rid for rid, st in states if st in ("below", "above")]
        broken.append(";".join(out))
        if not rules:
            statuses.append("no rule")
        elif out:
            statuses.append("outside")
        elif any(st == "no data" for _, st in states):
            statuses.append("no data")
        else:
            statuses.append("ok")
    table["status"] = statuses
    table["broken"] = broken
    table["derived"] = [
        ";".join(w for w, s in (("population", p), ("households", h)) if s and s != "given")
        for p, h in zip(units["population_source"], units["households_source"], strict=True)
    ]
    return table.reset_index(drop=True)
