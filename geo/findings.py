"""Findings: what a check found, where, and by how much.

Checks never return booleans. Each returns :class:`Finding` records naming the
rule, the unit, the value, the band and the deviation, plus a place (a point
in WGS-84) so the app can zoom to it and the CLI can print it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import pandas as pd

from geo.i18n import N_

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
    template, args :
        The message as an English template with ``{placeholders}`` and their
        values (see :func:`worded`), so that the app can show it in another
        language; ``message`` is the template filled in. Not exported.
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
    template: str = field(default="", compare=False)
    args: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Return the finding as a JSON-ready dictionary (NaN becomes ``None``)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name in EXPORTED}
        out["related"] = list(self.related)
        for key, val in out.items():
            if isinstance(val, float) and not math.isfinite(val):
                out[key] = None
        return out


def findings_to_frame(findings: list[Finding]) -> pd.DataFrame:
    """Return findings as a table, one row each, columns as in :class:`Finding`."""
    cols = list(EXPORTED)
    if not findings:
        return pd.DataFrame(columns=cols)
    frame = pd.DataFrame([f.to_dict() for f in findings], columns=cols)
    frame["related"] = frame["related"].map(lambda r: ";".join(r) if r else "")
    return frame


SEPARATORS = (N_("; "), N_(", "))
"""Separators of :meth:`Phrase.joined`, for the catalogue."""

EXPORTED = tuple(f for f in Finding.__dataclass_fields__ if f not in ("template", "args"))
"""The fields a finding is exported with (JSON, tables): all but its template and args."""


class Word(str):
    """A placeholder value that is a word of the interface (a level, a side), not data.

    The app translates a :class:`Word` with the message; a name or a code stays as
    it is. Mark the word for extraction where it is written:
    ``Word(N_("too dense"))``; level names (``street``, ``community``, ``grid``)
    are in the catalogue already.
    """

    __slots__ = ()


class Named(str):
    """A name from the data that also has a Chinese form (a facility type's ``name_zh``).

    Reads as the English name; the app shows the Chinese one in Chinese.
    """

    zh: str

    def __new__(cls, name: str, /, zh: str = "") -> Named:
        """Return the name ``name`` with its Chinese form ``zh``."""
        obj = super().__new__(cls, name)
        obj.zh = zh
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (Named, (str(self), self.zh))


class Phrase(str):
    """A placeholder value that is a phrase with figures of its own: a template and its args.

    Reads as its English text; the app translates its template and fills it in.
    Several phrases are joined with :meth:`joined`.

    Examples
    --------
    >>> str(Phrase("{n} streets", n=3))
    '3 streets'
    >>> p = Phrase.joined([Phrase("{n} km²", n=7), Phrase("{n} residents", n=9)])
    >>> str(p), [str(q) for q in p.parts]
    ('7 km²; 9 residents', ['7 km²', '9 residents'])
    """

    template: str
    args: Mapping[str, Any]
    parts: tuple[str, ...]

    def __new__(cls, template: str, /, **args: Any) -> Phrase:
        """Return the phrase ``template`` filled in with ``args``."""
        obj = super().__new__(cls, template.format(**args))
        obj.template, obj.args, obj.parts = template, args, ()
        return obj

    @classmethod
    def joined(cls, parts: Sequence[str], sep: str = "; ") -> Phrase:
        """Return phrases (or words, names) one after another, ``sep`` between them.

        The app translates ``sep`` too: ``"; "`` and ``", "`` are in the catalogue.
        """
        return _phrase(sep.join(parts), "", {"sep": sep}, tuple(parts))

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled as it reads, with its template (findings are cached by pickling)
        return (_phrase, (str(self), self.template, dict(self.args), self.parts))


def _phrase(text: str, template: str, args: Mapping[str, Any], parts: tuple[str, ...]) -> Phrase:
    obj = str.__new__(Phrase, text)
    obj.template, obj.args, obj.parts = template, args, parts
    return obj


def listed(shown: Sequence[str], more: int = 0) -> str:
    """Names joined by commas, then "and ``more`` more" when some are left out.

    A :class:`Phrase` where there is anything to translate (the list's separator, the
    tail), so a message naming some units reads in the app's language.

    Examples
    --------
    >>> str(listed(["a", "b"], 3)), listed(["a"])
    ('a, b and 3 more', 'a')
    """
    text: str = Phrase.joined(list(shown), ", ") if len(shown) > 1 else "".join(shown)
    return Phrase(N_("{names} and {n} more"), names=text, n=more) if more > 0 else text


def worded(template: str, /, **args: Any) -> dict[str, Any]:
    """Return a finding's ``message``, ``template`` and ``args`` from one English template.

    ``template`` is marked with ``N_`` where it is written, so that ``make messages``
    gathers it for translation; ``args`` fill its ``{placeholders}`` (format specs such
    as ``{population:,.0f}`` are kept by the translation). Use it as
    ``Finding(rule=..., level=..., **worded(N_("{n} gaps"), n=3))``.

    Examples
    --------
    >>> f = Finding(rule="hierarchy.gap", level="district",
    ...             **worded("{n} gap(s), {area:,.0f} m²", n=2, area=1234.5))
    >>> f.message
    '2 gap(s), 1,234 m²'
    """
    return {"message": template.format(**args), "template": template, "args": args}
