"""Errors a planner meets loading a rulebook or proposing sites read in Chinese.

A rulebook of their own that is not TOML, names an unknown measure, has a
minimum above its maximum or kinds its level does not have; a site proposal
whose candidates reach no one, asks for more sites than there are candidates,
or respects capacity for a type without a floor-area ratio: each error is
raised worded (:meth:`geo.errors.WanggeError.worded`), so the app shows it in
Chinese, with the file, the rule, the values and the facility type filled in.
TOML keys, rule ids, values and command-line options are data and stay as
they are.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import UTM, X0, Y0, chinese_problems, in_chinese, tiny_frames

from geo.access.network import network_from_tables
from geo.district.hierarchy import build_district
from geo.errors import EmptyInputError, GeometryTypeError, InputError, RulebookError, WanggeError
from geo.rules.rulebook import load_rulebook, rulebook_from_dict
from geo.siting.api import propose_sites
from geo.siting.candidates import candidates_from_layer
from geo.siting.cover import min_sites_for_share

RULES = load_rulebook("qingdao-2017")
FILES = ("rules.toml", "mine.toml")
"""The rulebooks' file names: named in the English, kept in the Chinese."""
RULE = "[[rules]]\nid='a'\nlevel='street'\nmeasure='population'\nmin=1\nsource='s'\n"


def raised(fn, kind: type[WanggeError] = RulebookError) -> WanggeError:
    with pytest.raises(kind) as info:
        fn()
    assert info.value.template, f"raised without a template: {info.value}"
    return info.value


def chinese(exc: WanggeError, *, keep=(), exempt=()) -> str:
    """The error as the app shows it in Chinese, checked: translated, no English, names kept."""
    with in_chinese() as ui:
        zh = ui.error_text(exc)
    keep = (*FILES, *keep)
    assert not chinese_problems(str(exc), zh, keep=keep, exempt=exempt), (zh, str(exc))
    return zh


def loaded(tmp_path: Path, text: str) -> WanggeError:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return raised(lambda: load_rulebook(path))


def test_a_rulebook_that_is_not_toml(tmp_path):
    exc = loaded(tmp_path, "name = \nother = 1\n")
    zh = chinese(exc, exempt=("TOML", "`wangge rules show NAME --toml`"))
    assert "第 1 行第 8 列" in zh and "无效的值" in zh and "规则库" in zh
    exc = loaded(tmp_path, "name = 1 2\n")
    assert "应换行" in chinese(exc, exempt=("TOML", "`wangge rules show NAME --toml`"))
    # a message of the parser not known here stays as it is, the rest is in Chinese
    exc = RulebookError.worded(exc.template, **{**exc.fields, "reason": "Something odd"})
    assert "Something odd" in chinese(exc, exempt=("TOML", "`wangge rules show NAME --toml`",
                                                   "Something odd"))


def test_a_rule_with_an_unknown_measure_level_or_kind(tmp_path):
    exc = loaded(tmp_path, RULE.replace("population", "beauty"))
    zh = chinese(exc, keep=("'beauty'",),
                 exempt=("measure", "area_km2, population, households, density_per_km2"))
    assert "规则 a" in zh and "之一" in zh
    exc = loaded(tmp_path, RULE.replace("'street'", "'block'"))
    chinese(exc, keep=("'block'",), exempt=("level", "street, community, grid"))
    exc = loaded(tmp_path, RULE + "kinds=['village']\n")
    zh = chinese(exc, exempt=("village", "street, town, township"))
    assert "街道一级没有类型" in zh
    # a rule without an id is named by its place
    exc = loaded(tmp_path, RULE.replace("id='a'\n", "").replace("'street'", "'block'"))
    assert "第 1 条规则" in chinese(exc, exempt=("level", "street, community, grid", "'block'"))


def test_a_band_with_min_above_max_or_no_bound(tmp_path):
    exc = loaded(tmp_path, RULE.replace("min=1", "min=9\nmax=1"))
    zh = chinese(exc, exempt=("min", "max"))
    assert "下限 min（9）大于上限 max（1）" in zh
    exc = loaded(tmp_path, RULE.replace("min=1", "min=-5"))
    assert "负数（-5）" in chinese(exc, exempt=("min",))
    exc = loaded(tmp_path, RULE.replace("min=1", "min='x'"))
    chinese(exc, keep=("'x'",), exempt=("min",))
    exc = loaded(tmp_path, RULE.replace("min=1\n", ""))
    chinese(exc, exempt=("min", "max"))
    exc = loaded(tmp_path, RULE.replace("source='s'\n", ""))
    assert "出处" in chinese(exc, exempt=('source = "..."',))
    exc = loaded(tmp_path, RULE + RULE)
    assert "编号 a" in chinese(exc)


def test_tables_and_facility_types_of_a_rulebook():
    exc = raised(lambda: rulebook_from_dict({"defaults": 3}, path="mine.toml"))
    zh = chinese(exc, exempt=("[defaults]", "household_size"))
    assert "必须是一个表" in zh and "下写" in zh
    exc = raised(lambda: rulebook_from_dict({"facilities": {"pool": {}}}, path="mine.toml"))
    assert "设施类型 pool" in chinese(exc, exempt=("service_radius_m", "pool"))
    osm = {"service_radius_m": 300, "osm": [{"name": ["~站"]}]}
    exc = raised(lambda: rulebook_from_dict({"facilities": {"x": osm}}, path="mine.toml"))
    chinese(exc, exempt=("osm", "name", '"~text"'))
    exc = raised(lambda: RULES.facility("swimming_pool"))
    zh = chinese(exc, keep=("'swimming_pool'",),
                 exempt=(", ".join(sorted(RULES.facilities)), "[facilities.swimming_pool]"))
    assert RULES.name_zh in zh
    exc = raised(lambda: load_rulebook("shanghai-2030"))
    chinese(exc, exempt=("'shanghai-2030'", "`wangge rules list`", "toml",
                         "beijing-2021-central", "beijing-2021-core", "beijing-2021-outer",
                         "gb50180-2018", "qingdao-2017"))


# ------------------------------------------------------------------ proposing sites


@pytest.fixture(scope="module")
def tiny():
    """The tiny district on a 100 m street lattice (as tests/test_siting.py)."""
    district = build_district(tiny_frames(), household_size=RULES.household_size)
    xs, ys = np.arange(0, 4001, 100), np.arange(0, 2001, 100)
    gx, gy = np.meshgrid(xs, ys)
    ids = np.arange(gx.size).reshape(gx.shape)
    nodes = pd.DataFrame({"id": ids.ravel(), "x": X0 + gx.ravel(), "y": Y0 + gy.ravel()})
    edges = pd.concat([
        pd.DataFrame({"u": ids[:, :-1].ravel(), "v": ids[:, 1:].ravel()}),
        pd.DataFrame({"u": ids[:-1, :].ravel(), "v": ids[1:, :].ravel()}),
    ]).assign(length=100.0)
    return district, network_from_tables(nodes, edges, crs=UTM, source="tiny lattice")


def points(xy, **cols):
    return gpd.GeoDataFrame(
        cols, geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in xy], crs=UTM
    ).to_crs(4326)


def test_a_site_proposal_whose_candidates_reach_no_one(tiny):
    district, net = tiny
    kw = {"facility_type": "community_service_centre", "network": net}
    far = points([(2000, 9000)], name=["at sea"])
    exc = raised(lambda: propose_sites(district, RULES, k=1, candidates=far, **kw), InputError)
    zh = chinese(exc, exempt=("--candidates grid", "buildings"))
    assert "社区综合服务设施" in zh and "候选点图层" in zh and "500 m" in zh


def test_more_sites_than_candidates_or_capacity_without_a_ratio(tiny):
    district, net = tiny
    kw = {"network": net, "facility_type": "community_service_centre"}
    exc = raised(lambda: propose_sites(district, RULES, k=50, **kw), InputError)
    zh = chinese(exc)
    assert "新增站点数" in zh and "网格中心点" in zh and "要求新增 50 个站点" in zh
    exc = raised(lambda: propose_sites(district, RULES, k=1, capacity=True,
                                       **{**kw, "facility_type": "police_post"}))
    zh = chinese(exc, exempt=("m2_per_100_households",))
    assert "警务室" in zh and "考虑容量" in zh


def test_candidates_and_shares_that_cannot_be():
    lines = gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (1, 1)]),
                                       shapely.box(0, 0, 1, 1)], crs=4326)
    exc = raised(lambda: candidates_from_layer(lines), GeometryTypeError)
    assert "线要素、面要素" in chinese(exc)
    exc = raised(lambda: candidates_from_layer(lines.iloc[:0]), EmptyInputError)
    chinese(exc, exempt=("--candidates grid",))
    exc = raised(lambda: min_sites_for_share([[0]], [1.0, 3.0], share=0.9), InputError)
    assert "90.0%" in chinese(exc) and "25.0%" in chinese(exc)
