"""Where the app keeps its work: project files (GeoPackages holding plans and edits).

The folder is, first match wins:

1. ``$WANGGE_HOME``, when set;
2. ``.wangge/`` in the working folder, when it exists (a planner who keeps one
   folder per city makes it there, and each city keeps its own plans);
3. the per-user data folder (``platformdirs.user_data_dir("wangge")``, e.g.
   ``~/.local/share/wangge`` on Linux), so plans are found again whichever
   folder ``wangge`` is started from, and never inside the installed package.

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
from geo.district.model import District

LOCAL_HOME = ".wangge"
"""Name of a working folder's own project folder (used when it exists)."""

logger = logging.getLogger(__name__)


def home() -> Path:
    """Return (and create) the folder holding project files (see the module docstring)."""
    root = os.environ.get("WANGGE_HOME")
    if root:
        path = Path(root)
    elif (Path.cwd() / LOCAL_HOME).is_dir():
        path = Path.cwd() / LOCAL_HOME
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir("wangge"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def district_fingerprint(district: District) -> str:
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
    return home() / ("sample.gpkg" if sample else f"district-{district_fingerprint(district)}.gpkg")


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
