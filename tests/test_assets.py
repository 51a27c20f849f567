"""Map assets from the npm registry (geo.maps.assets): fetch, check, find, and say what is wrong."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from geo.errors import WanggeError
from geo.maps import assets


def _tarball(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


@pytest.fixture
def registry(tmp_path: Path, monkeypatch) -> tuple[str, Path]:
    """A registry on disk (file:// URLs) holding one scoped package."""
    data = _tarball({"dist/x.js": b"x()", "dist/img/a.png": b"png", "LICENSE": b"MIT",
                     "src/unused.js": b"no", "../escape": b"no"})
    reg = tmp_path / "registry"
    (reg / "@s" / "x" / "-").mkdir(parents=True)
    (reg / "@s" / "x" / "-" / "x-1.0.0.tgz").write_bytes(data)
    pkg = assets.Package("@s/x", "1.0.0", _integrity(data), ("dist/x.js", "dist/img/"))
    monkeypatch.setattr(assets, "PACKAGES", (pkg,))
    monkeypatch.setattr(assets, "ASSETS", {"x.js": "x@1.0.0/dist/x.js"})
    return reg.as_uri() + "/", reg


def test_fetch_keeps_the_wanted_files_and_writes_the_manifest(registry, tmp_path: Path):
    url, _ = registry
    out = assets.fetch_assets(tmp_path / "vendor", registry=url)
    got = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert got == ["folium/leaflet.awesome.rotate.min.css", "manifest.json", "x@1.0.0/.integrity",
                   "x@1.0.0/LICENSE", "x@1.0.0/dist/img/a.png", "x@1.0.0/dist/x.js"]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["assets"] == {"x.js": "x@1.0.0/dist/x.js"}
    assert assets.is_complete(out)
    assert ".fa-rotate-359{" in (out / "folium/leaflet.awesome.rotate.min.css").read_text()


def test_an_altered_package_is_refused(registry, tmp_path: Path):
    url, reg = registry
    (reg / "@s" / "x" / "-" / "x-1.0.0.tgz").write_bytes(_tarball({"dist/x.js": b"evil()"}))
    with pytest.raises(WanggeError, match="does not match its pinned integrity"):
        assets.fetch_assets(tmp_path / "vendor", registry=url)
    assert not (tmp_path / "vendor" / "manifest.json").exists()


def test_unreachable_registry_says_how_to_get_the_assets(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("WANGGE_VENDOR_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("npm_config_registry", "http://127.0.0.1:9/")
    with pytest.raises(WanggeError, match="could not fetch") as err:
        assets.vendor_dir()
    assert "npm_config_registry" in str(err.value) and "WANGGE_VENDOR_DIR" in str(err.value)


def test_installed_copy_uses_the_per_user_cache(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("WANGGE_VENDOR_DIR", raising=False)
    monkeypatch.setattr(assets, "CHECKOUT_VENDOR_DIR", tmp_path / "no-checkout")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert assets.vendor_dir(fetch=False) == tmp_path / "cache" / "wangge" / "vendor"


def test_project_home_order(tmp_path: Path, monkeypatch):
    from geo.project import home

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("WANGGE_HOME")
    assert home() == tmp_path / "data" / "wangge"
    (tmp_path / ".wangge").mkdir()
    assert home() == tmp_path / ".wangge"
    monkeypatch.setenv("WANGGE_HOME", str(tmp_path / "mine"))
    assert home() == tmp_path / "mine" and (tmp_path / "mine").is_dir()
