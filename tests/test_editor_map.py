"""The editor's light map layers: simplified without gaps, street outlines, text kept as text."""

from __future__ import annotations

import json

import folium
import numpy as np
import pytest
import shapely

from geo.maps.editor import (
    drawing_shapes,
    features,
    geojson_texts,
    label_points,
    street_outlines,
    view_tolerance_m,
)
from geo.maps.held import HeldLayer, HeldLayers
from geo.plan.base import PlanBase
from geo.plan.model import Plan

UTM = "EPSG:32651"


def test_drawing_shapes_keep_neighbours_together_and_shrink(sample_built):
    base = PlanBase.from_district(sample_built)
    tol = view_tolerance_m(shapely.total_bounds(list(base.geometry)), metric_crs=base.metric_crs)
    shapes = drawing_shapes(base.geometry, metric_crs=base.metric_crs, tolerance_m=tol)
    assert len(shapes) == base.n_blocks and all(s.is_valid for s in shapes)
    # shared edges simplified once for both sides: the shapes still tile the district
    whole = shapely.union_all(base.geometry)
    drawn = shapely.coverage_union_all(shapes)
    assert shapely.area(shapely.symmetric_difference(whole, drawn)) / shapely.area(whole) < 0.01
    assert shapely.get_num_coordinates(shapes).sum() < shapely.get_num_coordinates(
        base.geometry).sum()
    text = geojson_texts(shapes[:1])[0]
    coords = np.array(json.loads(text)["coordinates"][0])
    assert np.allclose(coords, np.round(coords, 5))


def test_tolerance_grows_with_the_district():
    small = view_tolerance_m((120.0, 36.0, 120.05, 36.05), metric_crs=UTM)
    large = view_tolerance_m((120.0, 36.0, 120.4, 36.4), metric_crs=UTM)
    assert small == pytest.approx(5.0) and large > 5 * small / 2


def test_street_outlines_are_the_union_of_their_blocks(sample_built):
    plan = Plan.from_district(sample_built)
    base = plan.base
    shapes = drawing_shapes(base.geometry, metric_crs=base.metric_crs, tolerance_m=5.0)
    outlines = street_outlines(shapes, plan.assignment, len(plan.streets) + 1)
    assert outlines[-1].is_empty  # a street without blocks
    k = 0
    members = shapes[np.asarray(plan.assignment) == k]
    assert shapely.equals(outlines[k], shapely.union_all(members))


def test_layer_writes_names_as_text_and_never_as_a_template():
    """A name holding template or HTML syntax reaches the browser escaped and unevaluated."""
    name = "{{ 7*7 }}<img src=x></script>"
    data = features(geojson_texts([shapely.box(120, 36, 120.01, 36.01)]),
                    [{"f": "#123456", "t": [name.replace("<", "&lt;").replace(">", "&gt;")]}])
    m = folium.Map()
    group = folium.FeatureGroup(name="plan").add_to(m)
    labels = label_points([shapely.box(120, 36, 120.01, 36.01)], [name])
    HeldLayers([HeldLayer("blocks", data=data, style={"weight": 1}, aliases=["<b>name</b>"],
                          interactive=True),
                HeldLayer("labels", data=labels, labels=True)]).add_to(group)
    html = m.get_root().render()
    assert "{{ 7*7 }}&lt;img src=x&gt;" in html and "49" not in html.split("{{ 7*7 }}")[0][-5:]
    assert "<img src=x>" not in html and "<b>name</b>" not in html
    assert "</script>" not in html.split("<script>")[-1].split("</script>")[0]
    assert '"f": "#123456"' in html or '"f":"#123456"' in html


def test_held_layers_name_their_data_by_slot_and_key():
    """The browser is told each layer's slot and key: the URL, or a digest of inline data
    that changes with the data; a slot given twice is refused."""
    shapes = HeldLayer("blocks", url="/media/abc.json", paint="/media/p1.json")
    one = HeldLayer("selected", data=features(geojson_texts([shapely.box(0, 0, 1, 1)]), [{}]))
    two = HeldLayer("selected", data=features(geojson_texts([shapely.box(0, 0, 2, 2)]), [{}]))
    assert shapes.spec()["key"] == "/media/abc.json" and shapes.spec()["paint"] == "/media/p1.json"
    assert one.spec()["key"] != two.spec()["key"]
    assert one.spec()["key"] == HeldLayer("selected", data=one.data).spec()["key"]
    # the same layers write the same script, so st_folium does not evaluate it again
    assert HeldLayers([shapes, one]).js == HeldLayers([shapes, one]).js
    assert HeldLayers([shapes, one]).js != HeldLayers([shapes, two]).js
    with pytest.raises(ValueError, match="own slot"):
        HeldLayers([one, two])
    with pytest.raises(ValueError, match="either a url or data"):
        HeldLayer("x")


def test_plan_revision_changes_with_every_step_and_digest_with_content(sample_built):
    plan = Plan.from_district(sample_built)
    code, seen = plan.streets[0].code, {plan.revision}
    d0 = plan.state_digest()
    plan.rename_street(code, "甲")
    seen.add(plan.revision)
    d1 = plan.state_digest()
    plan.undo()
    seen.add(plan.revision)
    assert plan.state_digest() == d0
    plan.rename_street(code, "乙")
    seen.add(plan.revision)
    assert len(seen) == 4 and plan.state_digest() not in (d0, d1)
    other = Plan.from_district(sample_built)
    assert other.revision not in seen and other.state_digest() == d0
