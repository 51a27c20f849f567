"""Figures as people read them: the one place numbers become text.

Three shapes cover every message, table and report:

* :func:`number` — a table cell: thousands separators, fixed decimals, "—" when the
  figure is missing (``None``, NaN, ±∞, not a number). Missing is never shown as 0.
* :func:`bound` — a band bound or a figure quoted in a message: whole thousands for
  large whole numbers (``80,000``), the shortest exact form otherwise (``6.5``).
* :func:`approx` — a measured figure in a message: whole units once it is large
  (``252,433``), a few decimals below that (``6.05``).

And for machines, :func:`plain`: a value JSON accepts, missing as ``null``.
"""

from __future__ import annotations

import math
import sys
from typing import Any

MISSING = "—"
"""What a missing figure reads as, everywhere."""


def number(value: Any, digits: int = 0) -> str:
    """Format a figure for a table: thousands separators, ``digits`` decimals, "—" when missing.

    Parameters
    ----------
    value : Any
        The figure; anything that is not a finite number reads as missing.
    digits : int
        Decimals shown.

    Returns
    -------
    str
    """
    try:
        x = float(value)
    except (TypeError, ValueError):
        return MISSING
    if not math.isfinite(x):
        return MISSING
    return f"{x:,.{digits}f}"


def bound(x: float) -> str:
    """Format a band bound or quoted figure: ``80,000`` for large whole numbers, else ``6.5``."""
    return f"{x:,.0f}" if float(x).is_integer() and abs(x) >= 100 else f"{x:g}"


def approx(x: float, decimals: int = 2, *, large: float = 100, strip: bool = False) -> str:
    """Format a measured figure: whole units from ``large`` up, else ``decimals`` decimals.

    Parameters
    ----------
    x : float
        The figure.
    decimals : int
        Decimals shown below ``large``.
    large : float
        From this magnitude on, the figure is shown in whole units with separators.
    strip : bool
        Drop trailing zeros (``120.3`` rather than ``120.3000``).

    Returns
    -------
    str
    """
    if abs(x) >= large:
        return f"{x:,.0f}"
    text = f"{x:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if strip else text


def article(noun: str) -> str:
    """Return the noun with its English indefinite article (``an audit``, ``a clinic``)."""
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def plain(value: Any) -> Any:
    """Return ``value`` as JSON accepts it: numpy scalars as Python, NaN, ±∞ and NA as ``None``.

    Dicts, lists and tuples are converted item by item.
    """
    if isinstance(value, dict):
        return {k: plain(x) for k, x in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(x) for x in value]
    pd = sys.modules.get("pandas")  # only a loaded pandas can have made pd.NA; --help stays light
    if value is None or (pd is not None and value is pd.NA):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
