"""Sorting input layers before their levels are guessed.

Real inputs hold more than one level's units per file, and more than units:

* an OpenStreetMap extract keeps the city, its districts and its street
  offices in one layer, told apart by ``admin_level`` (in China 6 is the
  city district or county, 8 the street office / town, 10 the community or
  village), plus non-administrative areas such as nature reserves;
* a folder written by ``wangge sample`` or ``wangge export`` holds the same
  units twice (a GeoPackage and GeoJSON files) and service layers beside them
  (facilities, buildings).

:func:`sort_layers` splits, drops and de-duplicates such layers and says what
it did in notes; nothing is left out without a note naming it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import geopandas as gpd
import pandas as pd

from geo.errors import LevelError
from geo.findings import Phrase
from geo.i18n import N_
from geo.io import Layer

ADMIN_LEVELS: dict[int, str] = {8: "street", 9: "community", 10: "community"}
"""OpenStreetMap ``admin_level`` → our level in China (8 乡镇/街道, 10 村/社区; 9 is rare)."""

SERVICE_WORDS = (
    "building",
    "buildings",
    "facility",
    "facilities",
    "poi",
    "pois",
    "network",
    "roads",
    "建筑",
    "设施",
    "服务设施",
    "道路",
)
"""Layer names that mark service data for the coverage audit, not unit boundaries."""


def _admin_column(frame: gpd.GeoDataFrame) -> str | None:
    for col in frame.columns:
        if str(col).strip().lower() in ("admin_level", "adminlevel", "admin_lvl"):
            return str(col)
    return None


def _names(frame: gpd.GeoDataFrame, rows: pd.Index, limit: int = 4) -> str:
    for col in ("name:zh", "name", "名称"):
        if col in frame.columns:
            names = [str(n) for n in frame.loc[rows, col].dropna()[:limit]]
            if names:
                more = " …" if len(rows) > limit else ""
                return ", ".join(names) + more
    return Phrase(N_("{n} feature(s)"), n=len(rows))


def split_admin_levels(layer: Layer) -> tuple[list[Layer], list[str]]:
    """Split a layer holding several ``admin_level`` values into one layer per level.

    Returns
    -------
    (layers, notes)
        Street- and community-level parts as their own layers (named
        ``<layer>[street]`` …); coarser levels and non-administrative areas
        are left out, each named in a note.

    Raises
    ------
    LevelError
        If the layer holds admin levels 9 and 10 together (which is the
        community is unclear), naming the levels found.
    """
    frame = layer.frame
    col = _admin_column(frame)
    if col is None:
        return [layer], []
    levels = pd.to_numeric(frame[col], errors="coerce")
    found = sorted({int(v) for v in levels.dropna()})
    if len(found) == 1 and levels.notna().all():
        if found[0] in ADMIN_LEVELS:
            return [layer], []
        if found[0] < 8:
            template = N_(
                "{source} holds {column} {value} only (coarser than street offices: {names}). "
                "Load the street-office ({column} 8) or community (10) boundaries, or give the "
                "level with --level to check these as such anyway."
            )
        else:
            template = N_(
                "{source} holds {column} {value} only (finer than communities: {names}). Load "
                "the street-office ({column} 8) or community (10) boundaries, or give the level "
                "with --level to check these as such anyway."
            )
        raise LevelError.worded(
            template, source=layer.source, column="admin_level", value=found[0],
            names=_names(frame, frame.index),
        )
    notes: list[str] = []
    admin = frame["boundary"] if "boundary" in frame.columns else None
    not_admin = levels.isna()
    if admin is not None:
        not_admin |= admin.notna() & (admin.astype(str) != "administrative")
    if not_admin.any():
        notes.append(
            f"{layer.source}: left out {int(not_admin.sum())} area(s) that are not "
            f"administrative units ({_names(frame, frame.index[not_admin])}); they are not "
            "checked as street offices or communities."
        )
    if {9, 10} <= set(found):
        raise LevelError.worded(
            N_("{source} holds {column} values {values}; both 9 and 10 are present, so which "
               "one holds the communities is unclear. Split the file by {column} and give each "
               "part its level with --layer NAME=LEVEL."),
            source=layer.source, column="admin_level", values=", ".join(map(str, found)),
        )
    out: list[Layer] = []
    for value in found:
        rows = frame.index[(levels == value) & ~not_admin]
        if len(rows) == 0:
            continue
        level = ADMIN_LEVELS.get(value)
        if level is None:
            what = "coarser than street offices" if value < 8 else "finer than communities"
            notes.append(
                f"{layer.source}: left out admin_level {value} ({_names(frame, rows)}): "
                f"{what}."
            )
            continue
        part = frame.loc[rows].reset_index(drop=True)
        out.append(
            Layer(Phrase(N_("{source}[admin_level {value}]"), source=layer.source, value=value),
                  f"{layer.name}[{level}]", part, layer.notes)
        )
        notes.append(
            f"{layer.source}: admin_level {value} ({len(rows)} unit(s)) read as the {level} "
            "level."
        )
    if not out:
        raise LevelError.worded(
            N_("{source} holds {column} values {values} but none is a street office (8) or "
               "community (9/10) level. Load the street-office boundaries, or give the level "
               "with --level."),
            source=layer.source, column="admin_level", values=", ".join(map(str, found)),
        )
    return out, notes


def admin_level_of(layer: Layer) -> str | None:
    """Return the level a layer's single ``admin_level`` value implies, or ``None``."""
    for level in ("street", "community"):  # a part split off by split_admin_levels
        if layer.name.endswith(f"[{level}]"):
            return level
    col = _admin_column(layer.frame)
    if col is None:
        return None
    levels = pd.to_numeric(layer.frame[col], errors="coerce").dropna().unique()
    return ADMIN_LEVELS.get(int(levels[0])) if len(levels) == 1 else None


def _is_service_layer(layer: Layer) -> str | None:
    types = set(layer.frame.geometry.geom_type.dropna())
    if types and types <= {"Point", "MultiPoint", "LineString", "MultiLineString"}:
        return "it holds points or lines, not unit boundaries"
    words = re.split(r"[^0-9a-z\u4e00-\u9fff]+", layer.name.lower())
    if any(w in SERVICE_WORDS for w in words) or any(
        w in layer.name for w in SERVICE_WORDS if not w.isascii()
    ):
        return "its name says it holds service data (buildings, facilities, roads)"
    return None


def _same_units(a: Layer, b: Layer) -> bool:
    fa, fb = a.frame, b.frame
    if len(fa) != len(fb):
        return False
    for col in ("code", "name"):
        if col in fa.columns and col in fb.columns:
            return sorted(map(str, fa[col])) == sorted(map(str, fb[col]))
    return False


def sort_layers(layers: Sequence[Layer]) -> tuple[list[Layer], list[str]]:
    """Split admin levels, leave out service layers, and drop exact copies of a layer.

    Returns
    -------
    (layers to give levels to, notes)
    """
    notes: list[str] = []
    split: list[Layer] = []
    for lay in layers:
        why = _is_service_layer(lay)
        if why and len(layers) > 1:
            notes.append(
                f"{lay.source}: left out, as {why}; use it with `wangge audit` "
                "(--facilities, --buildings)."
            )
            continue
        parts, nts = split_admin_levels(lay)
        split.extend(parts)
        notes.extend(nts)
    kept: list[Layer] = []
    for lay in split:
        twin = next((k for k in kept if _same_units(k, lay)), None)
        if twin is not None:
            notes.append(f"{lay.source}: the same units as {twin.source}; read once.")
            continue
        kept.append(lay)
    return kept, notes
