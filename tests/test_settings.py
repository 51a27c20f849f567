"""Thresholds live in geo.settings and are read when used, so changing one changes behaviour."""

from __future__ import annotations

import geopandas as gpd
import shapely

from geo import settings
from geo.district.ingest import guess_level
from geo.io import Layer
from geo.propose.search import _elongated


def _layer(names: list[str]) -> Layer:
    frame = gpd.GeoDataFrame({"name": names, "geometry": [shapely.box(i, 0, i + 1, 1)
                                                          for i in range(len(names))]}, crs=4326)
    return Layer(source="t.geojson", name="units", frame=frame)


def test_level_guess_needs_the_share_in_settings(monkeypatch):
    layer = _layer(["甲街道", "乙街道", "丙街道", "某地", "别处"])  # 60 % end like streets
    assert guess_level(layer)[0] == "street"
    monkeypatch.setattr(settings, "level_guess_min_share", 0.7)
    assert guess_level(layer) == (None, "")


def test_elongated_follows_the_ratio_in_settings(monkeypatch):
    assert _elongated(0.5, 0.34) and not _elongated(0.5, 0.36)
    assert not _elongated(None, 0.1) and not _elongated(0.5, None)
    monkeypatch.setattr(settings, "elongated_compactness_ratio", 0.5)
    assert not _elongated(0.5, 0.34)
