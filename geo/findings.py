"""Findings: what a check found, where, and by how much.

Checks never return booleans. Each returns :class:`Finding` records naming the
rule, the unit, the value, the band and the deviation, plus a place (a point
in WGS-84) so the app can zoom to it and the CLI can print it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

SEVERITIES = ("error", "warning", "info")
"""``error``: breaks a confirmed rule or the model; ``warning``: breaks an
unconfirmed default or looks wrong; ``info``: worth knowing, nothing broken."""


@dataclass(frozen=True)
class Finding:
    """One thing a check found.

    Parameters
    ----------
    rule : str
        Identifier of the rule or check, such as ``street.area_km2`` or
        ``hierarchy.gap``.
    level : str
        Level of the unit concerned (``street``, ``community``, ``grid``) or
        ``district`` for the whole area.
    message : str
        One paragraph saying what is wrong and how to fix it.
    severity : str
        One of :data:`SEVERITIES`.
    code, name : str or None
        The unit concerned, where there is one.
    value : float or None
        The measured value (area, population, share ...).
    minimum, maximum : float or None
        The band the value should lie in.
    deviation : float or None
        How far outside the band, in the value's unit (negative below, positive above).
    deviation_pct : float or None
        The deviation as a percentage of the bound that was crossed.
    unit : str
        Unit of ``value`` (``km2``, ``residents``, ``m2`` ...).
    lon, lat : float or None
        A point on the problem, for zooming to it.
    area_m2 : float or None
        Size of the problem place (a gap, an overlap), where it has one.
    related : tuple of str
        Codes of other units involved (the other parent, the overlapping unit).
    source : str
        Where the rule comes from.
    status : str
        ``confirmed``, ``partial`` or ``unconfirmed`` for rulebook rules; empty for
        model checks.
    """

    rule: str
    level: str
    message: str
    severity: str = "error"
    code: str | None = None
    name: str | None = None
    value: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    deviation: float | None = None
    deviation_pct: float | None = None
    unit: str = ""
    lon: float | None = None
    lat: float | None = None
    area_m2: float | None = None
    related: tuple[str, ...] = field(default_factory=tuple)
    source: str = ""
    status: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the finding as a JSON-ready dictionary (NaN becomes ``None``)."""
        out = asdict(self)
        out["related"] = list(self.related)
        for key, val in out.items():
            if isinstance(val, float) and not math.isfinite(val):
                out[key] = None
        return out


def findings_to_frame(findings: list[Finding]) -> pd.DataFrame:
    """Return findings as a table, one row each, columns as in :class:`Finding`."""
    cols = list(Finding.__dataclass_fields__)
    if not findings:
        return pd.DataFrame(columns=cols)
    frame = pd.DataFrame([f.to_dict() for f in findings], columns=cols)
    frame["related"] = frame["related"].map(lambda r: ";".join(r) if r else "")
    return frame
