"""The map's JavaScript, CSS, images and fonts, from the npm registry, for offline maps.

folium loads Leaflet and friends from public CDNs, which a planning bureau's
intranet usually cannot reach. This module fetches those files from the npm
registry (whatever registry npm is configured for, so a mirror such as
npmmirror works), checks each package against the sha512 integrity pinned in
:data:`PACKAGES`, unpacks the files a map needs keeping each package's own
layout (so the relative ``url(...)`` references inside the CSS keep working)
and writes ``manifest.json``, which maps every CDN URL folium references to
the local copy. :mod:`geo.maps.view` reads that manifest.

Where the files are (:func:`vendor_dir`), first match wins:

1. ``$WANGGE_VENDOR_DIR``, when set;
2. ``static/vendor/`` of a source checkout, when ``make assets`` filled it
   (the Streamlit app serves that folder);
3. the per-user cache (``platformdirs.user_cache_dir("wangge")/vendor``, e.g.
   ``~/.cache/wangge/vendor`` on Linux), filled from the npm registry on first
   use, so an installed ``wangge`` needs no set-up step.

Run ``python -m geo.maps.assets [FOLDER] [--force]`` to fill a folder by hand
(``make assets`` does this for ``static/vendor/``).

The module needs only the standard library (and ``platformdirs`` for the
per-user cache), so it runs before the project's dependencies are installed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from geo.errors import WanggeError
from geo.i18n import N_

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.json"

CHECKOUT_VENDOR_DIR: Path = Path(__file__).resolve().parents[2] / "static" / "vendor"
"""``static/vendor/`` of a source checkout (``make assets``); the Streamlit app serves it."""

DEFAULT_REGISTRY = "https://registry.npmjs.org/"


@dataclass(frozen=True)
class Package:
    """One npm package: what to fetch, its pinned integrity and the files to keep.

    ``keep`` paths are relative to the package root; a trailing ``/`` keeps a
    whole folder. Licence and README files at the root are kept too.
    """

    name: str
    version: str
    integrity: str
    keep: tuple[str, ...]

    @property
    def folder(self) -> str:
        """Folder under the vendor folder, e.g. ``fontawesome-free@6.2.0``."""
        return f"{self.name.rsplit('/', 1)[-1]}@{self.version}"


PACKAGES: tuple[Package, ...] = (
    Package("leaflet", "1.9.4",
            "sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA==",
            ("dist/leaflet.js", "dist/leaflet.css", "dist/images/")),
    Package("jquery", "3.7.1",
            "sha512-m4avr8yL8kmFN8psrbFFFmB/If14iN5o9nw/NgnnM+kybDJpRsAynV2BsfpTYrTRysYUdADVD7CkUUizgkpLfg==",
            ("dist/jquery.min.js",)),
    Package("bootstrap", "5.2.2",
            "sha512-dEtzMTV71n6Fhmbg4fYJzQsw1N29hJKO1js5ackCgIpDcGid2ETMGC6zwSYw09v05Y+oRdQ9loC54zB1La3hHQ==",
            ("dist/js/bootstrap.bundle.min.js", "dist/css/bootstrap.min.css")),
    Package("@fortawesome/fontawesome-free", "6.2.0",
            "sha512-CNR7qRIfCwWHNN7FnKUniva94edPdyQzil/zCwk3v6k4R6rR2Fr8i4s3PM7n/lyfPA6Zfko9z5WDzFxG9SW1uQ==",
            ("css/all.min.css", "webfonts/")),
    Package("leaflet.awesome-markers", "2.0.5",
            "sha512-Ne/xDjkGyaujwNVVkv2tyXQUV0ZW7gZ0Mo0FuQY4jp2qWrvXi0hwDBvmZyF/8YOvybyMabTMM/mFWCTd1jZIQA==",
            ("dist/leaflet.awesome-markers.js", "dist/leaflet.awesome-markers.css",
             "dist/images/")),
    Package("glyphicons-only-bootstrap", "1.0.1",
            "sha512-A1zP7yDUC/3+GUFbVTaTw9X2xZWNPLMp0BOsAmkLoWmo1KaNpG1qGdPYo8JnzwGueJ2HQAYvlP9S9OcmcObzHA==",
            ("css/bootstrap.min.css", "fonts/")),
    Package("leaflet-draw", "1.0.4",
            "sha512-rsQ6saQO5ST5Aj6XRFylr5zvarWgzWnrg46zQ1MEOEIHsppdC/8hnN8qMoFvACsPvTioAuysya/TVtog15tyAQ==",
            ("dist/leaflet.draw.js", "dist/leaflet.draw.css", "dist/images/")),
    Package("leaflet.fullscreen", "3.0.0",
            "sha512-81wWSUXz1ZtdneR0v5eJDWXUSx+Zo5J50WXWeydG/UcILfIEAgz/iOjZSi3p00Z9MJ/FC/P5i3CgdYuEAos0yQ==",
            ("Control.FullScreen.js", "Control.FullScreen.css", "icon-fullscreen.svg")),
)  # fmt: skip
"""The npm packages the maps need, pinned by version and sha512 integrity."""

_LF = "leaflet@1.9.4/dist"
ASSETS: dict[str, str] = {
    "leaflet.js": f"{_LF}/leaflet.js",
    "leaflet.css": f"{_LF}/leaflet.css",
    "jquery-3.7.1.min.js": "jquery@3.7.1/dist/jquery.min.js",
    "jquery.min.js": "jquery@3.7.1/dist/jquery.min.js",
    "bootstrap.bundle.min.js": "bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js",
    "bootstrap.min.css": "bootstrap@5.2.2/dist/css/bootstrap.min.css",
    "bootstrap-glyphicons.css": "glyphicons-only-bootstrap@1.0.1/css/bootstrap.min.css",
    "all.min.css": "fontawesome-free@6.2.0/css/all.min.css",
    "leaflet.awesome-markers.js": "leaflet.awesome-markers@2.0.5/dist/leaflet.awesome-markers.js",
    "leaflet.awesome-markers.css":
        "leaflet.awesome-markers@2.0.5/dist/leaflet.awesome-markers.css",
    "leaflet.awesome.rotate.min.css": "folium/leaflet.awesome.rotate.min.css",
    "leaflet.draw.js": "leaflet-draw@1.0.4/dist/leaflet.draw.js",
    "leaflet.draw.css": "leaflet-draw@1.0.4/dist/leaflet.draw.css",
    "Control.FullScreen.min.js": "leaflet.fullscreen@3.0.0/Control.FullScreen.js",
    "Control.FullScreen.css": "leaflet.fullscreen@3.0.0/Control.FullScreen.css",
}  # fmt: skip
"""File a map links to (the last part of the address folium writes for Map, GeoJson,
tooltips, popups, LayerControl, plugins.Draw and Fullscreen) → local path under the
vendor folder.

Links are matched by file name, whichever host and version folium names, so a
folium update that moves its links still finds the local copies (and a file it
starts to need that is not here fails loudly, naming it). Some files map to a
close version: leaflet 1.9.x → 1.9.4 (bug-fix releases), awesome-markers 2.0.2 →
2.0.5 and leaflet.draw 1.0.2 → 1.0.4 (the versions on npm), fullscreen's
``.min.js`` → the unminified file (the only one on npm), Bootstrap 3's glyphicons
→ glyphicons-only-bootstrap (the glyphicon rules only, so they cannot clash with
Bootstrap 5). folium's small "rotate" stylesheet is not on npm; it is a list of
generated rules and is generated here."""


def local_path(url: str, assets: dict[str, str] | None = None) -> str | None:
    """Return the vendored path for a link a map writes (matched by file name), or ``None``.

    Examples
    --------
    >>> local_path("https://example.org/npm/leaflet@1.9.3/dist/leaflet.css")
    'leaflet@1.9.4/dist/leaflet.css'
    >>> local_path("https://example.org/unknown.js") is None
    True
    """
    from urllib.parse import urlsplit

    name = PurePosixPath(urlsplit(url.strip()).path).name
    return (ASSETS if assets is None else assets).get(name)


_ROTATE = "folium/leaflet.awesome.rotate.min.css"
_LICENCE_PREFIXES = ("licen", "readme")


def spec_hash() -> str:
    """Return a hash of :data:`PACKAGES` and :data:`ASSETS`; a manifest with another is stale."""
    doc = json.dumps([[p.name, p.version, p.integrity, list(p.keep)] for p in PACKAGES]
                     + [sorted(ASSETS.items())], sort_keys=True)
    return hashlib.sha256(doc.encode()).hexdigest()


def is_complete(folder: Path) -> bool:
    """Return whether ``folder`` holds a current manifest and every file it names."""
    try:
        raw = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (isinstance(raw, dict) and raw.get("spec_sha256") == spec_hash()
            and all((folder / rel).is_file() for rel in ASSETS.values()))


def user_cache_dir() -> Path:
    """Return the per-user cache of map assets (``platformdirs.user_cache_dir``)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("wangge")) / "vendor"


def vendor_dir(*, fetch: bool = True) -> Path:
    """Return the folder holding the map assets, filling the per-user cache if needed.

    Parameters
    ----------
    fetch : bool
        Fill the folder from the npm registry when it is missing or stale.

    Returns
    -------
    pathlib.Path
        ``$WANGGE_VENDOR_DIR``, else a checkout's filled ``static/vendor/``,
        else the per-user cache (see the module docstring).

    Raises
    ------
    geo.errors.WanggeError
        When the assets are missing and cannot be fetched; the message says how
        to get them.
    """
    env = os.environ.get("WANGGE_VENDOR_DIR")
    if env:
        folder = Path(env)
    elif (CHECKOUT_VENDOR_DIR / MANIFEST_NAME).is_file():
        return CHECKOUT_VENDOR_DIR
    else:
        folder = user_cache_dir()
    if fetch and not is_complete(folder):
        fetch_assets(folder)
    return folder


def npm_registry() -> str:
    """Return the npm registry to fetch from.

    ``$npm_config_registry`` when set, else what ``npm config get registry``
    says when npm is installed (so a configured mirror is used), else
    https://registry.npmjs.org/.
    """
    url = os.environ.get("npm_config_registry") or os.environ.get("NPM_CONFIG_REGISTRY") or ""
    if not url and shutil.which("npm"):
        try:
            url = subprocess.run(["npm", "config", "get", "registry"], capture_output=True,
                                 text=True, timeout=30, check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            url = ""
    url = url if url.startswith(("http://", "https://")) else DEFAULT_REGISTRY
    return url.rstrip("/") + "/"


def _tarball_url(registry: str, pkg: Package) -> str:
    return f"{registry}{pkg.name}/-/{pkg.name.rsplit('/', 1)[-1]}-{pkg.version}.tgz"


def _download(url: str, pkg: Package) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=60) as r:  # noqa: S310 - registry URL
            data: bytes = r.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise WanggeError.worded(
            N_("map assets: could not fetch {package} from the npm registry ({url}: {reason}). "
               "Connect to the npm registry, or set npm_config_registry to a mirror you can "
               "reach, or copy a filled vendor folder from another machine and set "
               "WANGGE_VENDOR_DIR to it. Without the assets maps stay blank offline."),
            package=f"{pkg.name}@{pkg.version}", url=url, reason=str(reason),
        ) from None
    digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != pkg.integrity:
        raise WanggeError.worded(
            N_("map assets: {package} from {url} does not match its pinned integrity (got "
               "{digest}); the registry or a proxy altered it. Try another registry "
               "(npm_config_registry)."),
            package=f"{pkg.name}@{pkg.version}", url=url, digest=digest,
        )
    return data


def _unpack(data: bytes, pkg: Package, target: Path) -> None:
    """Write the kept files of a package tarball under ``target`` (a fresh folder)."""
    kept = 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            parts = PurePosixPath(member.name).parts
            if not member.isfile() or len(parts) < 2 or ".." in parts:
                continue
            rel = "/".join(parts[1:])  # drop the tarball's top folder ("package")
            wanted = any(rel == k or (k.endswith("/") and rel.startswith(k)) for k in pkg.keep)
            root_doc = len(parts) == 2 and rel.lower().startswith(_LICENCE_PREFIXES)
            if not (wanted or root_doc):
                continue
            src = tar.extractfile(member)
            if src is None:
                continue
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(src.read())
            kept += wanted
    missing = [k for k in pkg.keep if not (target / k).exists()]
    if missing or not kept:
        raise WanggeError.worded(N_("map assets: {package} has no {files}"),
                                 package=f"{pkg.name}@{pkg.version}", files=", ".join(missing))


def _rotate_css() -> str:
    return "".join(
        f".fa-rotate-{d}{{-ms-transform:rotate({d}deg);-webkit-transform:rotate({d}deg);"
        f"transform:rotate({d}deg)}}\n"
        for d in range(360)
    )


def fetch_assets(folder: Path, *, force: bool = False, registry: str | None = None) -> Path:
    """Fill ``folder`` with the map assets from the npm registry and write its manifest.

    Packages already unpacked with their pinned integrity are kept unless
    ``force``. Every file is written under a temporary name and moved into
    place, so a reader never sees half a package.

    Parameters
    ----------
    folder : pathlib.Path
        Folder to fill; created if needed.
    force : bool
        Fetch and unpack every package again.
    registry : str, optional
        npm registry URL; default :func:`npm_registry`.

    Returns
    -------
    pathlib.Path
        ``folder``.

    Raises
    ------
    geo.errors.WanggeError
        When a package cannot be fetched or does not match its integrity.
    """
    folder = Path(folder)
    if not force and is_complete(folder):
        (folder / MANIFEST_NAME).touch()  # up to date: newer than geo/maps/assets.py for make
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    reg = registry or npm_registry()
    for pkg in PACKAGES:
        target = folder / pkg.folder
        stamp = target / ".integrity"
        if not force and stamp.is_file() and stamp.read_text() == pkg.integrity:
            continue
        url = _tarball_url(reg, pkg)
        logger.info("fetching %s@%s from %s", pkg.name, pkg.version, url)
        data = _download(url, pkg)
        stage = Path(tempfile.mkdtemp(prefix=f".{pkg.folder}.", dir=folder))
        try:
            _unpack(data, pkg, stage)
            (stage / ".integrity").write_text(pkg.integrity)
            shutil.rmtree(target, ignore_errors=True)
            stage.rename(target)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    rotate = folder / _ROTATE
    rotate.parent.mkdir(parents=True, exist_ok=True)
    _replace_text(rotate, _rotate_css())
    missing = [url for url, rel in ASSETS.items() if not (folder / rel).is_file()]
    if missing:
        raise WanggeError.worded(N_("map assets: no local file for {urls}"),
                                 urls=", ".join(missing))
    manifest = {
        "generated_by": "geo.maps.assets",
        "spec_sha256": spec_hash(),
        "packages": {f"{p.name}@{p.version}": {"dir": p.folder, "integrity": p.integrity}
                     for p in PACKAGES},
        "assets": ASSETS,
    }
    _replace_text(folder / MANIFEST_NAME, json.dumps(manifest, indent=2) + "\n")
    logger.info("map assets ready in %s (%d linked files mapped)", folder, len(ASSETS))
    return folder


def _replace_text(path: Path, text: str) -> None:
    from geo._atomic import write_text_atomic

    write_text_atomic(path, text)


def main(argv: list[str] | None = None) -> int:
    """``python -m geo.maps.assets [FOLDER] [--force]``: fill FOLDER (default: :func:`vendor_dir`).

    Returns the exit code.
    """
    import argparse

    ap = argparse.ArgumentParser(
        prog="python -m geo.maps.assets", description=__doc__.splitlines()[0]
    )
    ap.add_argument("folder", nargs="?", type=Path,
                    help="folder to fill (default: where wangge looks, see the module docstring)")
    ap.add_argument("--force", action="store_true", help="fetch and unpack every package again")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="wangge assets: %(message)s")
    try:
        folder = args.folder or vendor_dir(fetch=False)
        fetch_assets(folder, force=args.force)
    except WanggeError as exc:
        print(f"wangge assets: error: {exc}", file=sys.stderr)
        return 1
    print(f"wangge assets: map assets ready in {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
