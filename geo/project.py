"""Where the app keeps its work: project files (GeoPackages holding plans and edits).

The folder is ``$WANGGE_HOME`` when set, else ``.wangge/`` beside the code.
The built-in sample's plans live in ``sample.gpkg`` there; an uploaded
district gets a project file named from the hash of its units, so re-uploading
the same data brings back its plans.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import time
import uuid
from pathlib import Path

from geo import settings
from geo.hierarchy import District

logger = logging.getLogger(__name__)


def home() -> Path:
    """Return (and create) the folder holding project files."""
    root = os.environ.get("WANGGE_HOME")
    path = Path(root) if root else Path(__file__).resolve().parent.parent / ".wangge"
    path.mkdir(parents=True, exist_ok=True)
    return path


def district_key(district: District) -> str:
    """Return a short hash of the district's unit codes and shapes (stable across sessions)."""
    h = hashlib.sha256()
    for lv in district.levels:
        units = district.units[lv]
        h.update(lv.encode())
        for code, geom in zip(units["code"], units.geometry, strict=True):
            h.update(str(code).encode())
            h.update(geom.wkb if geom is not None else b"")
    return h.hexdigest()[:16]


def project_path(district: District, *, sample: bool = False) -> Path:
    """Return the project GeoPackage for a district."""
    return home() / ("sample.gpkg" if sample else f"district-{district_key(district)}.gpkg")


def new_upload_dir() -> Path:
    """Return a new, empty folder for one browser session's uploads, inside the project folder.

    Uploads stay with the project's other files (``uploads/`` in :func:`home`),
    never in the system's temporary folder. Folders older than
    :data:`geo.settings.upload_keep_days` are removed first, since a browser
    tab gives no sign when it closes.
    """
    root = home() / "uploads"
    root.mkdir(exist_ok=True)
    cutoff = time.time() - settings.upload_keep_days * 86400
    for old in root.iterdir():
        try:
            if old.is_dir() and old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
                logger.info("removed the old upload folder %s", old.name)
        except OSError:  # another session removed it first
            continue
    path = root / uuid.uuid4().hex
    path.mkdir()
    return path
