"""What a plan reports: the street table, findings, street shapes, comparisons, exports.

:class:`PlanTables` is the reading half of :class:`~geo.plan.model.Plan` (which
inherits it): it turns the plan's live totals into one row per street against
the rulebook's bands, findings (broken bands, streets in pieces, empty streets,
missing figures), the streets dissolved from their blocks, the moves between two
plans, and the district's units with the plan applied. Contiguous pieces are
counted here, per street, and cached until an edit touches the street.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from scipy.sparse.csgraph import connected_components

from geo._format import bound as _bound
from geo.errors import PlanError
from geo.findings import Finding, Word, worded
from geo.i18n import N_
from geo.plan.base import IntArray, PlanBase, Street
from geo.rules.bands import Band, breach_message
from geo.rules.rulebook import MEASURES, Rule, Rulebook, load_rulebook

if TYPE_CHECKING:
    from geo.plan.model import Plan

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Pieces:
    count: int
    smallest: IntArray


@lru_cache(maxsize=1)
def _default_rulebook() -> Rulebook:
    return load_rulebook()


_STATUS_COLUMNS = {
    "area_km2": "area_status",
    "population": "population_status",
    "households": "households_status",
    "density_per_km2": "density_status",
}


_TABLE_COLUMNS = [
    "code",
    "name",
    "kind",
    "locked",
    "blocks",
    "empty",
    "area_km2",
    "population",
    "households",
    "density_per_km2",
    "area_status",
    "population_status",
    "households_status",
    "density_status",
    "status",
    "broken",
    "change_area_km2",
    "change_population",
    "perimeter_km",
    "compactness",
    "pieces",
    "missing_figures",
]


def _fit(arr: np.ndarray, m: int) -> np.ndarray:
    if len(arr) >= m:
        return arr[:m]
    return np.concatenate([arr, np.zeros(m - len(arr))])


class PlanTables:
    """The reading half of a :class:`~geo.plan.model.Plan`: tables, findings, shapes, exports.

    Not used on its own: :class:`~geo.plan.model.Plan` inherits it and holds the
    state declared here (kept up to date by its moves, undo and redo).
    """

    name: str
    _base: PlanBase
    _streets: list[Street]
    _assignment: IntArray
    _count: npt.NDArray[Any]
    _area: npt.NDArray[Any]
    _perim: npt.NDArray[Any]
    _pop: npt.NDArray[Any]
    _hh: npt.NDArray[Any]
    _missing: npt.NDArray[Any]
    _pop_missing: npt.NDArray[Any]
    _hh_missing: npt.NDArray[Any]
    _prev_area: npt.NDArray[Any]
    _prev_pop: npt.NDArray[Any]
    _pieces: dict[str, _Pieces]
    _geoms: dict[str, shapely.Geometry]

    # ---------------------------------------------------------------- contiguity


    def _members(self, k: int) -> IntArray:
        return np.flatnonzero(self._assignment == k)

    def _pieces_of(self, k: int) -> _Pieces:
        code = self._streets[k].code
        hit = self._pieces.get(code)
        if hit is not None:
            return hit
        members = self._members(k)
        if len(members) <= 1:
            found = _Pieces(len(members), np.zeros(0, dtype=np.int64))
        else:
            sub = self._base.rook_graph[members][:, members]
            count, labels = connected_components(sub, directed=False)
            if count > 1:
                sizes = np.bincount(labels, weights=self._base.area_m2[members], minlength=count)
                smallest = members[labels == int(np.argmin(sizes))]
            else:
                smallest = np.zeros(0, dtype=np.int64)
            found = _Pieces(int(count), smallest)
        self._pieces[code] = found
        return found

    # ---------------------------------------------------------------- tables

    def _values(self, k: int) -> dict[str, float]:
        """Return a street's figures; a total over a block with a missing figure is NaN."""
        area_km2 = float(self._area[k]) / 1e6
        pop = float(self._pop[k]) if self._pop_missing[k] == 0 else math.nan
        hh = float(self._hh[k]) if self._hh_missing[k] == 0 else math.nan
        return {
            "area_km2": area_km2,
            "population": pop,
            "households": hh,
            "density_per_km2": pop / area_km2 if area_km2 > 0 else math.nan,
        }

    def street_table(self, rulebook: Rulebook | None = None) -> pd.DataFrame:
        """Return one row per street: live figures and status against the rulebook.

        Parameters
        ----------
        rulebook : Rulebook, optional
            Default: the default rulebook.

        Returns
        -------
        pandas.DataFrame
            Columns ``code``, ``name``, ``kind``, ``locked``, ``blocks``,
            ``empty``, ``area_km2``, ``population``, ``households``,
            ``density_per_km2``, ``area_status``, ``population_status``,
            ``households_status``, ``density_status`` (each ``ok``, ``below``,
            ``above``, ``no rule``, or ``no data`` where a figure is missing, as the
            residents of a street holding a community without a figure), ``status``
            (``ok``, ``outside``, ``no data`` or ``no rule``; an empty street is
            ``outside``), ``broken`` (ids of broken rules),
            ``change_area_km2`` and
            ``change_population`` (since the previous step), ``perimeter_km``,
            ``compactness`` (4πA/P²), ``pieces`` (contiguous pieces) and
            ``missing_figures`` (blocks whose residents or households are
            unknown; the street's total of that figure is then missing too).
        """
        rb = _default_rulebook() if rulebook is None else rulebook
        m = len(self._streets)
        prev_area = _fit(self._prev_area, m)
        prev_pop = _fit(self._prev_pop, m)
        records = []
        for k, st in enumerate(self._streets):
            values = self._values(k)
            rules = rb.for_level("street", st.kind)
            status_of: dict[str, str] = {}
            broken: list[str] = []
            for measure, column in _STATUS_COLUMNS.items():
                mine = [r for r in rules if r.measure == measure]
                if not mine:
                    status_of[column] = "no rule"
                    continue
                state = "ok"
                for r in mine:
                    st_r = Band.of(r).state(values[measure])
                    if st_r in ("below", "above"):
                        broken.append(r.id)
                    if state == "ok" or st_r in ("below", "above"):
                        state = st_r
                status_of[column] = state
            if not rules:
                status = "no rule"
            elif broken or self._count[k] == 0:
                status = "outside"
            elif "no data" in status_of.values():
                status = "no data"
            else:
                status = "ok"
            perim = float(self._perim[k])
            area = float(self._area[k])
            records.append(
                {
                    "code": st.code,
                    "name": st.name,
                    "kind": st.kind,
                    "locked": st.locked,
                    "blocks": int(self._count[k]),
                    "empty": bool(self._count[k] == 0),
                    **values,
                    **status_of,
                    "status": status,
                    "broken": ";".join(dict.fromkeys(broken)),
                    "change_area_km2": (area - float(prev_area[k])) / 1e6,
                    "change_population": (
                        float(self._pop[k]) - float(prev_pop[k])
                        if self._pop_missing[k] == 0
                        else math.nan
                    ),
                    "perimeter_km": perim / 1e3,
                    "compactness": 4 * math.pi * area / perim**2 if perim > 0 else math.nan,
                    "pieces": self._pieces_of(k).count,
                    "missing_figures": int(self._missing[k]),
                }
            )
        return pd.DataFrame.from_records(records, columns=_TABLE_COLUMNS)

    def findings(self, rulebook: Rulebook | None = None) -> list[Finding]:
        """Check every street against the rulebook and for pieces and emptiness.

        Returns
        -------
        list of Finding
            Per street and broken rule, as :func:`geo.rules.rulebook.evaluate_rules`
            reports them (rule id, value, band, deviation and percentage);
            ``plan.noncontiguous`` for a street in pieces (how many, with a
            point in the smallest piece and its blocks in ``related``); and
            ``plan.empty_street`` for a street with no blocks.
        """
        rb = _default_rulebook() if rulebook is None else rulebook
        base = self._base
        out: list[Finding] = []
        for k, st in enumerate(self._streets):
            if self._count[k] == 0:
                out.append(
                    Finding(
                        rule="plan.empty_street",
                        level="street",
                        severity="warning",
                        code=st.code,
                        name=st.name,
                        value=0.0,
                        unit=base.nouns,
                        message=(
                            f"street {st.label} has no {base.nouns}. Move {base.nouns} into it, "
                            "or undo creating it; an empty street is left out of exports."
                        ),
                    )
                )
                continue
            members = self._members(k)
            anchor = int(members[np.argmax(base.area_m2[members])])
            values = self._values(k)
            for rule in rb.for_level("street", st.kind):
                value = values[rule.measure]
                dev = Band.of(rule).deviation(value)
                if dev is not None:
                    out.append(self._rule_finding(st, rule, value, dev, anchor))
            if self._pop_missing[k] or self._hh_missing[k]:
                out.append(self._missing_finding(st, k, members, anchor))
            pieces = self._pieces_of(k)
            if pieces.count > 1:
                small = pieces.smallest
                spot = int(small[np.argmax(base.area_m2[small])])
                small_area = float(base.area_m2[small].sum())
                small_pop = float(base.population[small].sum())
                noun = base.noun if len(small) == 1 else base.nouns
                out.append(
                    Finding(
                        rule="plan.noncontiguous",
                        level="street",
                        severity="warning",
                        code=st.code,
                        name=st.name,
                        value=float(pieces.count),
                        unit="pieces",
                        lon=float(base.lon[spot]),
                        lat=float(base.lat[spot]),
                        area_m2=small_area,
                        related=tuple(str(c) for c in base.codes[small]),
                        message=(
                            f"street {st.label} is in {pieces.count} pieces. The smallest "
                            f"({len(small)} {noun}: {', '.join(self._labels(small[:5]))}"
                            f"{' …' if len(small) > 5 else ''}; {small_area / 1e6:.2f} km², "
                            f"{_bound(round(small_pop))} residents) is cut off from the rest. Move "
                            "it to a neighbouring street, or move the blocks between the pieces "
                            "into this street."
                        ),
                    )
                )
        return out

    def _labels(self, blocks: npt.ArrayLike) -> list[str]:
        """Return blocks as a planner names them: by name, by code where unnamed."""
        base = self._base
        return [str(base.names[b] or base.codes[b]) for b in np.asarray(blocks, dtype=np.int64)]

    def _missing_finding(self, st: Street, k: int, members: IntArray, anchor: int) -> Finding:
        base = self._base
        lacking = members[base.population_missing[members] | base.households_missing[members]]
        pop, hh = self._pop_missing[k], self._hh_missing[k]
        if pop and hh:
            what = Word(N_("residents and households"))
        else:
            what = Word(N_("residents") if pop else N_("households"))
        return Finding(
            rule="plan.missing_figures",
            level="street",
            severity="warning",
            code=st.code,
            name=st.name,
            value=float(len(lacking)),
            unit=base.nouns,
            lon=float(base.lon[anchor]),
            lat=float(base.lat[anchor]),
            related=tuple(str(c) for c in base.codes[lacking]),
            **worded(
                N_(
                    "street {street}: {what} unknown for {n} {noun} ({units}{more}), so its "
                    "{what} total is not known and its bands on them are not checked (shown as "
                    "—). Add the figures to the input."
                ),
                street=st.label,
                what=what,
                n=len(lacking),
                noun=Word(base.noun if len(lacking) == 1 else base.nouns),
                units=", ".join(self._labels(lacking[:5])),
                more=" …" if len(lacking) > 5 else "",
            ),
        )

    def _rule_finding(
        self, st: Street, rule: Rule, value: float, dev: tuple[float, float], anchor: int
    ) -> Finding:
        unit = MEASURES[rule.measure]
        return Finding(
            rule=rule.id,
            level="street",
            severity=rule.severity,
            code=st.code,
            name=st.name,
            value=value,
            minimum=rule.min,
            maximum=rule.max,
            deviation=dev[0],
            deviation_pct=dev[1],
            unit=unit,
            lon=float(self._base.lon[anchor]),
            lat=float(self._base.lat[anchor]),
            source=rule.source,
            status=rule.status,
            message=breach_message(
                level="street", label=st.label, rule=rule, value=value, deviation=dev
            ),
        )

    def assignment_frame(self) -> pd.DataFrame:
        """Return the block → street table, in the form ``--assign`` and ``apply_assignment`` read.

        Columns ``level``, ``code``, ``name``, ``parent_code`` (the street's
        code) and ``street_name``.
        """
        codes = np.array([s.code for s in self._streets], dtype=object)
        names = np.array([s.name for s in self._streets], dtype=object)
        return pd.DataFrame(
            {
                "level": self._base.level,
                "code": self._base.codes,
                "name": self._base.names,
                "parent_code": codes[self._assignment],
                "street_name": names[self._assignment],
            }
        )

    # ---------------------------------------------------------------- geometry

    def _street_geometry(self, k: int) -> shapely.Geometry:
        code = self._streets[k].code
        hit = self._geoms.get(code)
        if hit is None:
            parts = self._base.geometry[self._members(k)]
            if self._base.coverage_valid:
                hit = shapely.coverage_union_all(parts)
            else:
                hit = shapely.union_all(parts)
            self._geoms[code] = hit
        return hit

    def street_geometries(self) -> gpd.GeoDataFrame:
        """Return the streets dissolved from their blocks, in EPSG:4326, for drawing.

        Shapes are cached per street; only streets changed since the last call
        are dissolved again. Empty streets are left out.

        Returns
        -------
        geopandas.GeoDataFrame
            Columns ``code``, ``name``, ``kind``, ``locked``, ``blocks``,
            ``area_km2``, ``population`` and ``geometry``.
        """
        rows = [k for k in range(len(self._streets)) if self._count[k] > 0]
        return gpd.GeoDataFrame(
            {
                "code": [self._streets[k].code for k in rows],
                "name": [self._streets[k].name for k in rows],
                "kind": [self._streets[k].kind for k in rows],
                "locked": [self._streets[k].locked for k in rows],
                "blocks": [int(self._count[k]) for k in rows],
                "area_km2": [float(self._area[k]) / 1e6 for k in rows],
                "population": [float(self._pop[k]) for k in rows],
            },
            geometry=[self._street_geometry(k) for k in rows],
            crs=4326,
        )

    # ---------------------------------------------------------------- comparing, exporting

    def compare(
        self, other: Plan, *, rulebook: Rulebook | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Compare this plan (before) with another on the same district (after).

        Returns
        -------
        (moved, streets) : tuple of pandas.DataFrame
            ``moved``: one row per block whose street differs: ``code``,
            ``name``, ``from``, ``from_name``, ``to``, ``to_name``,
            ``population``, ``households``, ``area_km2``. ``streets``: one row
            per street in either plan: ``code``, ``name``, ``area_km2_before``,
            ``area_km2_after``, ``population_before``, ``population_after``,
            ``status_before``, ``status_after`` (missing where a plan lacks the
            street).

        Raises
        ------
        PlanError
            If the plans are on different districts.
        """
        if other.base.district_key != self._base.district_key:
            raise PlanError.worded(
                N_("Plans {first} and {second} are on different districts and cannot be "
                   "compared. Compare plans made from the same district."),
                first=repr(self.name), second=repr(other.name),
            )
        mine = self.assignment_frame()
        theirs = other.assignment_frame().set_index("code")
        to_code = theirs.loc[mine["code"], "parent_code"].to_numpy()
        to_name = theirs.loc[mine["code"], "street_name"].to_numpy()
        diff = mine["parent_code"].to_numpy() != to_code
        base = self._base
        moved = pd.DataFrame(
            {
                "code": mine["code"].to_numpy()[diff],
                "name": mine["name"].to_numpy()[diff],
                "from": mine["parent_code"].to_numpy()[diff],
                "from_name": mine["street_name"].to_numpy()[diff],
                "to": to_code[diff],
                "to_name": to_name[diff],
                # missing figures stay missing (NaN), never the 0 the totals carry
                "population": np.where(base.population_missing, np.nan, base.population)[diff],
                "households": np.where(base.households_missing, np.nan, base.households)[diff],
                "area_km2": base.area_m2[diff] / 1e6,
            }
        )
        cols = ["code", "name", "area_km2", "population", "status"]
        before = self.street_table(rulebook)[cols]
        after = other.street_table(rulebook)[cols]
        streets = before.merge(after, on="code", how="outer", suffixes=("_before", "_after"))
        streets.insert(1, "name", streets["name_after"].fillna(streets["name_before"]))
        streets = streets.drop(columns=["name_before", "name_after"])
        order = {c: k for k, c in enumerate([*before["code"], *after["code"]])}
        streets = streets.sort_values("code", key=lambda s: s.map(order)).reset_index(drop=True)
        streets = streets[
            [
                "code",
                "name",
                "area_km2_before",
                "area_km2_after",
                "population_before",
                "population_after",
                "status_before",
                "status_after",
            ]
        ]
        return moved, streets

    def to_units(self) -> dict[str, gpd.GeoDataFrame]:
        """Return the district's units with the plan applied, for export.

        Street shapes are the dissolved blocks, street figures the live
        totals (``population_source`` ``children``), and the blocks'
        ``parent_code`` the plan's streets. Empty streets are left out. Grids
        below communities are unchanged.

        Raises
        ------
        PlanError
            If the base was not built from a district.
        """
        district = self._base.district
        if district is None:  # pragma: no cover - bases always come from a district
            raise PlanError.worded(
                N_("This plan's base has no district to export; build it from one."))
        units = {lv: frame.copy() for lv, frame in district.units.items()}
        codes = np.array([s.code for s in self._streets], dtype=object)
        blocks = units[self._base.level]
        blocks["parent_code"] = codes[self._assignment]
        old = district.units["street"]
        old_rows = {str(c): i for i, c in enumerate(old["code"])}
        geoms = self.street_geometries().set_index("code")
        records = []
        for k, st in enumerate(self._streets):
            if self._count[k] == 0:
                logger.info("street %s is empty and left out of the export", st.label)
                continue
            row: dict[str, Any] = {}
            if st.code in old_rows:
                row.update(old.iloc[old_rows[st.code]].to_dict())
            members = self._members(k)
            # a total over a community without a figure is missing, never a partial sum
            pop_known = not self._base.population_missing[members].any()
            hh_known = not self._base.households_missing[members].any()
            row.update(
                {
                    "code": st.code,
                    "name": st.name,
                    "parent_code": row.get("parent_code"),
                    "kind": st.kind,
                    "population": float(self._pop[k]) if pop_known else math.nan,
                    "households": float(self._hh[k]) if hh_known else math.nan,
                    "population_source": "children" if pop_known else "",
                    "households_source": "children" if hh_known else "",
                    "area_km2": float(self._area[k]) / 1e6,
                    "geometry": geoms.loc[st.code, "geometry"],
                }
            )
            records.append(row)
        columns = list(old.columns) + [
            c
            for c in ("kind", "population", "households", "population_source",
                      "households_source", "area_km2")
            if c not in old.columns
        ]  # fmt: skip
        frame = pd.DataFrame.from_records(records, columns=columns)
        units["street"] = gpd.GeoDataFrame(frame, geometry="geometry", crs=4326)
        units["street"].attrs = dict(old.attrs)
        return units


__all__ = ["PlanTables"]
