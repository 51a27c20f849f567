"""Reading and writing unit layers.

Readers accept GeoJSON, GeoPackage (any layer names), loose or zipped
Shapefiles (UTF-8 or GBK attributes, ``.cpg`` honoured) and CSV with lon/lat
or WKT columns. Every reader returns GeoDataFrames in WGS-84 (EPSG:4326);
a file without a CRS is taken as WGS-84 only when its coordinates fit.

Writers produce GeoJSON per RFC 7946 (WGS-84, right-hand rule), GeoPackage,
zipped Shapefile with a ``.cpg`` and UTF-8 attributes, and the CSV
assignment table (unit → parent, a plan's portable form). Every writer is
atomic: it writes beside the target and renames, so a crash never leaves a
half-written export.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import pyogrio.errors
import shapely

from geo import LEVELS, settings
from geo._atomic import atomic_path, write_error
from geo.crs import check_lonlat, to_wgs84_geometries
from geo.errors import (
    ColumnError,
    CRSError,
    EmptyInputError,
    GeometryTypeError,
    InputError,
    NotGeodataError,
    UnsafeArchiveError,
)
from geo.findings import Phrase, Word
from geo.i18n import N_

logger = logging.getLogger(__name__)

GEO_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".zip", ".csv")
"""File endings looked at when a folder is given."""

COORD_SYSTEMS = ("wgs84", "gcj02", "bd09")
"""Coordinate systems an input may be in: WGS-84 (GPS, OSM), GCJ-02 (Amap,
Tencent) and BD-09 (Baidu)."""

EXPORT_FORMATS = ("geojson", "gpkg", "shp", "csv")

LAYER_FILE_NAMES = {"street": "streets", "community": "communities", "grid": "grids"}
"""Layer and file names used when writing each level."""

SHAPEFILE_FIELDS = {
    "parent_code": "parent",
    "population_source": "pop_src",
    "households_source": "hh_src",
}
"""Short field names for Shapefile export (dBASE allows 10 characters)."""

GEOMETRY_TYPES: dict[str, str] = {
    "Point": Word(N_("Point")),
    "MultiPoint": Word(N_("MultiPoint")),
    "LineString": Word(N_("LineString")),
    "MultiLineString": Word(N_("MultiLineString")),
    "LinearRing": Word(N_("LinearRing")),
    "GeometryCollection": Word(N_("GeometryCollection")),
    "None": Word(N_("None")),
}
"""Geometry kinds named when a layer holds other shapes than polygons, as interface words."""

_LON_NAMES = ("lon", "lng", "long", "longitude", "x", "经度")
_LAT_NAMES = ("lat", "latitude", "y", "纬度")
_WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "shape")


@dataclass(frozen=True)
class Layer:
    """One layer read from an input, before it is given a level.

    Parameters
    ----------
    source : str
        Human-readable origin: the file name and, for multi-layer files, the layer.
    name : str
        Layer name (for single-layer files, the file's stem).
    frame : geopandas.GeoDataFrame
        The features in EPSG:4326, attributes as read.
    notes : tuple of str
        What was guessed while reading (an encoding, an assumed CRS).
    """

    source: str
    name: str
    frame: gpd.GeoDataFrame
    notes: tuple[str, ...] = ()


# --------------------------------------------------------------------------- zips


def safe_extract_zip(
    path: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    max_bytes: int | None = None,
    max_ratio: float | None = None,
    max_members: int | None = None,
) -> list[Path]:
    """Extract a zip archive into ``dest`` after checking it is safe.

    Refuses members whose names are absolute or climb out with ``..``,
    symbolic links, archives with too many members, and archives that would
    expand past ``max_bytes`` or whose members compress suspiciously well
    (zip bombs). Nothing is written unless every check passes.

    Parameters
    ----------
    path : path-like
        The archive.
    dest : path-like
        Folder to extract into (created if missing).
    max_bytes, max_ratio, max_members : optional
        Caps; default to :data:`geo.settings.zip_max_uncompressed_bytes`,
        :data:`geo.settings.zip_max_ratio` and :data:`geo.settings.zip_max_members`.

    Returns
    -------
    list of pathlib.Path
        The extracted files.

    Raises
    ------
    UnsafeArchiveError
        If any check fails; the message names the member and the cap.
    NotGeodataError
        If the file is not a zip archive.
    """
    max_bytes = settings.zip_max_uncompressed_bytes if max_bytes is None else max_bytes
    max_ratio = settings.zip_max_ratio if max_ratio is None else max_ratio
    max_members = settings.zip_max_members if max_members is None else max_members
    name = Path(path).name
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise NotGeodataError.worded(
            N_("{file} is not a readable zip archive ({reason}). Re-create the archive, or "
               "pass the Shapefile's .shp/.dbf/.shx/.prj files directly."),
            file=name, reason=str(exc),
        ) from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > max_members:
            raise UnsafeArchiveError.worded(
                N_("{file} holds {n:,} entries, more than the limit of {limit:,}. Unpack it "
                   "yourself and pass the folder, or raise geo.settings.zip_max_members."),
                file=name, n=len(infos), limit=max_members,
            )
        total = 0
        for info in infos:
            member = PurePosixPath(info.filename.replace("\\", "/"))
            if member.is_absolute() or ".." in member.parts or re.match(r"^[A-Za-z]:", str(member)):
                raise UnsafeArchiveError.worded(
                    N_("{file} contains the entry {entry!r}, which points outside the "
                       "archive. The archive was not unpacked; re-create it with relative "
                       "paths only."),
                    file=name, entry=info.filename,
                )
            mode = (info.external_attr >> 16) & 0o170000
            if mode == 0o120000:
                raise UnsafeArchiveError.worded(
                    N_("{file} contains the symbolic link {entry!r}. The archive was not "
                       "unpacked; re-create it without links."),
                    file=name, entry=info.filename,
                )
            total += info.file_size
            ratio = info.file_size / info.compress_size if info.compress_size else 0.0
            if ratio > max_ratio:
                raise UnsafeArchiveError.worded(
                    N_("{file}: entry {entry!r} expands {ratio:,.0f} times ({size:,} bytes), "
                       "past the ratio cap of {cap:,.0f}; this looks like a zip bomb. The "
                       "archive was not unpacked."),
                    file=name, entry=info.filename, ratio=ratio, size=info.file_size,
                    cap=max_ratio,
                )
            if total > max_bytes:
                raise UnsafeArchiveError.worded(
                    N_("{file} would expand to more than {limit:,} bytes, past the size cap. "
                       "The archive was not unpacked; split the data or raise "
                       "geo.settings.zip_max_uncompressed_bytes."),
                    file=name, limit=max_bytes,
                )
        dest_path = Path(dest)
        dest_path.mkdir(parents=True, exist_ok=True)
        out: list[Path] = []
        try:
            for info in infos:
                if info.is_dir():
                    continue
                target = dest_path.joinpath(*PurePosixPath(info.filename.replace("\\", "/")).parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                out.append(target)
                _extract_member(archive, info, target, name=name, max_bytes=max_bytes)
        except BaseException:
            for path in out:  # nothing half-extracted stays behind
                path.unlink(missing_ok=True)
            raise
    return out


def _extract_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, *, name: str, max_bytes: int
) -> None:
    """Copy one member out, counting real bytes: the sizes in a zip's header can lie."""
    written = 0
    try:
        with archive.open(info) as src, open(target, "wb") as dst:
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > info.file_size or written > max_bytes:
                    raise UnsafeArchiveError.worded(
                        N_("{file}: entry {entry!r} expands past the size its header "
                           "declares; the archive is corrupt or hostile and was not used. "
                           "Re-create the archive from the original files."),
                        file=name, entry=info.filename,
                    )
                dst.write(chunk)
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError) as exc:
        # A header that lies about sizes shows up as a bad CRC or a stream that ends early;
        # encrypted or unknown compression methods raise RuntimeError/NotImplementedError.
        raise UnsafeArchiveError.worded(
            N_("{file}: entry {entry!r} does not match what the archive's header says "
               "({reason}); the archive is corrupt, encrypted or hostile and was not used. "
               "Re-create the archive from the original files (without a password)."),
            file=name, entry=info.filename, reason=str(exc),
        ) from exc


# ----------------------------------------------------------------------- encodings


def shapefile_encoding(shp: str | os.PathLike[str]) -> tuple[str | None, str | None]:
    """Return ``(encoding, note)`` for a Shapefile's attributes.

    A ``.cpg`` file is honoured. Without one, the ``.dbf`` records are tried
    as UTF-8 and then GBK (the usual encoding of Chinese GIS exports); the
    note says what was guessed so the user can add a ``.cpg`` to be explicit.
    """
    shp = Path(shp)
    for cpg in (shp.with_suffix(".cpg"), shp.with_suffix(".CPG")):
        if cpg.exists():
            value = cpg.read_text(errors="replace").strip()
            return (value or None), None
    dbf = next((p for p in (shp.with_suffix(".dbf"), shp.with_suffix(".DBF")) if p.exists()), None)
    if dbf is None:
        return None, None
    raw = dbf.read_bytes()
    if len(raw) < 32:
        return None, None
    header_len = int.from_bytes(raw[8:10], "little")
    records = raw[header_len:]
    if not any(b > 0x7F for b in records):
        return None, None
    try:
        records.decode("utf-8")
        return "UTF-8", None
    except UnicodeDecodeError:
        pass
    try:
        records.decode("gb18030")
    except UnicodeDecodeError:
        return None, (
            f"{shp.name}: attribute text is neither UTF-8 nor GBK; add a .cpg file naming "
            "its encoding."
        )
    return "GBK", (
        f"{shp.name} has no .cpg file; its attributes were read as GBK. If names look "
        "wrong, add a .cpg file containing the right encoding (e.g. UTF-8 or GBK)."
    )


def _sidecar(shp: Path, suffix: str) -> Path | None:
    for candidate in (shp.with_suffix(suffix.lower()), shp.with_suffix(suffix.upper())):
        if candidate.exists():
            return candidate
    return None


def shapefile_record_counts(shp: str | os.PathLike[str]) -> dict[str, int]:
    """Count the records in a Shapefile's ``.shp``, ``.shx`` and ``.dbf`` from their bytes.

    The ``.shp`` is walked record by record (its header's length cannot be
    trusted alone); the ``.shx`` holds 8 bytes per record after its 100-byte
    header; the ``.dbf`` count is the smaller of its header's and of the
    records its size can hold. Parts that are missing are left out.
    """
    shp = Path(shp)
    counts: dict[str, int] = {}
    raw = shp.read_bytes()
    n, pos = 0, 100
    while pos + 8 <= len(raw):
        length_words = int.from_bytes(raw[pos + 4 : pos + 8], "big")
        pos += 8 + 2 * length_words
        if pos > len(raw):
            break  # a record cut short does not count
        n += 1
    counts[".shp"] = n
    shx = _sidecar(shp, ".shx")
    if shx is not None:
        counts[".shx"] = max(0, (shx.stat().st_size - 100) // 8)
    dbf = _sidecar(shp, ".dbf")
    if dbf is not None:
        with open(dbf, "rb") as fh:
            head = fh.read(12)
        if len(head) == 12:
            declared = int.from_bytes(head[4:8], "little")
            header_len = int.from_bytes(head[8:10], "little")
            record_len = int.from_bytes(head[10:12], "little") or 1
            held = max(0, (dbf.stat().st_size - header_len) // record_len)
            counts[".dbf"] = min(declared, held)
        else:
            counts[".dbf"] = 0
    return counts


def _check_shapefile_parts(shp: Path, label: str) -> None:
    """Refuse a Shapefile whose parts disagree on how many units it holds (no silent drops)."""
    counts = shapefile_record_counts(shp)
    shapes = counts[".shp"]
    short = {k: v for k, v in counts.items() if k != ".shp" and v != shapes}
    if short:
        parts = ", ".join(f"{shp.stem}{k} {v}" for k, v in short.items())
        raise InputError.worded(
            N_("{source}: the Shapefile's parts disagree on how many units it holds: {file} "
               "has {shapes} shapes but {parts}, so some units would be lost or misnamed. The "
               "parts come from different exports or a copy was cut short: export the layer "
               "again and keep its .shp, .shx and .dbf together."),
            source=label, file=shp.name, shapes=shapes, parts=parts,
        )


def _read_csv_table(path: Path) -> tuple[pd.DataFrame, str]:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return pd.read_csv(path, encoding=enc, dtype=str, keep_default_na=False), enc
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise NotGeodataError.worded(
                N_("{file} could not be read as a CSV table ({reason}). Save it as "
                   "comma-separated text with a header row."),
                file=path.name, reason=str(exc),
            ) from exc
    raise NotGeodataError.worded(
        N_("{file} is neither UTF-8 nor GBK text. Save the CSV as UTF-8."), file=path.name
    )


def read_assignment(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a unit → parent table (CSV, UTF-8 or GBK as Excel saves it) for ``--assign``.

    Raises
    ------
    InputError
        If the file is missing, empty, not text, or lacks the ``code`` and
        ``parent_code`` columns.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError.worded(
            N_("Assignment table {path} does not exist. Check the path."), path=str(path)
        )
    if path.stat().st_size == 0:
        raise EmptyInputError.worded(
            N_("Assignment table {file} is empty. Write it with `wangge export --format csv`."),
            file=path.name,
        )
    head = path.read_bytes()[:4096]
    if b"\x00" in head:
        raise NotGeodataError.worded(
            N_("Assignment table {file} is not a text file (it looks binary). Save it from the "
               "spreadsheet as CSV (comma-separated, UTF-8 or GBK)."),
            file=path.name,
        )
    table, _ = _read_csv_table(path)
    table.columns = [str(c).strip().lower() for c in table.columns]
    from geo.district.codes import refuse_mangled

    for col in ("code", "parent_code"):
        if col in table.columns:
            refuse_mangled(table[col], column=col,
                           source=Phrase(N_("Assignment table {file}"), file=path.name))
    missing = {"code", "parent_code"} - set(table.columns)
    if missing:
        cols = ", ".join(table.columns) or Word(N_("none"))
        raise ColumnError.worded(
            N_("Assignment table {file} lacks the column(s) {missing} (its columns: {columns}). "
               "It needs code and parent_code (and level), as written by "
               "`wangge export --format csv`."),
            file=path.name, missing=", ".join(sorted(missing)), columns=cols,
        )
    return table.replace("", None)


def _find_column(columns: Sequence[str], candidates: Sequence[str]) -> str | None:
    lowered = {str(c).strip().lower(): c for c in columns}
    for cand in candidates:
        if cand in lowered:
            return lowered[cand]
    return None


def read_csv_points(path: str | os.PathLike[str]) -> gpd.GeoDataFrame:
    """Read a CSV with lon/lat (or WKT) columns as a GeoDataFrame in EPSG:4326.

    Raises
    ------
    NotGeodataError
        If there is no lon/lat pair or WKT column.
    ColumnError
        If coordinates are not numbers.
    """
    path = Path(path)
    table, _ = _read_csv_table(path)
    if table.empty:
        raise EmptyInputError.worded(
            N_("{file} has a header but no rows. Add the units' rows."), file=path.name
        )
    lon = _find_column(table.columns, _LON_NAMES)
    lat = _find_column(table.columns, _LAT_NAMES)
    wkt = _find_column(table.columns, _WKT_NAMES)
    if lon is not None and lat is not None:
        xs = pd.to_numeric(table[lon].str.strip(), errors="coerce")
        ys = pd.to_numeric(table[lat].str.strip(), errors="coerce")
        bad = table.index[xs.isna() | ys.isna()]
        if len(bad):
            rows = ", ".join(str(i + 2) for i in bad[:5])
            raise ColumnError.worded(
                N_("{file}: columns {lon!r}/{lat!r} hold text that is not a number on line(s) "
                   "{lines}. Fix those cells (decimal degrees, e.g. 120.38)."),
                file=path.name, lon=lon, lat=lat, lines=rows,
            )
        geometry = gpd.points_from_xy(xs, ys)
        frame = table.drop(columns=[lon, lat])
    elif wkt is not None:
        try:
            geometry = gpd.GeoSeries.from_wkt(table[wkt].replace("", None))
        except Exception as exc:  # shapely raises several types for bad WKT
            raise ColumnError.worded(
                N_("{file}: column {column!r} does not hold valid WKT ({reason}). Fix the "
                   "geometry text or use lon/lat columns."),
                file=path.name, column=wkt, reason=str(exc),
            ) from exc
        frame = table.drop(columns=[wkt])
    else:
        raise NotGeodataError.worded(
            N_("{file} is a CSV without coordinates: it needs lon/lat columns (named one of "
               "{lon_names} and {lat_names}) or a WKT column. A unit-to-parent table (code, "
               "parent_code) is applied to a district with "
               "`wangge check DISTRICT --assign FILE.csv`."),
            file=path.name, lon_names=", ".join(_LON_NAMES), lat_names=", ".join(_LAT_NAMES),
        )
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=None)


# -------------------------------------------------------------------------- reading


def _gather_files(paths: Sequence[Path], workdir: Path) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            raise InputError.worded(
                N_("{path} does not exist. Check the path and try again."), path=str(path)
            )
        if path.is_dir():
            inner = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in GEO_SUFFIXES and not p.name.startswith(".")
            )
            if not inner:
                raise EmptyInputError.worded(
                    N_("The folder {path} holds no GeoJSON, GeoPackage, Shapefile, zip or CSV "
                       "files. Point at the folder with the district's layers."),
                    path=str(path),
                )
            files.extend(_gather_files(inner, workdir))
        elif path.suffix.lower() == ".zip":
            dest = Path(tempfile.mkdtemp(prefix=path.stem + "-", dir=workdir))
            extracted = safe_extract_zip(path, dest)
            inner = [
                p
                for p in extracted
                if p.suffix.lower() in GEO_SUFFIXES and p.suffix.lower() != ".zip"
            ]
            if not inner:
                raise EmptyInputError.worded(
                    N_("{file} holds no .shp, .geojson, .gpkg or .csv file. Zip the "
                       "Shapefile's parts (.shp, .shx, .dbf, .prj, .cpg) together."),
                    file=path.name,
                )
            files.extend(sorted(inner))
        else:
            files.append(path)
    # A Shapefile's sidecars are not layers of their own.
    return [f for f in files if f.suffix.lower() != ".json" or not f.with_suffix(".shp").exists()]


def _finish_crs(
    frame: gpd.GeoDataFrame, source: str, *, crs: Any, coords: str
) -> tuple[gpd.GeoDataFrame, list[str]]:
    notes: list[str] = []
    if crs is not None:
        try:
            frame = frame.set_crs(crs, allow_override=True)
        except Exception as exc:
            raise CRSError.worded(
                N_("{crs!r} is not a coordinate reference system pyproj knows. Give an EPSG "
                   "code such as EPSG:4549 (CGCS2000 / 3-degree Gauss-Kruger CM 120E)."),
                crs=crs,
            ) from exc
    if frame.crs is None:
        check_lonlat(tuple(frame.total_bounds), source_name=source)
        frame = frame.set_crs(4326)
        notes.append(f"{source} has no CRS; its coordinates fit WGS-84 longitude/latitude.")
    elif not frame.crs.equals(4326):
        try:
            frame = frame.to_crs(4326)
        except Exception as exc:
            raise CRSError.worded(
                N_("{source}: its CRS ({crs}) cannot be converted to WGS-84 ({reason}). "
                   "Re-export it with an EPSG-defined CRS."),
                source=source, crs=frame.crs.name, reason=str(exc),
            ) from exc
    check_lonlat(tuple(frame.total_bounds), source_name=source)
    if coords not in COORD_SYSTEMS:
        raise CRSError.worded(
            N_("coords must be one of {choices}, not {coords!r}."),
            choices=", ".join(COORD_SYSTEMS), coords=coords,
        )
    if coords != "wgs84":
        frame = to_wgs84_geometries(frame, source=coords)
        notes.append(f"{source}: converted from {coords.upper()} to WGS-84.")
    return frame, notes


def _gdal_reason(exc: BaseException) -> str:
    """GDAL's message without its advice about driver prefixes, which does not apply here."""
    text = str(exc).strip() or type(exc).__name__
    text = re.sub(r"\s*It might help to specify the correct driver.*$", "", text, flags=re.S)
    return text.rstrip(" ;.")


def _read_one(path: Path, *, crs: Any, coords: str, label: str | None = None) -> list[Layer]:
    label = label or path.name
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise EmptyInputError.worded(
            N_("{source} is empty (0 bytes). Export the layer again."), source=label
        )
    if suffix == ".csv":
        frame = read_csv_points(path)
        frame, notes = _finish_crs(frame, label, crs=crs, coords=coords)
        return [Layer(label, path.stem, frame, tuple(notes))]
    try:
        layer_names = [str(n) for n, _ in pyogrio.list_layers(path)]
    except Exception as exc:
        raise NotGeodataError.worded(
            N_("{source} could not be read as geodata ({reason}). wangge reads GeoJSON, "
               "GeoPackage, Shapefile (loose or zipped) and CSV with lon/lat columns; check "
               "that the file is one of these and not damaged."),
            source=label, reason=_gdal_reason(exc),
        ) from exc
    layers: list[Layer] = []
    for lname in layer_names:
        notes = []
        kwargs: dict[str, Any] = {}
        if suffix == ".shp":
            _check_shapefile_parts(path, label)
            enc, note = shapefile_encoding(path)
            if enc:
                kwargs["encoding"] = enc
            if note:
                notes.append(note)
        src = label if len(layer_names) == 1 else Phrase(N_("{file}:{layer}"), file=label,
                                                         layer=lname)
        try:
            frame = pyogrio.read_dataframe(path, layer=lname, **kwargs)
        except Exception as exc:
            raise NotGeodataError.worded(
                N_("{source} could not be read as geodata ({reason}). Check the file is "
                   "complete; a Shapefile needs its .shp, .shx and .dbf together."),
                source=src, reason=str(exc).strip(),
            ) from exc
        if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.isna().all():
            if len(layer_names) > 1:
                logger.info("skipping %s: no geometry", src)
                continue
            raise NotGeodataError.worded(
                N_("{source} has no geometry. Unit layers need polygon boundaries."), source=src
            )
        frame, crs_notes = _finish_crs(frame, src, crs=crs, coords=coords)
        notes.extend(crs_notes)
        name = path.stem if len(layer_names) == 1 else lname
        layers.append(Layer(src, name, frame, tuple(notes)))
    return layers


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="wangge-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def read_layers(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    crs: Any = None,
    coords: str = "wgs84",
) -> list[Layer]:
    """Read every layer from files, folders and zip archives.

    Parameters
    ----------
    paths : path-like or sequence of path-like
        Files (GeoJSON, GeoPackage, Shapefile, zip, CSV) or folders of them.
    crs : optional
        CRS to assume for inputs that carry none (e.g. ``"EPSG:4549"``);
        overrides a file's own CRS.
    coords : {"wgs84", "gcj02", "bd09"}
        The coordinate system of the lon/lat values: GCJ-02 (Amap, Tencent)
        and BD-09 (Baidu) are converted to WGS-84.

    Returns
    -------
    list of Layer
        Each in EPSG:4326, attributes untouched.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    plist = [Path(p) for p in paths]
    if not plist:
        raise InputError.worded(
            N_("No input was given. Pass a GeoPackage, a folder or layer files.")
        )
    with _workdir() as work:
        files = _gather_files(plist, work)
        layers: list[Layer] = []
        for f in files:
            label = f.name if work not in f.parents else Phrase(N_("{file} (in zip)"),
                                                                file=f.name)
            layers.extend(_read_one(f, crs=crs, coords=coords, label=label))
    if not layers:
        raise EmptyInputError.worded(
            N_("No layer with geometry was found in {paths}."),
            paths=", ".join(str(p) for p in plist),
        )
    return layers


def require_polygons(frame: gpd.GeoDataFrame, source: str) -> gpd.GeoDataFrame:
    """Check a layer is non-empty and holds polygons; return it with empty rows named.

    Raises
    ------
    EmptyInputError
        If the layer has no features.
    GeometryTypeError
        If any geometry is not a (multi)polygon.
    """
    if len(frame) == 0:
        raise EmptyInputError.worded(
            N_("{source} has no features. Export the layer again with its units."), source=source
        )
    types = frame.geometry.geom_type.fillna("None")
    counts = types.value_counts()
    bad = counts[~counts.index.isin(["Polygon", "MultiPolygon"])]
    if len(bad):
        kinds = Phrase.joined([
            Phrase(N_("{n} {geometry_type}"), n=int(n),
                   geometry_type=GEOMETRY_TYPES.get(str(t), str(t)))
            for t, n in bad.items()
        ], ", ")
        if set(bad.index) <= {"Point", "MultiPoint"} and len(bad) and bad.sum() == len(frame):
            template = N_(
                "{source} holds {kinds} where polygons are expected. Points cannot carry an "
                "area: load the units' boundaries. If these are facilities or residents, they "
                "belong in the coverage audit."
            )
        elif "None" in bad.index:
            template = N_(
                "{source} holds {kinds} where polygons are expected. Some features have no "
                "geometry: draw their boundaries or remove them."
            )
        else:
            template = N_(
                "{source} holds {kinds} where polygons are expected. Unit boundaries must be "
                "polygons; convert or remove the other shapes."
            )
        raise GeometryTypeError.worded(template, source=source, kinds=kinds)
    return frame


# -------------------------------------------------------------------------- writing


def _export_frame(frame: gpd.GeoDataFrame, *, short_names: bool = False) -> gpd.GeoDataFrame:
    out = frame.copy()
    if out.crs is None or not out.crs.equals(4326):
        out = out.to_crs(4326)
    for col in out.columns:
        if col == "geometry":
            continue
        if out[col].dtype == bool:
            out[col] = out[col].astype("int8")
    if short_names:  # Shapefile (dBASE) field names are limited to 10 characters.
        out = out.rename(
            columns={c: SHAPEFILE_FIELDS.get(c, c[:10]) for c in out.columns if c != "geometry"}
        )
    return out


def _orient(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = frame.copy()
    out.geometry = shapely.orient_polygons(out.geometry.values, exterior_cw=False)
    return out


def write_units(
    units: dict[str, gpd.GeoDataFrame],
    out: str | os.PathLike[str],
    *,
    fmt: str,
    exclusive: bool = False,
) -> list[Path]:
    """Write every level of a district.

    Parameters
    ----------
    units : dict
        ``level -> GeoDataFrame``, as in :attr:`geo.district.model.District.units`.
    out : path-like
        For ``geojson``: a folder receiving ``streets.geojson`` etc. For
        ``gpkg``: the ``.gpkg`` file (one layer per level). For ``shp``: the
        ``.zip`` file (one Shapefile per level, each with a ``.cpg``). For
        ``csv``: the assignment table file.
    fmt : {"geojson", "gpkg", "shp", "csv"}
    exclusive : bool
        Create the file only if nothing has that name yet, and raise
        :class:`FileExistsError` otherwise (``gpkg``, ``shp`` and ``csv``), so
        a project file that others may hold open is never replaced.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    if fmt not in EXPORT_FORMATS:
        raise InputError.worded(
            N_("Unknown format {fmt!r}; choose one of {choices}."),
            fmt=fmt, choices=", ".join(EXPORT_FORMATS),
        )
    present = [lv for lv in LEVELS if lv in units and units[lv] is not None]
    if not present:
        raise EmptyInputError.worded(N_("There is nothing to export: the district has no units."))
    out = _export_target(out)
    try:
        return _write_units(units, present, out, fmt=fmt, exclusive=exclusive)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise write_error(out, f"GDAL reports: {exc}") from exc


def _export_target(out: str | os.PathLike[str]) -> Path:
    """Check the export target names a file or folder (not ``""``, ``.`` or ``..``)."""
    text = os.fspath(out)
    path = Path(text)
    if not text.strip() or path.name in ("", ".", ".."):
        raise InputError.worded(
            N_("The export target {target!r} names no file or folder. Give a new name, e.g. "
               "`--to out` (a folder, for GeoJSON) or `--to plan.gpkg`."),
            target=text,
        )
    return path


_GEOJSON_NAMES = frozenset(f"{name}.geojson" for name in LAYER_FILE_NAMES.values())


def _check_geojson_folder(out: Path) -> None:
    """Refuse a GeoJSON target that is a file or a folder holding anything but an earlier export.

    The export replaces the folder as a whole, so it must not hold files of the user's.
    """
    if out.exists() and not out.is_dir():
        raise InputError.worded(
            N_("{path} is a file, but a GeoJSON export writes a folder (one file per level). "
               "Give a folder name, or choose another format (gpkg, shp, csv) for a single "
               "file."),
            path=str(out),
        )
    if out.is_dir():
        others = sorted(p.name for p in out.iterdir() if p.name not in _GEOJSON_NAMES)
        if others:
            shown = ", ".join(others[:3]) + (" …" if len(others) > 3 else "")
            raise InputError.worded(
                N_("The folder {path} holds other files ({files}). A GeoJSON export replaces "
                   "the whole folder at once, so give a new or empty folder, or one holding "
                   "only an earlier export (streets/communities/grids.geojson)."),
                path=str(out), files=shown,
            )


def _write_units(
    units: dict[str, gpd.GeoDataFrame], present: list[str], out: Path, *, fmt: str, exclusive: bool
) -> list[Path]:
    if fmt == "geojson":
        _check_geojson_folder(out)
        names = [f"{LAYER_FILE_NAMES[lv]}.geojson" for lv in present]
        with atomic_path(out) as tmp:
            tmp.mkdir()
            for lv, name in zip(present, names, strict=True):
                pyogrio.write_dataframe(
                    _orient(_export_frame(units[lv])),
                    tmp / name,
                    driver="GeoJSON",
                    layer_options={"RFC7946": "YES", "WRITE_NAME": "NO"},
                )
        return [out / name for name in names]
    if fmt == "gpkg":
        if out.suffix.lower() != ".gpkg":
            out = out.with_suffix(".gpkg")
        with atomic_path(out, exclusive=exclusive) as tmp:
            for lv in present:
                pyogrio.write_dataframe(
                    _export_frame(units[lv]), tmp, layer=LAYER_FILE_NAMES[lv], driver="GPKG"
                )
        return [out]
    if fmt == "shp":
        if out.suffix.lower() != ".zip":
            out = out.with_suffix(".zip")
        with atomic_path(out, exclusive=exclusive) as tmp:
            work = tmp.parent / "parts"
            work.mkdir()
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for lv in present:
                    shp = work / f"{LAYER_FILE_NAMES[lv]}.shp"
                    pyogrio.write_dataframe(
                        _export_frame(units[lv], short_names=True),
                        shp,
                        driver="ESRI Shapefile",
                        encoding="UTF-8",
                    )
                    cpg = shp.with_suffix(".cpg")
                    if not cpg.exists():
                        cpg.write_text("UTF-8")
                    for part in sorted(work.glob(f"{shp.stem}.*")):
                        zf.write(part, part.name)
        return [out]
    # csv: the assignment table
    if out.suffix.lower() != ".csv":
        out = out.with_suffix(".csv")
    table = assignment_table(units)
    with atomic_path(out, exclusive=exclusive) as tmp:
        # utf-8-sig so spreadsheet programs show Chinese names correctly.
        write_csv(table, tmp)
    return [out]


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``frame`` whose text cannot run as a spreadsheet formula.

    Following OWASP's advice on CSV injection, a text cell starting with
    ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
    single quote, so Excel, WPS and LibreOffice show it as text instead of
    evaluating it. Only text columns are touched: numbers (negative ones
    included), and text that is just a number such as ``-12.5``, are kept.
    """
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col].dtype):
            out[col] = out[col].map(_neutralise, na_action="ignore")
    return out


def write_csv(frame: pd.DataFrame, target: Any, *, encoding: str = "utf-8-sig") -> None:
    """Write ``frame`` (without its index) as CSV that spreadsheets open safely.

    Text cells go through :func:`csv_safe`; the default encoding has a BOM
    (``utf-8-sig``) so spreadsheet programs show Chinese names correctly.
    Lines end in CRLF (RFC 4180), so a line break inside a name is quoted
    and stays inside its cell. ``target`` is a path or a text buffer (the
    encoding then does not apply).
    """
    csv_safe(frame).to_csv(target, index=False, encoding=encoding, lineterminator="\r\n")


def assignment_table(units: dict[str, gpd.GeoDataFrame]) -> pd.DataFrame:
    """Return the unit → parent table of every level: a plan's portable form.

    Columns: ``level``, ``code``, ``name``, ``parent_code``, ``population``,
    ``households``, ``area_km2`` where known.
    """
    rows = []
    for lv in LEVELS:
        frame = units.get(lv)
        if frame is None:
            continue
        cols = [
            c
            for c in ("code", "name", "parent_code", "population", "households", "area_km2")
            if c in frame.columns
        ]
        part = pd.DataFrame(frame[cols]).copy()
        part.insert(0, "level", lv)
        rows.append(part)
    table = pd.concat(rows, ignore_index=True)
    for col in ("population", "households"):
        if col in table.columns:
            table[col] = table[col].astype("Float64").round(0).astype("Int64")
    if "area_km2" in table.columns:
        table["area_km2"] = table["area_km2"].astype(float).round(4)
    return table


__all__ = [
    "COORD_SYSTEMS",
    "EXPORT_FORMATS",
    "Layer",
    "assignment_table",
    "atomic_path",
    "csv_safe",
    "read_csv_points",
    "read_layers",
    "require_polygons",
    "safe_extract_zip",
    "save_uploads",
    "shapefile_encoding",
    "shapefile_record_counts",
    "write_csv",
    "write_units",
]


def save_uploads(
    files: Sequence[tuple[str, bytes]],
    dest: str | os.PathLike[str],
    *,
    max_total_bytes: int | None = None,
) -> list[Path]:
    """Write uploaded files into ``dest`` under safe names; return their paths.

    Only the final name component is kept (no folders, no ``..``), so an
    upload cannot write outside ``dest``. Two uploads with the same name are
    both kept: the later one gets `` (2)`` before its suffix. A name longer
    than the file system allows is shortened, keeping its suffix. Zip
    archives are unpacked later by :func:`read_layers` with
    :func:`safe_extract_zip`'s checks.

    Parameters
    ----------
    files : sequence of (str, bytes)
        Each upload's name and content.
    dest : path-like
        The folder to write into (created if missing).
    max_total_bytes : int, optional
        Cap on the uploads together; default :data:`geo.settings.upload_max_mb` MB.

    Raises
    ------
    InputError
        If the uploads together exceed the cap or a name is unusable.
    """
    limit = settings.upload_max_mb * 2**20 if max_total_bytes is None else max_total_bytes
    total = sum(len(data) for _, data in files)
    if total > limit:
        raise InputError.worded(
            N_("The uploads total {total_mb:,.1f} MB, more than the limit of {limit_mb:,.0f} "
               "MB. Upload a smaller extract, or use the command line (`wangge check PATH`), "
               "which has no upload limit."),
            total_mb=total / 2**20, limit_mb=limit / 2**20,
        )
    out_dir = Path(dest)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, data in files:
        safe = PurePosixPath(name.replace("\\", "/")).name.strip()
        safe = re.sub(r"[\x00-\x1f]", "", safe)
        if safe in ("", ".", "..") or safe.startswith("."):
            raise InputError.worded(
                N_("The upload name {name!r} cannot be used; rename the file."), name=name
            )
        target = _free_name(out_dir, safe, taken={p.name for p in written})
        try:
            target.write_bytes(data)
        except OSError as exc:  # a full disk, a name the file system refuses
            target.unlink(missing_ok=True)
            raise write_error(target, exc) from exc
        written.append(target)
    return written


_MAX_NAME_BYTES = 200
"""Longest file name written for an upload (file systems allow 255 bytes)."""


def _fit_name(stem: str, suffix: str) -> str:
    while len((stem + suffix).encode("utf-8")) > _MAX_NAME_BYTES and stem:
        stem = stem[:-1]
    return stem + suffix


def _free_name(folder: Path, name: str, *, taken: set[str]) -> Path:
    """Return ``folder/name``, shortened to fit, with `` (2)``, `` (3)``… if already taken."""
    path = PurePosixPath(name)
    suffix = "".join(path.suffixes[-1:])[:16]
    stem = name[: len(name) - len(suffix)] if suffix else name
    candidate = _fit_name(stem, suffix)
    n = 1
    while candidate in taken:
        n += 1
        candidate = _fit_name(stem, f" ({n}){suffix}")
    if candidate != name:
        logger.info("upload %r saved as %r", name, candidate)
    return folder / candidate
