"""Coverage per street of a plan, summed from coverage per community (no new audit per edit).

Who lives within reach of a facility depends on where residents and
facilities are, not on which street a community belongs to. So a coverage
audit is run once per district, network and facility type, and the editor's
street table sums its per-block figures (residents, residents within reach)
over each street of the current assignment. A street holding a block whose
residents are missing has no share (missing, never a partial sum).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.access.coverage import CoverageResult
from geo.errors import InputError
from geo.findings import Named, Word
from geo.i18n import N_
from geo.plan.base import PlanBase
from geo.plan.model import Plan


def block_reach(result: CoverageResult, facility_type: str, base: PlanBase) -> pd.DataFrame:
    """Return residents and residents within reach of ``facility_type`` per block of ``base``.

    Parameters
    ----------
    result : CoverageResult
        An audit of the plan's district (any plan of it: blocks do not move).
    facility_type : str
        A facility type the audit covered.
    base : PlanBase
        The plan base whose blocks (communities, or grids) the figures are for.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``base.codes``: ``residents`` and ``covered``, NaN where the
        audit has no figure for the block or its residents are missing.

    Raises
    ------
    InputError
        If the audit did not cover ``facility_type`` or has no table for the
        plan's blocks.
    """
    table = result.unit_tables.get(base.level)
    if table is None or table.empty or facility_type not in set(table["type"]):
        ftype = result.rulebook.facilities.get(facility_type)
        raise InputError.worded(
            N_("The coverage audit has no figures for {facility_type} per {noun}; run the audit "
               "with that facility type on this district."),
            facility_type=Named(facility_type, zh=ftype.name_zh if ftype is not None else ""),
            noun=Word(base.noun),
        )
    rows = table[table["type"] == facility_type].set_index("code")
    codes = pd.Index([str(c) for c in base.codes])
    rows.index = rows.index.astype(str)
    out = rows.reindex(codes)[["residents", "covered"]].astype(float)
    out.loc[np.asarray(base.population_missing, dtype=bool), :] = np.nan
    return out


def street_reach(plan: Plan, reach: pd.DataFrame) -> pd.DataFrame:
    """Return per street of ``plan``: residents, residents within reach and their share.

    Parameters
    ----------
    plan : Plan
        The plan whose current assignment groups the blocks.
    reach : pandas.DataFrame
        :func:`block_reach` for the plan's base.

    Returns
    -------
    pandas.DataFrame
        Indexed by street code in the plan's order: ``residents``, ``covered``
        and ``share`` (0–1). All three are NaN for a street holding a block
        without figures, and ``share`` for a street without residents.
    """
    streets = [s.code for s in plan.streets]
    m = len(streets)
    a = np.asarray(plan.assignment)
    residents = reach["residents"].to_numpy(dtype=float)
    covered = reach["covered"].to_numpy(dtype=float)
    missing = np.isnan(residents) | np.isnan(covered)
    res = np.bincount(a, weights=np.where(missing, 0.0, residents), minlength=m)
    cov = np.bincount(a, weights=np.where(missing, 0.0, covered), minlength=m)
    gaps = np.bincount(a, weights=missing.astype(float), minlength=m) > 0
    empty = np.bincount(a, minlength=m) == 0
    res = np.where(gaps | empty, np.nan, res)
    cov = np.where(gaps | empty, np.nan, cov)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(res > 0, cov / res, np.nan)
    return pd.DataFrame({"residents": res, "covered": cov, "share": share},
                        index=pd.Index(streets, name="code"))
