"""Unit codes: reading them as spreadsheets mangle them, and generating them where a file has none.

Real boundary files often carry names and no codes. Such units get **stable
generated codes** in the statistical-code pattern (统计用区划代码):

* a street office, town or township: ``county(6) + township(3) + "000"``, the
  county digits shared by the district's given street codes (``000000`` when
  there are none) and the township digits the next free ones in its kind's
  range (street 001–099, town 100–199, township 200–399);
* a community or village: its street's first nine digits + the next free
  village digits (community 001–199, village 200–399);
* a grid: its community's code + a two-digit sequence (CJ/T 213's 14-digit
  unit grid code).

Units are numbered in the order of their names, then of their positions
(north to south, west to east), so the same input gets the same codes on
every run, whatever the order of its rows. Generated codes are marked in the
``code_source`` column (``generated``), never passed off as official.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import shapely

from geo.errors import ColumnError
from geo.findings import Phrase
from geo.i18n import N_

_SCIENTIFIC = re.compile(r"^[+-]?\d+(\.\d+)?[eE][+-]?\d+$")
_WHOLE_AS_DECIMAL = re.compile(r"\d+\.0+")
_FRACTION = re.compile(r"\d+\.\d*[1-9]\d*")
_DIGITS = re.compile(r"^\d+$")

TOWNSHIP_RANGES: dict[str, tuple[tuple[int, int], ...]] = {
    "street": ((1, 99),),
    "town": ((100, 199),),
    "township": ((200, 399),),
}
"""Township digits (7th–9th) by kind of street-level unit (统计用区划代码)."""

VILLAGE_RANGES: dict[str, tuple[tuple[int, int], ...]] = {
    "community": ((1, 199),),
    "village": ((200, 399),),
}
"""Village digits (10th–12th) by kind of community-level unit."""

_SPILL = ((400, 999),)
"""Digits used once a kind's own range is full (said in a note)."""


def normalise_code(value: Any) -> str | None:
    """Return a code as text, or ``None`` when it is missing.

    Whole numbers stored as floats (``370202001001.0``, what a column with gaps
    becomes) are read back as their digits.

    Examples
    --------
    >>> normalise_code(370202001001.0)
    '370202001001'
    >>> normalise_code(" 370202001 ")
    '370202001'
    >>> normalise_code(float("nan")) is None
    True
    """
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return None
        if float(value).is_integer():
            return str(int(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    text = str(value).strip()
    if text.isdigit():  # the usual case, first: a city has tens of thousands of codes
        return text
    if text == "" or text.lower() in ("nan", "none", "null"):
        return None
    if _WHOLE_AS_DECIMAL.fullmatch(text):
        text = text.split(".")[0]
    return text


def mangled_codes(values: pd.Series) -> list[int]:
    """Return the positions of codes a spreadsheet has mangled beyond repair.

    Scientific notation (``3.70211e+11``) has lost digits; a code with a
    fractional part (``370202001.5``) is not a code.
    """
    bad = []
    for i, v in enumerate(values.tolist()):
        if v is None:
            continue
        if isinstance(v, float | np.floating):
            if math.isfinite(v) and not float(v).is_integer():
                bad.append(i)
            continue
        text = str(v).strip()
        if text.isdigit():
            continue
        if _SCIENTIFIC.match(text) or _FRACTION.fullmatch(text):
            bad.append(i)
    return bad


def refuse_mangled(values: pd.Series, *, column: str, source: str) -> None:
    """Raise :class:`ColumnError` if codes were turned into scientific notation or fractions."""
    bad = mangled_codes(values)
    if not bad:
        return
    shown = Phrase.joined(
        [Phrase(N_("row {row}: {value}"), row=i + 1, value=repr(values.iloc[i])) for i in bad[:5]],
        ", ",
    )
    more = Phrase(N_(" and {n} more"), n=len(bad) - 5) if len(bad) > 5 else ""
    raise ColumnError.worded(
        N_("{source}: {n} value(s) in the code column {column!r} are not whole codes "
           "({shown}{more}) — a spreadsheet has turned them into numbers in scientific "
           "notation or with decimals, and the digits lost cannot be recovered. Format the "
           "column as text in the spreadsheet, enter the full codes again (e.g. 370202001001), "
           "and export the file again; or map another column with --column code=COLUMN."),
        source=source, n=len(bad), column=column, shown=shown, more=more,
    )


def _allocate(
    prefix: str, width: int, ranges: Iterable[tuple[int, int]], taken: set[str], suffix: str = ""
) -> Iterator[str]:
    for lo, hi in ranges:
        for v in range(lo, hi + 1):
            code = f"{prefix}{v:0{width}d}{suffix}"
            if code not in taken:
                taken.add(code)
                yield code


def stable_order(frame: Any, rows: np.ndarray) -> np.ndarray:
    """Return ``rows`` ordered by name, then north to south and west to east."""
    if len(rows) == 0:
        return rows
    geoms = np.asarray(frame.geometry.values, dtype=object)[rows]
    pts = shapely.point_on_surface(geoms)
    xs = np.round(shapely.get_x(pts), 6)
    ys = np.round(shapely.get_y(pts), 6)
    names = np.array([str(n) if n is not None else "" for n in frame["name"].to_numpy()[rows]])
    order = np.lexsort((xs, -ys, names))
    return rows[order]


def county_prefix(codes: Iterable[str | None]) -> str:
    """Return the county digits (6) most given 12- or 9-digit street codes share, else zeros."""
    heads = [c[:6] for c in codes if c and _DIGITS.match(c) and len(c) in (9, 12)]
    if not heads:
        return "000000"
    return pd.Series(heads).value_counts().index[0]


def generate_street_codes(frame: Any) -> tuple[list[str | None], int]:
    """Return codes for a street level's uncoded units (given codes kept) and how many spilled."""
    codes = list(frame["code"])
    taken = {c for c in codes if c}
    # a given 9-digit township code holds its township digits as much as a 12-digit one
    taken |= {c[:9] + "000" for c in codes if c and _DIGITS.match(c) and len(c) in (9, 12)}
    prefix = county_prefix(codes)
    missing = np.flatnonzero(pd.isna(pd.Series(codes, dtype=object)).to_numpy())
    spilled = 0
    kinds = frame["kind"].to_numpy()
    for kind in ("street", "town", "township"):
        rows = stable_order(frame, missing[kinds[missing] == kind])
        own = _allocate(prefix, 3, TOWNSHIP_RANGES[kind], taken, suffix="000")
        spill = _allocate(prefix, 3, _SPILL, taken, suffix="000")
        for i in rows:
            code = next(own, None)
            if code is None:
                code = next(spill, None)
                spilled += 1
            if code is None:  # past 999 township numbers: the next county block
                prefix = f"{int(prefix) + 1:06d}"
                own = _allocate(prefix, 3, TOWNSHIP_RANGES[kind] + _SPILL, taken, suffix="000")
                code = next(own)
            codes[i] = code
    return codes, spilled


def generate_child_codes(frame: Any, level: str, taken_all: set[str]) -> list[str | None]:
    """Return codes for a community or grid level's uncoded units, under their parents' codes."""
    codes = list(frame["code"])
    taken = set(taken_all) | {c for c in codes if c}
    missing = np.flatnonzero(pd.isna(pd.Series(codes, dtype=object)).to_numpy())
    parents = frame["parent_code"].to_numpy()
    kinds = frame["kind"].to_numpy()
    groups: dict[tuple[str, str], list[int]] = {}
    for i in missing:
        groups.setdefault((str(parents[i] or ""), str(kinds[i])), []).append(int(i))
    for (parent, kind), members in sorted(groups.items()):
        rows = stable_order(frame, np.asarray(members, dtype=np.int64))
        if level == "grid":
            base = parent or "000000000000"
            gen = _allocate(base, 2, ((1, 99),), taken)
            wide = _allocate(base, 3, ((100, 999),), taken)
        elif parent and _DIGITS.match(parent) and len(parent) in (9, 12):
            base = parent[:9]
            gen = _allocate(base, 3, VILLAGE_RANGES.get(kind, VILLAGE_RANGES["community"]), taken)
            wide = _allocate(base, 3, _SPILL, taken)
        else:
            base = f"{parent}-" if parent else "000000000"
            gen = _allocate(base, 3, ((1, 999),), taken)
            wide = _allocate(base, 4, ((1000, 9999),), taken)
        for i in rows:
            codes[i] = next(gen, None) or next(wide)
    return codes
