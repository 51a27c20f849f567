"""Building a district from layers: the steps, in order, from files to a checked :class:`District`.

:func:`build_district` guesses each layer's level and columns (:mod:`.ingest`), reads
figures without turning missing into zero, links units to their parents
(:mod:`.links`), fills in what one level says about another, generates codes where
none are given, and runs the nesting checks (:mod:`.checks`). :func:`read_district`
does the same from files. The model itself is in :mod:`.model`; editing the district
(renumbering, splitting a community) in :mod:`.edit`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops

from geo import LEVELS, settings
from geo.crs import metric_crs_for
from geo.district.checks import check_district
from geo.district.ingest import (
    assign_levels,
    derive_figures,
    derive_missing_levels,
    grid_kinds_from_communities,
    normalise_units,
)
from geo.district.links import apply_assignment, fill_codes, link_parents
from geo.district.model import District
from geo.errors import InputError, LevelError
from geo.findings import Finding, Word
from geo.i18n import N_
from geo.io import Layer, read_layers

logger = logging.getLogger(__name__)

# -------------------------------------------------------------------------- building


def build_district(
    layers: Mapping[str, Layer | gpd.GeoDataFrame],
    *,
    columns: Mapping[str, str] | None = None,
    link: str = "auto",
    repair: bool = False,
    household_size: float | None = None,
    assignment: pd.DataFrame | None = None,
    notes: Sequence[str] = (),
    level_columns: Mapping[str, Mapping[str, str]] | None = None,
    checks: bool = True,
) -> District:
    """Build and check a :class:`District` from one layer per level.

    ``level_columns`` maps a level to its own ``field -> column`` overrides
    (layers from different sources name their columns differently); a level
    without an entry uses ``columns``.

    Parameters
    ----------
    layers : mapping
        ``level -> Layer`` (or GeoDataFrame in any CRS).
    columns : mapping, optional
        ``field -> column`` overrides for every layer.
    link : {"auto", "column", "code", "spatial"}
        How parent links are found; see :func:`link_parents`.
    repair : bool
        Repair invalid polygons instead of only reporting them.
    household_size : float, optional
        Persons per household for derived figures; default
        :data:`geo.settings.household_size`.
    assignment : pandas.DataFrame, optional
        A unit → parent table applied after linking (``--assign``).
    notes : sequence of str
        Notes from reading, carried into the district.

    Returns
    -------
    District
    """
    hh = settings.household_size if household_size is None else household_size
    if not hh or hh <= 0:
        raise InputError.worded(
            N_("household_size must be a positive number, not {value!r}."), value=hh
        )
    all_notes = list(notes)
    findings: list[Finding] = []
    units: dict[str, gpd.GeoDataFrame] = {}
    sources: dict[str, str] = {}
    for lv in LEVELS:
        if lv not in layers:
            continue
        item = layers[lv]
        if isinstance(item, Layer):
            frame, source = item.frame, item.source
            all_notes.extend(item.notes)
        else:
            frame, source = item, lv
        if frame.crs is None:
            raise InputError.worded(
                N_("The {level} layer has no CRS; read it with geo.io.read_layers."),
                level=Word(lv),
            )
        frame = frame.to_crs(4326) if not frame.crs.equals(4326) else frame
        cols = (level_columns or {}).get(lv, columns)
        unit, found, nts = normalise_units(frame, lv, source=source, columns=cols, repair=repair)
        units[lv] = unit
        sources[lv] = source
        findings.extend(found)
        all_notes.extend(nts)
    if not units:
        raise LevelError.worded(N_("No unit layer was given."))
    everything = pd.concat([u.geometry for u in units.values()])
    metric_crs = metric_crs_for(
        gpd.GeoSeries(everything, crs=4326), max_area_error=settings.area_max_distortion
    )
    all_notes.append(f"Areas and distances in {metric_crs.name}.")
    levels = [lv for lv in LEVELS if lv in units]
    taken: set[str] = set()
    units[levels[0]], nts = fill_codes(units[levels[0]], levels[0], taken=taken)
    all_notes.extend(nts)
    for upper, lower in zip(levels, levels[1:], strict=False):
        units[lower], found, nts = link_parents(
            units[lower],
            units[upper],
            child_level=lower,
            parent_level=upper,
            metric_crs=metric_crs,
            link=link,
        )
        findings.extend(found)
        all_notes.extend(nts)
        units[lower], nts = fill_codes(units[lower], lower, taken=taken)
        all_notes.extend(nts)
    if assignment is not None:
        units, nts, found = apply_assignment(units, assignment)
        all_notes.extend(nts)
        findings.extend(found)
    units, nts = derive_missing_levels(units, metric_crs)
    all_notes.extend(nts)
    grid_kinds_from_communities(units)
    units, found = derive_figures(units, household_size=hh)
    findings.extend(found)
    for frame in units.values():
        frame["area_km2"] = frame.to_crs(metric_crs).geometry.area.to_numpy() / 1e6
        invalid = ~shapely.is_valid(frame.geometry.values)
        frame.loc[invalid, "area_km2"] = np.nan
    if checks:
        findings.extend(check_district(units, metric_crs=metric_crs))
    return District(
        units=units,
        metric_crs=metric_crs,
        findings=findings,
        notes=all_notes,
        sources=sources,
        household_size=hh,
    )


def district_from_frames(frames: Mapping[str, gpd.GeoDataFrame], **kwargs: Any) -> District:
    """Build a :class:`District` from ``level -> GeoDataFrame`` (a convenience for Python use)."""
    return build_district(dict(frames), **kwargs)


def read_district(
    paths: str | Any | Sequence[Any],
    *,
    level: str | None = None,
    layer_levels: Mapping[str, str] | None = None,
    columns: Mapping[str, str] | None = None,
    crs: Any = None,
    coords: str = "wgs84",
    link: str = "auto",
    repair: bool = False,
    household_size: float | None = None,
    assignment: pd.DataFrame | None = None,
    checks: bool = True,
) -> District:
    """Read files, folders or archives into a checked :class:`District`.

    Parameters
    ----------
    paths : path-like or sequence of path-like
        A GeoPackage, a folder, or several layer files; a single file is
        fine, its level guessed from codes, name endings or the file name.
    level : str, optional
        The level of a single layer.
    layer_levels : mapping, optional
        ``layer name -> level``.
    columns : mapping, optional
        ``field -> column`` overrides.
    crs, coords :
        See :func:`geo.io.read_layers`.
    link, repair, household_size, assignment, checks :
        See :func:`build_district`.

    Returns
    -------
    District
    """
    layers = read_layers(paths, crs=crs, coords=coords)
    chosen, notes = assign_levels(layers, level=level, layer_levels=layer_levels, columns=columns)
    return build_district(
        chosen,
        columns=columns,
        link=link,
        repair=repair,
        household_size=household_size,
        assignment=assignment,
        notes=notes,
        checks=checks,
    )
