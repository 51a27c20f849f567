"""Rulebooks (TOML) and evaluating units against them.

A rulebook is data, never constants in code: cities differ and standards
change. Each rule applies a band (``min``/``max``) to one measure of the
units of one level and of some kinds only: by default the urban kind (street
offices, residents' committees, community grids), so towns, townships,
villages and village grids get no urban rule unless a rule names them. Every
rule names its source and how sure we are of it (``status``), and whether the
source makes it binding (``force``: ``mandatory``) or only advisable
(``advisory``, e.g. the paper's "为宜"); the rulebook's ``[severity]`` table
turns a breach of each into an error or a warning, and an unconfirmed figure
never gives more than a warning.

Rulebooks ship inside the package (``geo/rules/rulebooks/*.toml``, read with
:mod:`importlib.resources`) and are chosen by name (:func:`list_presets`);
any other TOML file can be given by path. A rulebook may name a ``base``
preset whose categories, facility types, defaults and severity table it
inherits entry by entry (and its rules, when it gives none of its own).

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
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo import LEVELS, settings
from geo._format import bound as _bound
from geo.district.model import District
from geo.errors import RulebookError
from geo.findings import SEVERITIES, Finding, Named, Phrase, Word, worded
from geo.i18n import N_
from geo.rules.bands import Band, Envelope, band_text, breach_message, envelope

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
    "grid": ("grid", "village_grid"),
}
"""Kinds of unit at each level; the first is the urban kind a rule targets by default."""

_KIND_WORDS = {
    "street": N_("street"),
    "town": N_("town"),
    "township": N_("township"),
    "community": N_("community"),
    "village": N_("village"),
    "grid": N_("grid"),
    "village_grid": N_("village_grid"),
}
"""The kinds as words of the interface, marked for translation."""


def kind_word(kind: str) -> str:
    """Return a unit kind as a :class:`~geo.findings.Word` the app translates (unknown: as is)."""
    return Word(kind) if kind in _KIND_WORDS else kind

STATUSES = ("confirmed", "partial", "unconfirmed")
"""How sure we are of a figure: checked in a published source, partly, or not at all."""

FORCES = ("advisory", "mandatory")
"""Whether a source makes a figure binding (mandatory) or only advisable (advisory, 为宜)."""

DEFAULT_SEVERITY: dict[str, str] = {"advisory": "warning", "mandatory": "error"}
"""Severity of a breach by force, unless the rulebook's ``[severity]`` table says otherwise."""

FORCE_TEXT: dict[str, dict[str, str]] = {
    "advisory": {"en": "advisory", "zh": "建议"},
    "mandatory": {"en": "mandatory", "zh": "强制"},
}
STATUS_TEXT: dict[str, dict[str, str]] = {
    "confirmed": {"en": "confirmed", "zh": "已核实"},
    "partial": {"en": "partly confirmed", "zh": "部分核实"},
    "unconfirmed": {"en": "unconfirmed default", "zh": "未核实的默认值"},
}

PRESET_DIR = "rulebooks"
"""Folder of the ``geo.rules`` package holding the preset rulebooks."""

PRESET_ALIASES: dict[str, str] = {"default": "qingdao-2017"}


def _severity(force: str, status: str, table: Mapping[str, str]) -> str:
    sev = table.get(force, DEFAULT_SEVERITY[force])
    if status == "unconfirmed" and sev == "error":
        return "warning"  # an unconfirmed figure is never "the standard"
    return sev


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
    force: str = "mandatory"
    breach_severity: str = ""
    enabled: bool = True

    @property
    def severity(self) -> str:
        """Severity of a breach: from the rulebook's ``[severity]`` table by :attr:`force`.

        ``warning`` for advisory rules and ``error`` for mandatory ones by
        default; an unconfirmed rule never gives more than a warning.
        """
        return self.breach_severity or _severity(self.force, self.status, DEFAULT_SEVERITY)

    @property
    def note(self) -> str:
        """What a finding's message adds about the band: advisory, unconfirmed, or nothing."""
        parts = []
        if self.force == "advisory":
            parts.append("advisory (建议)")
        if self.status == "unconfirmed":
            parts.append("an unconfirmed default")
        return ("; the band is " + " and ".join(parts)) if parts else ""

    def band_text(self) -> str:
        """Return the band as text, e.g. ``6–8 km²``."""
        return band_text(self.measure, self.min, self.max)


@dataclass(frozen=True)
class Category:
    """One of the six categories of community public affairs, with its responsible body.

    ``note`` says, for a category no facility type measures (basic
    information, property services, resident participation), why it is not
    measured by facilities.
    """

    key: str
    name: str
    name_zh: str = ""
    examples: str = ""
    responsible: str = ""
    source: str = ""
    status: str = "unconfirmed"
    note: str = ""
    note_zh: str = ""


OsmCondition = tuple[str, tuple[str, ...]]
"""``(tag key, accepted values)``; ``"*"`` accepts any value, ``"~text"`` one containing text."""


@dataclass(frozen=True)
class FacilityType:
    """A kind of facility with its walking radius and floor-area norms.

    Each figure carries its own source and status, since some are confirmed
    national norms and others editable local defaults. The ratio
    (``m2_per_100_households``) is a stock ratio per community, counting the
    floor area of this type and of the types in ``ratio_includes``;
    ``benchmark_floor_area_m2`` is an achieved average to compare with, not a
    minimum. ``kinds`` are the
    community kinds whose figures the norms apply to (urban residents'
    committees by default: villages are not held to urban norms).

    OpenStreetMap tags come in ``osm_match``: alternatives, each a tuple of
    conditions that must all hold (:meth:`osm_specificity`). ``osm`` holds
    each alternative's first condition, to pick candidate features from an
    extract before typing them with :func:`osm_type_of`.
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
    ratio_includes: tuple[str, ...] = ()
    benchmark_floor_area_m2: float | None = None
    benchmark_source: str = ""
    benchmark_status: str = ""
    osm: tuple[OsmCondition, ...] = ()
    osm_match: tuple[tuple[OsmCondition, ...], ...] = ()
    kinds: tuple[str, ...] = ("community",)
    force: str = "advisory"
    severity_table: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        """Return ``name (name_zh)``."""
        return f"{self.name} ({self.name_zh})" if self.name_zh else self.name

    def named(self, *, lower: bool = False) -> Named:
        """Return the name (lower case if asked) for a message, with its Chinese form."""
        return Named(self.name.lower() if lower else self.name, zh=self.name_zh)

    def severity(self, figure: str) -> str:
        """Severity of a shortfall on ``figure`` (``radius``, ``floor_area`` or ``ratio``).

        From the rulebook's ``[severity]`` table by :attr:`force`; an
        unconfirmed figure never gives more than a warning.
        """
        status = getattr(self, f"{figure}_status") or "unconfirmed"
        return _severity(self.force, status, dict(self.severity_table))

    def osm_specificity(self, tags: Mapping[str, Any]) -> int:
        """Return how many conditions the best matching OSM alternative has (0: no match)."""
        best = 0
        for alternative in self.osm_match:
            if all(_tag_matches(tags.get(k), vals) for k, vals in alternative):
                best = max(best, len(alternative))
        return best


def _tag_matches(value: Any, accepted: tuple[str, ...]) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    text = str(value)
    for want in accepted:
        if want == "*" or text == want or (want.startswith("~") and want[1:] in text):
            return True
    return False


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
    household_size_status: str = "unconfirmed"
    preset: str = ""
    description: str = ""
    severity_table: tuple[tuple[str, str], ...] = ()
    disabled: tuple[Rule, ...] = ()
    facilities: dict[str, FacilityType] = field(default_factory=dict, compare=False, hash=False)
    categories: dict[str, Category] = field(default_factory=dict, compare=False, hash=False)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def facility(self, key: str) -> FacilityType:
        """Return a facility type, or raise :class:`RulebookError` naming the known ones."""
        try:
            return self.facilities[key]
        except KeyError:
            known = ", ".join(sorted(self.facilities)) or Word(N_("none"))
            raise RulebookError.worded(
                N_(
                    "Facility type {type} is not in the rulebook {rulebook} (known types: "
                    "{known}). Add a {table} table to the rulebook or correct the type."
                ),
                type=repr(key),
                rulebook=_quoted_name(self.name, self.name_zh),
                known=known,
                table=f"[facilities.{key}]",
            ) from None

    def for_level(self, level: str, kind: str | None = None) -> list[Rule]:
        """Return the rules for a level (and kind, when given)."""
        return [r for r in self.rules if r.level == level and (kind is None or kind in r.kinds)]


def _quoted_name(name: str, name_zh: str) -> str:
    """Return a rulebook's name quoted as ``repr`` does, with its Chinese name in Chinese quotes."""
    return Named(repr(name), zh=f"“{name_zh}”") if name_zh else repr(name)


def osm_type_of(tags: Mapping[str, Any], rulebook: Rulebook) -> str | None:
    """Return the facility type an OSM feature's tags make it, or ``None``.

    The type whose matching alternative has the most conditions wins (so a
    "社区卫生服务中心" clinic is a health centre, not a station); ties go to
    the first type in rulebook order.

    Examples
    --------
    >>> rb = load_rulebook("qingdao-2017")
    >>> osm_type_of({"office": "government", "name": "国家发展和改革委员会"}, rb) is None
    True
    """
    best, best_key = 0, None
    for key, ftype in rulebook.facilities.items():
        score = ftype.osm_specificity(tags)
        if score > best:
            best, best_key = score, key
    return best_key


def type_osm_features(features: pd.DataFrame, rulebook: Rulebook) -> pd.Series:
    """Return the facility type of every OSM feature (a row of tag columns), ``None`` if none."""
    return pd.Series(
        [osm_type_of(row, rulebook) for row in features.to_dict(orient="records")],
        index=features.index,
        dtype=object,
    )


# ---------------------------------------------------------------------- presets


@dataclass(frozen=True)
class Preset:
    """A rulebook shipped with the package, chosen by name."""

    name: str
    title: str
    title_zh: str
    description: str


def _preset_files() -> dict[str, Any]:
    folder = resources.files("geo.rules").joinpath(PRESET_DIR)
    return {
        entry.name.removesuffix(".toml"): entry
        for entry in folder.iterdir()
        if entry.name.endswith(".toml")
    }


def preset_names() -> list[str]:
    """Return the names of the rulebooks shipped with the package, sorted."""
    return sorted(_preset_files())


def preset_text(name: str) -> str:
    """Return a preset's TOML text (to copy and edit), or raise :class:`RulebookError`."""
    files = _preset_files()
    key = PRESET_ALIASES.get(name, name)
    if key not in files:
        raise RulebookError.worded(
            N_(
                "There is no preset rulebook named {name}. Presets: {presets} (see {command}); "
                "or give the path of a .toml file."
            ),
            name=repr(name),
            presets=", ".join(sorted(files)),
            command="`wangge rules list`",
        )
    return str(files[key].read_text(encoding="utf-8"))


def list_presets() -> list[Preset]:
    """Return the preset rulebooks with their titles, as ``wangge rules list`` shows them."""
    out = []
    for name in preset_names():
        meta = _parse_toml(preset_text(name), f"{name}.toml").get("rulebook", {})
        out.append(
            Preset(
                name=name,
                title=str(meta.get("name", name)),
                title_zh=str(meta.get("name_zh", "")),
                description=str(meta.get("description", "")),
            )
        )
    return out


def _one_of(value: Any, options: Iterable[str], where: str, key: str) -> Any:
    """Return ``value`` when it is one of ``options``; else say which key of which rule."""
    if value not in options:
        raise RulebookError.worded(
            N_("{where}: {key} must be one of {options}, not {value}."),
            where=where, key=key, options=", ".join(options), value=repr(value))
    return value


def _parse_toml(text: str, label: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulebookError.worded(
            N_(
                "Rulebook {file} is not valid TOML: {reason}. Fix the place named, or start "
                "again from a copy of a preset ({command})."
            ),
            file=label,
            reason=_toml_reason(str(exc)),
            command="`wangge rules show NAME --toml`",
        ) from exc


_TOML_PROBLEMS = (
    N_("Invalid statement"),
    N_("Invalid value"),
    N_("Cannot overwrite a value"),
    N_("Unclosed array"),
    N_("Unclosed inline table"),
    N_("Unterminated string"),
    N_("Invalid date or datetime"),
    N_("Invalid hex value"),
    N_("Invalid initial character for a key part"),
    N_("Unescaped '\\' in a string"),
    N_("Escaped character is not a Unicode scalar value"),
    N_("Expected '=' after a key in a key/value pair"),
    N_("Expected newline or end of document after a statement"),
    N_("Expected ']' at the end of a table declaration"),
    N_("Expected ']]' at the end of an array declaration"),
)
"""What the TOML parser says is wrong, word for word, for the app to translate."""

_TOML_PATTERNS = (
    (re.compile(r"Expected (?P<text>'.*'|\".*\")", re.S), N_("Expected {text}")),
    (
        re.compile(r"Found invalid character (?P<char>.+)", re.S),
        N_("Found invalid character {char}"),
    ),
    (re.compile(r"Illegal character (?P<char>.+)", re.S), N_("Illegal character {char}")),
    (re.compile(r"Cannot declare (?P<key>.+) twice", re.S), N_("Cannot declare {key} twice")),
    (
        re.compile(r"Duplicate inline table key (?P<key>.+)", re.S),
        N_("Duplicate inline table key {key}"),
    ),
    (
        re.compile(r"Cannot mutate immutable namespace (?P<key>.+)", re.S),
        N_("Cannot mutate immutable namespace {key}"),
    ),
    (
        re.compile(r"Cannot redefine namespace (?P<key>.+)", re.S),
        N_("Cannot redefine namespace {key}"),
    ),
)
"""What the TOML parser says is wrong with a key or character in it: its pattern, a template."""

_TOML_PLACE = re.compile(
    r"(?P<problem>.*) \(at "
    r"(?:line (?P<line>\d+), column (?P<column>\d+)|(?P<end>end of document))\)",
    re.S,
)


def _toml_reason(message: str) -> str:
    """Return the TOML parser's message as a phrase the app translates (unknown: as it is)."""
    place = _TOML_PLACE.fullmatch(message)
    problem = place["problem"] if place else message
    said: str = Word(problem) if problem in _TOML_PROBLEMS else problem
    for pattern, template in _TOML_PATTERNS:
        if said is problem and (m := pattern.fullmatch(problem)):
            said = Phrase(template, **m.groupdict())
    if place is None:
        return said
    if place["end"]:
        return Phrase(N_("{problem} (at end of document)"), problem=said)
    return Phrase(
        N_("{problem} (at line {line}, column {column})"),
        problem=said,
        line=int(place["line"]),
        column=int(place["column"]),
    )


def _is_preset_name(text: str) -> bool:
    return bool(text) and "/" not in text and "\\" not in text and not text.endswith(".toml")


# ---------------------------------------------------------------------- loading


def load_rulebook(rules: str | os.PathLike[str] | None = None) -> Rulebook:
    """Load and validate a rulebook by preset name or path.

    Parameters
    ----------
    rules : str or path-like, optional
        A preset name (see :func:`preset_names`, e.g. ``"qingdao-2017"``) or
        the path of a TOML rulebook; default
        :data:`geo.settings.default_rulebook`.

    Returns
    -------
    Rulebook

    Raises
    ------
    RulebookError
        If the file or preset does not exist, is not TOML, or an entry is
        malformed (unknown level, kind or measure, a negative or inverted
        band, a value of the wrong type, no source ...). The message names
        the entry and the fix.
    """
    choice = settings.default_rulebook if rules is None else rules
    path = Path(choice)
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise RulebookError.worded(
                N_(
                    "Rulebook {file} is not UTF-8 text. Save it as UTF-8 (TOML files are always "
                    "UTF-8) or start again from a copy of a preset."
                ),
                file=path.name,
            ) from exc
        data = _parse_toml(text, path.name)
        return rulebook_from_dict(data, path=str(path))
    name = str(choice)
    if _is_preset_name(name) and not path.exists():
        key = PRESET_ALIASES.get(name, name)
        data = _parse_toml(preset_text(key), f"{key}.toml")
        return rulebook_from_dict(data, path=f"{key}.toml", preset=key)
    if path.is_dir():
        raise RulebookError.worded(
            N_("Rulebook {path} is a folder; give a .toml file or a preset name."), path=str(path)
        )
    raise RulebookError.worded(
        N_(
            "Rulebook {path} does not exist. Check the path, give a preset name ({presets}), "
            "or leave {option} out to use the default rulebook."
        ),
        path=str(path),
        presets=", ".join(preset_names()),
        option="--rules",
    )


def _with_base(data: dict[str, Any], label: str, depth: int = 0) -> dict[str, Any]:
    """Merge a rulebook over the preset its ``[rulebook] base`` names (tables key by key)."""
    meta = data.get("rulebook", {})
    base = meta.get("base") if isinstance(meta, dict) else None
    if not base:
        return data
    if not isinstance(base, str):
        raise RulebookError.worded(
            N_("{file}: {key} must be a preset name, e.g. {example}."),
            file=label,
            key="rulebook.base",
            example='base = "qingdao-2017"',
        )
    if depth > 4:
        raise RulebookError.worded(
            N_("{file}: {key} chains more than 4 deep; is there a loop?"),
            file=label,
            key="rulebook.base",
        )
    parent = _with_base(_parse_toml(preset_text(base), f"{base}.toml"), f"{base}.toml", depth + 1)
    merged: dict[str, Any] = dict(parent)
    for key, value in data.items():
        if key in ("categories", "facilities", "defaults", "severity") and isinstance(value, dict):
            inherited = parent.get(key, {})
            merged[key] = {**(inherited if isinstance(inherited, dict) else {}), **value}
        else:
            merged[key] = value
    return merged


def _where(label: str, what: str) -> str:
    """Return where in a rulebook a message is about: ``label, what`` (a table, a rule ...)."""
    return Phrase(N_("{file}, {part}"), file=label, part=what)


def _in_table(label: str, table: str) -> str:
    """Return a top-level table of a rulebook, as ``label: table``, for messages."""
    return Phrase(N_("{file}: {part}"), file=label, part=table)


def _table_hint(table: str, key: str) -> str:
    """Return how a table starts, as ``[table] with key = ...``, for messages."""
    return Phrase(N_("{table} with {key} = ..."), table=table, key=key)


def _table(value: Any, where: str, hint: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RulebookError.worded(
            N_("{where} must be a table ({hint}), not {value}."),
            where=where,
            hint=hint,
            value=repr(value),
        )
    return value


def _num(value: Any, where: str, key: str, *, positive: bool = False) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RulebookError.worded(
            N_("{where}: {key} must be a number (e.g. {key} = 6), not {value}."),
            where=where,
            key=key,
            value=repr(value),
        )
    if not math.isfinite(value):
        raise RulebookError.worded(
            N_(
                "{where}: {key} must be a finite number, not {value}; leave {key} out for no "
                "bound on that side."
            ),
            where=where,
            key=key,
            value=repr(value),
        )
    if value < 0 or (positive and value == 0):
        template = (
            N_(
                "{where}: {key} cannot be zero or negative ({value}); areas, residents, "
                "households, densities, radii and floor areas are positive."
            )
            if positive
            else N_(
                "{where}: {key} cannot be negative ({value}); areas, residents, households, "
                "densities, radii and floor areas are positive."
            )
        )
        raise RulebookError.worded(template, where=where, key=key, value=repr(value))
    return float(value)


def _text(item: Mapping[str, Any], key: str, where: str, default: str = "") -> str:
    value = item.get(key, default)
    if not isinstance(value, str):
        raise RulebookError.worded(
            N_('{where}: {key} must be text in quotes (e.g. {key} = "..."), not {value}.'),
            where=where,
            key=key,
            value=repr(value),
        )
    return value


def _choice(
    item: Mapping[str, Any], key: str, where: str, options: tuple[str, ...], default: str
) -> str:
    value = item.get(key, default)
    if value not in options:
        raise RulebookError.worded(
            N_("{where}: {key} must be one of {options}, not {value}."),
            where=where,
            key=key,
            options=", ".join(options),
            value=repr(value),
        )
    return str(value)


def rulebook_from_dict(data: dict[str, Any], *, path: str = "", preset: str = "") -> Rulebook:
    """Validate a parsed rulebook (see :func:`load_rulebook`)."""
    label = Path(path).name if path else Word(N_("rulebook"))
    if not isinstance(data, dict):
        raise RulebookError.worded(
            N_("{file}: a rulebook must be a TOML document of tables."), file=label
        )
    data = _with_base(data, label)
    meta = _table(
        data.get("rulebook"), _in_table(label, "[rulebook]"), _table_hint("[rulebook]", "name")
    )
    defaults = _table(
        data.get("defaults"),
        _in_table(label, "[defaults]"),
        _table_hint("[defaults]", "household_size"),
    )
    severity_raw = _table(
        data.get("severity"), _in_table(label, "[severity]"), 'advisory = "warning"'
    )
    severity = dict(DEFAULT_SEVERITY)
    for force, sev in severity_raw.items():
        if force not in FORCES or sev not in SEVERITIES:
            raise RulebookError.worded(
                N_("{where}: write {forces} = one of {severities}, not {force} = {value}."),
                where=_where(label, "[severity]"),
                forces=" / ".join(FORCES),
                severities=", ".join(SEVERITIES),
                force=force,
                value=repr(sev),
            )
        severity[force] = sev
    hh = _num(
        defaults.get("household_size", settings.household_size),
        _where(label, "[defaults]"),
        "household_size",
        positive=True,
    )
    rules, disabled = _parse_rules(data.get("rules", []), label, severity)
    categories = _parse_categories(data.get("categories", {}), label)
    facilities = _parse_facilities(data.get("facilities", {}), label, categories, severity)
    return Rulebook(
        facilities=facilities,
        categories=categories,
        name=_text(meta, "name", _where(label, "[rulebook]"), str(label)),
        name_zh=_text(meta, "name_zh", _where(label, "[rulebook]")),
        version=str(meta.get("version", "")),
        description=_text(meta, "description", _where(label, "[rulebook]")),
        rules=tuple(rules),
        disabled=tuple(disabled),
        household_size=hh or settings.household_size,
        household_size_source=_text(
            defaults, "household_size_source", _where(label, "[defaults]")
        ),
        household_size_status=_choice(
            defaults, "household_size_status", _where(label, "[defaults]"), STATUSES, "unconfirmed"
        ),
        severity_table=tuple(sorted(severity.items())),
        path=path,
        preset=preset,
        raw=data,
    )


def _parse_rules(
    raw_rules: Any, label: str, severity: Mapping[str, str]
) -> tuple[list[Rule], list[Rule]]:
    if not isinstance(raw_rules, list):
        raise RulebookError.worded(
            N_("{file}: {key} must be an array of tables, each starting {header}, not {value}."),
            file=label,
            key="rules",
            header="[[rules]]",
            value=repr(raw_rules),
        )
    rules: list[Rule] = []
    disabled: list[Rule] = []
    seen: set[str] = set()
    for n, item in enumerate(raw_rules, start=1):
        if not isinstance(item, dict):
            raise RulebookError.worded(
                N_(
                    "{file}, rule #{n}: each rule must be a table starting {header} with {keys} "
                    "and {key}, not {value}."
                ),
                file=label,
                n=n,
                header="[[rules]]",
                keys="id, level, measure, min/max",
                key="source",
                value=repr(item),
            )
        rid = item.get("id") or f"rule #{n}"
        if not isinstance(rid, str):
            raise RulebookError.worded(
                N_("{file}, rule #{n}: {key} must be text, e.g. {example}."),
                file=label,
                n=n,
                key="id",
                example='id = "street.area_km2"',
            )
        where = _where(
            label,
            Phrase(N_("rule {rule}"), rule=rid)
            if item.get("id")
            else Phrase(N_("rule rule #{n}"), n=n),
        )
        level = _one_of(item.get("level"), LEVELS, where, "level")
        measure = _one_of(item.get("measure"), MEASURES, where, "measure")
        kinds = _kinds(item.get("kinds"), where, level)
        lo, hi = _num(item.get("min"), where, "min"), _num(item.get("max"), where, "max")
        if lo is None and hi is None:
            raise RulebookError.worded(
                N_("{where}: give {key_min}, {key_max} or both."),
                where=where,
                key_min="min",
                key_max="max",
            )
        if lo is not None and hi is not None and lo > hi:
            raise RulebookError.worded(
                N_(
                    "{where}: {key_min} ({low}) is greater than {key_max} ({high}). Check the "
                    "band: {key_min} must not exceed {key_max}."
                ),
                where=where,
                key_min="min",
                key_max="max",
                low=_bound(lo),
                high=_bound(hi),
            )
        source = item.get("source")
        if not source or not isinstance(source, str):
            raise RulebookError.worded(
                N_("{where}: every rule must name its source ({example})."),
                where=where,
                example='source = "..."',
            )
        status = _choice(item, "status", where, STATUSES, "unconfirmed")
        force = _choice(item, "force", where, FORCES, "mandatory")
        enabled = item.get("enabled", True)
        if not isinstance(enabled, bool):
            raise RulebookError.worded(
                N_("{where}: {key} must be {yes} or {no}, not {value}."),
                where=where,
                key="enabled",
                yes="true",
                no="false",
                value=repr(enabled),
            )
        if rid in seen:
            raise RulebookError.worded(
                N_("{where}: the id {rule} is used twice; ids must be unique."),
                where=where,
                rule=rid,
            )
        seen.add(rid)
        rule = Rule(
            id=rid,
            level=level,
            measure=measure,
            min=lo,
            max=hi,
            kinds=kinds,
            title=_text(item, "title", where, rid),
            title_zh=_text(item, "title_zh", where),
            source=source,
            status=status,
            force=force,
            breach_severity=_severity(force, status, severity),
            enabled=enabled,
        )
        (rules if enabled else disabled).append(rule)
    return rules, disabled


def _kinds(raw: Any, where: str, level: str) -> tuple[str, ...]:
    if raw is None:
        return KINDS[level][:1]
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw or not all(isinstance(k, str) for k in raw):
        raise RulebookError.worded(
            N_(
                "{where}: {key} must be a list of kind names, e.g. {example}, not {value}. "
                "Kinds at the {level} level: {kinds}."
            ),
            where=where,
            key="kinds",
            example=f'kinds = ["{KINDS[level][0]}"]',
            value=repr(raw),
            level=Word(level),
            kinds=", ".join(KINDS[level]),
        )
    bad = [k for k in raw if k not in KINDS[level]]
    if bad:
        raise RulebookError.worded(
            N_("{where}: kind(s) {bad} do not exist at the {level} level; use {kinds}."),
            where=where,
            bad=", ".join(bad),
            level=Word(level),
            kinds=", ".join(KINDS[level]),
        )
    return tuple(raw)


def _parse_categories(raw: Any, label: str) -> dict[str, Category]:
    raw = _table(raw, _in_table(label, "categories"), _table_hint("[categories.KEY]", "name"))
    out = {}
    for key, item in raw.items():
        where = _where(label, Phrase(N_("category {key}"), key=key))
        if not isinstance(item, dict) or not item.get("name"):
            raise RulebookError.worded(
                N_("{where}: give it a name ({example})."), where=where, example='name = "..."'
            )
        out[key] = Category(
            key=key,
            name=_text(item, "name", where),
            name_zh=_text(item, "name_zh", where),
            examples=_text(item, "examples", where),
            responsible=_text(item, "responsible", where),
            source=_text(item, "source", where),
            status=_choice(item, "status", where, STATUSES, "unconfirmed"),
            note=_text(item, "note", where),
            note_zh=_text(item, "note_zh", where),
        )
    return out


def _parse_osm(raw: Any, where: str) -> tuple[tuple[OsmCondition, ...], ...]:
    """Parse ``osm``: a list of tables (all tags in a table must match) or one legacy table.

    A legacy table ``{ amenity = ["clinic"], healthcare = ["centre"] }`` is
    read as one alternative per tag.
    """
    hint = Phrase(
        N_(
            "a list of tag tables, e.g. {example} (all tags in one table must match; any table "
            "may)"
        ),
        example='osm = [{ amenity = "police", name = ["~警务室"] }]',
    )
    if raw is None:
        return ()
    if isinstance(raw, dict):
        raw = [{k: v} for k, v in raw.items()]
    if not isinstance(raw, list):
        raise RulebookError.worded(
            N_("{where}: {key} must be {hint}, not {value}."),
            where=where,
            key="osm",
            hint=hint,
            value=repr(raw),
        )
    out = []
    for alt in raw:
        if not isinstance(alt, dict) or not alt:
            raise RulebookError.worded(
                N_("{where}: {key} must be {hint}; {value} is not a tag table."),
                where=where,
                key="osm",
                hint=hint,
                value=repr(alt),
            )
        conds = []
        for key, vals in alt.items():
            vals = [vals] if isinstance(vals, str) else vals
            if not isinstance(vals, list) or not vals or not all(isinstance(v, str) for v in vals):
                raise RulebookError.worded(
                    N_(
                        "{where}: {key} tag {tag} must list text values, e.g. {example}, not "
                        "{value}."
                    ),
                    where=where,
                    key="osm",
                    tag=key,
                    example=f'{key} = ["..."]',
                    value=repr(vals),
                )
            conds.append((str(key), tuple(vals)))
        first_key, first_vals = conds[0]
        if any(v == "*" or v.startswith("~") for v in first_vals):
            raise RulebookError.worded(
                N_(
                    "{where}: the first tag of each {key} table ({tag}) must list exact values "
                    "(it picks features out of an extract); put patterns such as {pattern} or "
                    "{wildcard} on a later tag."
                ),
                where=where,
                key="osm",
                tag=first_key,
                pattern='"~text"',
                wildcard='"*"',
            )
        out.append(tuple(conds))
    return tuple(out)


def _prefilter(alternatives: tuple[tuple[OsmCondition, ...], ...]) -> tuple[OsmCondition, ...]:
    merged: dict[str, list[str]] = {}
    for alt in alternatives:
        key, vals = alt[0]
        merged.setdefault(key, [])
        merged[key].extend(v for v in vals if v not in merged[key])
    return tuple((k, tuple(v)) for k, v in merged.items())


_FIGURES = (
    ("radius", "service_radius_m"),
    ("floor_area", "min_floor_area_m2"),
    ("ratio", "m2_per_100_households"),
    ("benchmark", "benchmark_floor_area_m2"),
)


def _parse_facilities(
    raw: Any, label: str, categories: dict[str, Category], severity: Mapping[str, str]
) -> dict[str, FacilityType]:
    raw = _table(
        raw,
        _in_table(label, "facilities"),
        _table_hint("[facilities.TYPE]", "service_radius_m"),
    )
    out = {}
    for key, item in raw.items():
        where = _where(label, Phrase(N_("facility type {key}"), key=key))
        if not isinstance(item, dict):
            raise RulebookError.worded(
                N_("{where}: must be a table ({table}), not {value}."),
                where=where,
                table=f"[facilities.{key}]",
                value=repr(item),
            )
        radius = _num(item.get("service_radius_m"), where, "service_radius_m", positive=True)
        if radius is None:
            raise RulebookError.worded(
                N_("{where}: {key} must be a positive number of metres."),
                where=where,
                key="service_radius_m",
            )
        cat = item.get("category", "")
        if categories and cat not in categories:
            raise RulebookError.worded(
                N_("{where}: {key} {value} is not one of {options}."),
                where=where,
                key="category",
                value=repr(cat),
                options=", ".join(categories),
            )
        figures = {
            fig: _num(item.get(col), where, col) for fig, col in _FIGURES if fig != "radius"
        }
        kinds = _kinds(item.get("kinds"), where, "community")
        osm_match = _parse_osm(item.get("osm"), where)
        out[key] = FacilityType(
            key=key,
            name=_text(item, "name", where, key),
            name_zh=_text(item, "name_zh", where),
            category=str(cat),
            service_radius_m=float(radius),
            radius_source=_text(item, "radius_source", where),
            radius_status=_choice(item, "radius_status", where, STATUSES, "unconfirmed"),
            min_floor_area_m2=figures["floor_area"],
            floor_area_source=_text(item, "floor_area_source", where),
            floor_area_status=_choice(item, "floor_area_status", where, STATUSES, "unconfirmed"),
            m2_per_100_households=figures["ratio"],
            ratio_source=_text(item, "ratio_source", where),
            ratio_status=_choice(item, "ratio_status", where, STATUSES, "unconfirmed"),
            ratio_includes=_names(item.get("ratio_includes"), where, "ratio_includes"),
            benchmark_floor_area_m2=figures["benchmark"],
            benchmark_source=_text(item, "benchmark_source", where),
            benchmark_status=_choice(item, "benchmark_status", where, STATUSES, "unconfirmed"),
            osm=_prefilter(osm_match),
            osm_match=osm_match,
            kinds=kinds,
            force=_choice(item, "force", where, FORCES, "advisory"),
            severity_table=tuple(sorted(severity.items())),
        )
    for key, ftype in out.items():
        unknown = [k for k in ftype.ratio_includes if k not in out]
        if unknown:
            raise RulebookError.worded(
                N_("{where}: {key} names {unknown}, which is not a facility type here ({known})."),
                where=_where(label, Phrase(N_("facility type {key}"), key=key)),
                key="ratio_includes",
                unknown=", ".join(unknown),
                known=", ".join(out),
            )
    return out


def _names(raw: Any, where: str, key: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(k, str) for k in raw):
        raise RulebookError.worded(
            N_("{where}: {key} must be a list of names, e.g. {example}, not {value}."),
            where=where,
            key=key,
            example=f'{key} = ["..."]',
            value=repr(raw),
        )
    return tuple(raw)


_LEVEL_TEXT = {
    "street": {"en": "street", "zh": "街道"},
    "community": {"en": "community", "zh": "社区"},
    "grid": {"en": "grid", "zh": "网格"},
}
_KIND_TEXT = {
    "street": "街道", "town": "镇", "township": "乡", "community": "居委会",
    "village": "村委会", "grid": "网格", "village_grid": "村网格",
}
_UNIT_ZH = {"km²": "km²", "residents": "人", "households": "户", "residents/km²": "人/km²"}
_LABELS = {
    # table columns
    "section": {"en": "section", "zh": "类别"},
    "id": {"en": "id", "zh": "编号"},
    "title": {"en": "rule", "zh": "规则"},
    "applies_to": {"en": "applies to", "zh": "适用对象"},
    "value": {"en": "value", "zh": "数值"},
    "force": {"en": "force", "zh": "效力"},
    "status": {"en": "status", "zh": "核实状态"},
    "source": {"en": "source", "zh": "来源"},
    # sections
    "rule": {"en": "rule", "zh": "规则"},
    "rule (off)": {"en": "rule (off)", "zh": "规则（未启用）"},
    "default": {"en": "default", "zh": "默认值"},
    "category": {"en": "category", "zh": "公共事务类别"},
    "facility": {"en": "facility", "zh": "设施"},
}
_COLUMNS = ("section", "id", "title", "applies_to", "value", "force", "status", "source")


def _band_text_lang(rule: Rule, lang: str) -> str:
    text = rule.band_text()
    if lang == "zh":
        unit = MEASURES[rule.measure]
        text = text.removesuffix(unit) + _UNIT_ZH.get(unit, unit)
    return text


def rulebook_table(rulebook: Rulebook, *, lang: str = "en") -> pd.DataFrame:
    """Return every rule, default, category and facility figure with its value, source and status.

    One row each, in the chosen language (``"zh"`` or ``"en"``): the table
    ``wangge rules show`` prints and a planner cites from.
    """
    zh = lang == "zh"

    def t(table: Mapping[str, Mapping[str, str]], key: str) -> str:
        entry = table.get(key)
        return (entry.get(lang) or entry["en"]) if entry else key

    rows: list[dict[str, str]] = []
    for rule in (*rulebook.rules, *rulebook.disabled):
        kinds = ", ".join(_KIND_TEXT.get(k, k) if zh else k for k in rule.kinds)
        rows.append({
            "section": "rule" if rule.enabled else "rule (off)",
            "id": rule.id,
            "title": (rule.title_zh or rule.title) if zh else rule.title,
            "applies_to": f"{t(_LEVEL_TEXT, rule.level)} ({kinds})",
            "value": _band_text_lang(rule, lang),
            "force": t(FORCE_TEXT, rule.force),
            "status": t(STATUS_TEXT, rule.status),
            "source": rule.source,
        })
    rows.append({
        "section": "default",
        "id": "household_size",
        "title": "每户人数" if zh else "persons per household",
        "applies_to": "—",
        "value": f"{rulebook.household_size:g}",
        "force": "—",
        "status": t(STATUS_TEXT, rulebook.household_size_status),
        "source": rulebook.household_size_source or "—",
    })
    for cat in rulebook.categories.values():
        rows.append({
            "section": "category",
            "id": cat.key,
            "title": (cat.name_zh or cat.name) if zh else cat.name,
            "applies_to": cat.responsible or "—",
            "value": (cat.note_zh or cat.note) if zh else (cat.note or cat.examples),
            "force": "—",
            "status": t(STATUS_TEXT, cat.status),
            "source": cat.source or "—",
        })
    unit_m = "米" if zh else "m"
    for ft in rulebook.facilities.values():
        figures = (
            ("radius", "服务半径" if zh else "walking radius",
             f"≤ {_bound(ft.service_radius_m)} {unit_m}"),
            ("floor_area", "最小建筑面积" if zh else "minimum floor area",
             None if ft.min_floor_area_m2 is None else f"≥ {_bound(ft.min_floor_area_m2)} m²"),
            ("ratio", "每百户面积" if zh else "floor area per 100 households",
             None if ft.m2_per_100_households is None
             else f"≥ {_bound(ft.m2_per_100_households)} m²"),
            ("benchmark", "参照平均面积" if zh else "benchmark average floor area",
             None if ft.benchmark_floor_area_m2 is None
             else f"{_bound(ft.benchmark_floor_area_m2)} m²"),
        )
        name = (ft.name_zh or ft.name) if zh else ft.name
        kinds = ", ".join(_KIND_TEXT.get(k, k) if zh else k for k in ft.kinds)
        for fig, label, value in figures:
            if value is None:
                continue
            rows.append({
                "section": "facility",
                "id": f"{ft.key}.{fig}",
                "title": f"{name}: {label}",
                "applies_to": f"{t(_LEVEL_TEXT, 'community')} ({kinds})",
                "value": value,
                "force": t(FORCE_TEXT, ft.force) if fig != "benchmark" else "—",
                "status": t(STATUS_TEXT, getattr(ft, f"{fig}_status") or "unconfirmed"),
                "source": getattr(ft, f"{fig}_source") or "—",
            })
    frame = pd.DataFrame(rows, columns=list(_COLUMNS))
    frame["section"] = [t(_LABELS, s) for s in frame["section"]]
    return frame.rename(columns={k: t(_LABELS, k) for k in _COLUMNS})


def missing_provenance(data: Mapping[str, Any]) -> list[str]:
    """Return the entries of a parsed rulebook that lack a ``source`` or a ``status``.

    Every rule, category and facility figure given should say where it comes
    from and how sure we are of it; the shipped presets have none missing.
    """
    missing = []
    for n, item in enumerate(data.get("rules", []), start=1):
        rid = item.get("id", f"#{n}") if isinstance(item, dict) else f"#{n}"
        for key in ("source", "status"):
            if not isinstance(item, dict) or not item.get(key):
                missing.append(f"rule {rid}: {key}")
    for key, item in (data.get("categories") or {}).items():
        for k in ("source", "status"):
            if not item.get(k):
                missing.append(f"category {key}: {k}")
    for key, item in (data.get("facilities") or {}).items():
        for fig, col in _FIGURES:
            if item.get(col) is None:
                continue
            for k in (f"{fig}_source", f"{fig}_status"):
                if not item.get(k):
                    missing.append(f"facility {key}: {k}")
    defaults = data.get("defaults") or {}
    if "household_size" in defaults:
        for k in ("household_size_source", "household_size_status"):
            if not defaults.get(k):
                missing.append(f"defaults: {k}")
    return missing


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
        kinds = units["kind"].to_numpy()
        for rule in rulebook.for_level(level):
            values = measure_values(units, rule.measure).to_numpy(dtype=float)
            band = Band.of(rule)
            # the band test on arrays; only the units that break it are looked at one by one
            breaks = np.isin(kinds, list(rule.kinds)) & np.isin(band.states(values),
                                                                ("below", "above"))
            for pos in np.flatnonzero(breaks):
                value = values[pos]
                dev = band.deviation(value)
                if dev is None:
                    continue
                row = units.iloc[pos]
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
    band = band_text("density_per_km2", env.min_density, env.max_density)
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
        template = (
            N_(
                "{level} {unit} has {density} residents/km²: too sparse for a {kind} over this "
                "area to meet both {area_band} and {pop_band} (possible only at {band}). Trading "
                "communities with its own kind of neighbours will not fix it: it must take in "
                "denser communities from its neighbours (wangge propose searches for such a "
                "plan)."
            )
            if dev[0] < 0
            else N_(
                "{level} {unit} has {density} residents/km²: too dense for a {kind} over this "
                "area to meet both {area_band} and {pop_band} (possible only at {band}). Trading "
                "communities with its own kind of neighbours will not fix it: it must take in "
                "sparser communities from its neighbours (wangge propose searches for such a "
                "plan)."
            )
        )
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
                **worded(
                    template,
                    level=Word(env.level),
                    unit=_unit_label(row),
                    density=_bound(round(float(d))),
                    kind=kind_word(env.kind),
                    area_band=area_band,
                    pop_band=pop_band,
                    band=band,
                ),
            )
        )
    total_area = float(sub["area_km2"].sum(min_count=1) or 0)
    total_pop = float(sub["population"].sum(min_count=1) or 0)
    if total_area > 0 and total_pop > 0:
        d = total_pop / total_area
        dev = density_band.deviation(d)
        if dev is not None:
            template = (
                N_(
                    "Taken together, the {n} {kind} units have {density} residents/km², too "
                    "sparse for every {kind} to meet both {area_band} and {pop_band} (possible "
                    "only at {band}). No plan can make them all fit; decide which band matters "
                    "more here."
                )
                if dev[0] < 0
                else N_(
                    "Taken together, the {n} {kind} units have {density} residents/km², too "
                    "dense for every {kind} to meet both {area_band} and {pop_band} (possible "
                    "only at {band}). No plan can make them all fit; decide which band matters "
                    "more here."
                )
            )
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
                    **worded(
                        template,
                        n=len(sub),
                        kind=kind_word(env.kind),
                        density=_bound(round(d)),
                        area_band=area_band,
                        pop_band=pop_band,
                        band=band,
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
    values = {m: measure_values(units, m).to_numpy(dtype=float) for m in MEASURES}
    kinds = units["kind"].to_numpy()
    statuses = np.full(len(units), "no rule", dtype=object)
    broken_ids: list[list[str]] = [[] for _ in range(len(units))]
    for kind in pd.unique(kinds):
        rules = rulebook.for_level(level, kind)
        at = np.flatnonzero(kinds == kind)
        if not rules or len(at) == 0:
            continue
        outside = np.zeros(len(at), dtype=bool)
        no_data = np.zeros(len(at), dtype=bool)
        for r in rules:  # in the rulebook's order, as the broken ids are listed
            states = Band.of(r).states(values[r.measure][at])
            out = (states == "below") | (states == "above")
            for j in np.flatnonzero(out):
                broken_ids[at[j]].append(r.id)
            outside |= out
            no_data |= states == "no data"
        statuses[at] = np.where(outside, "outside", np.where(no_data, "no data", "ok"))
    broken = [";".join(ids) for ids in broken_ids]
    table["status"] = statuses
    table["broken"] = broken
    table["derived"] = [
        ";".join(w for w, s in (("population", p), ("households", h)) if s and s != "given")
        for p, h in zip(units["population_source"], units["households_source"], strict=True)
    ]
    return table.reset_index(drop=True)
