"""Errors a planner meets in the editor read in Chinese, naming what they are about.

Moving into or out of a locked street, an unknown street or community, a line
that does not cut a community in two, a plan name taken or made on another
district, a step clashing with another tab's: each is raised worded
(:meth:`geo.errors.WanggeError.worded`), so the app shows it in Chinese with
the names filled in.
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pytest
import shapely
from conftest import COMMUNITIES, UTM, assert_chinese, tiny_frames
from conftest import raised as raised_worded

from geo.district.hierarchy import build_district
from geo.errors import InputError, PlanError, WanggeError
from geo.plan.base import PlanBase
from geo.plan.model import Edit, Plan
from geo.plan.store import PlanStore

C1, C2, C3, C4 = COMMUNITIES
S1, S2 = "370299001000", "370299002000"



@pytest.fixture(scope="module")
def district():
    return build_district(tiny_frames())


@pytest.fixture(scope="module")
def base(district) -> PlanBase:
    return PlanBase.from_district(district)







def raised(fn: Callable[[], object], kind: type[WanggeError] = PlanError) -> WanggeError:
    """A plan's refusal, raised worded."""
    return raised_worded(fn, kind)


def test_moving_into_or_out_of_a_locked_street(zh, base):
    p = Plan(base)
    p.set_locked(S2, True)
    text = assert_chinese(zh, raised(lambda: p.move([C1], S2)), "乙街道 (370299002000)")
    assert "锁定" in text and "社区" in text
    p = Plan(base)
    p.set_locked(S1, True)
    text = assert_chinese(zh, raised(lambda: p.move([C1], S2)), "甲街道 (370299001000)")
    assert "锁定" in text and "移出" in text


def test_an_unknown_street_or_community(zh, base):
    p = Plan(base)
    assert_chinese(zh, raised(lambda: p.move([C1], "370299777000")), "370299777000", S1, S2)
    assert_chinese(zh, raised(lambda: p.move(["370299999999"], S2)), "370299999999")
    many = [f"3702990099{k:02d}" for k in range(7)]
    text = assert_chinese(zh, raised(lambda: p.move(many, S2)), ", ".join(many[:5]))
    assert "另有 2 个" in text
    assert_chinese(zh, raised(lambda: p.rename_street(S1, "  ")))


def test_a_line_that_does_not_cut_the_community_in_two(zh, district):
    from geo.district.edit import split_community

    d = build_district({k: v for k, v in tiny_frames().items() if k != "grid"})
    inside = gpd.GeoSeries([shapely.LineString([(230_200, 4_001_200), (230_300, 4_001_300)])],
                           crs=UTM).to_crs(4326).iloc[0]
    exc = raised(lambda: split_community(d, C1, inside), InputError)
    assert "一社区" in str(exc)
    assert "两部分" in assert_chinese(zh, exc, "一社区")
    zigzag = gpd.GeoSeries([shapely.LineString([(-50, 1300), (2050, 1300), (2050, 1700),
                                                (-50, 1700)])], crs=UTM)
    zigzag = zigzag.translate(230_000, 4_000_000).to_crs(4326).iloc[0]
    assert "3 块" in assert_chinese(zh, raised(lambda: split_community(d, C1, zigzag),
                                               InputError), "一社区")
    shape = d.units["community"].geometry.iloc[0]
    assert_chinese(zh, raised(lambda: split_community(d, C1, shape), InputError))
    assert_chinese(zh, raised(lambda: split_community(d, "370299009009", inside), InputError),
                   "370299009009")


def test_a_plan_name_taken_or_made_on_another_district(zh, tmp_path, base):
    store = PlanStore(tmp_path / "p.gpkg")
    for name in ("方案一", "方案二"):
        p = Plan(base, name=name)
        store.save_plan(p)
    assert_chinese(zh, raised(lambda: store.rename("方案二", "方案一")), "方案一")
    assert_chinese(zh, raised(lambda: store.rename("方案二", " ")))
    text = assert_chinese(zh, raised(lambda: store.load_plan("方案三", base)),
                          "方案三", "方案一, 方案二", "p.gpkg")
    assert "没有名为" in text
    # the tiny district without its last community is another district
    frames = tiny_frames()
    frames["community"] = frames["community"][frames["community"]["code"] != C4]
    frames["grid"] = frames["grid"][frames["grid"]["parent_code"] != C4]
    other = PlanBase.from_district(build_district(frames))
    exc = raised(lambda: store.load_plan("方案一", other))
    assert "另一个辖区" in assert_chinese(zh, exc, "方案一",
                                          exempt=(base.district_key, other.district_key))
    wrong = Plan(other, name="方案一")
    assert "另一个辖区" in assert_chinese(zh, raised(lambda: store.save_plan(wrong)), "方案一")
    wrong.move([C1], S2)
    assert "另一个辖区" in assert_chinese(zh, raised(lambda: store.record(wrong, wrong.last_edit)),
                                          "方案一")


def test_a_step_clashing_with_another_tab(zh, tmp_path, base):
    store = PlanStore(tmp_path / "p.gpkg")
    a = Plan(base, name="方案一")
    store.save_plan(a)
    b = store.load_plan("方案一", base)
    new = a.new_street(name="丙街道")
    store.record(a, a.last_edit)
    store.record(a, a.move([C1], new.code))
    # B still sees C1 in S1 and moves it to S2: A moved it to 丙街道 meanwhile
    exc = raised(lambda: store.record(b, b.move([C1], S2)))
    text = assert_chinese(zh, exc, f"一社区（{C1}）移至 丙街道 ({new.code})",
                          "乙街道 (370299002000)")
    assert "其他标签页" in text
    # a stale undo refreshes and undoes nothing
    c = store.load_plan("方案一", base)
    store.record(c, c.move([C3], S1))
    store.record(b, b.move([C4], S1))
    assert "撤销" in assert_chinese(zh, raised(lambda: store.record(c, c.undo())), "方案一")
    # a street taken back in the other tab
    from geo.plan.store import _replay

    exc = raised(lambda: _replay(Plan(base), Edit(op="lock", street="370299099000", locked=True)))
    assert_chinese(zh, exc, "370299099000")


def test_a_proposal_that_cannot_start(zh, base):
    from geo.propose.search import propose_plan
    from geo.rules.rulebook import load_rulebook

    rules = load_rulebook()
    locked = Plan(base)
    for s in (S1, S2):
        locked.set_locked(s, True)
    assert "解锁" in assert_chinese(zh, raised(lambda: propose_plan(locked, rules,
                                                                   time_limit_s=1)))
    frames = tiny_frames()
    frames["grid"]["population"] = np.nan
    blank = Plan(PlanBase.from_district(build_district(frames)))
    text = assert_chinese(zh, raised(lambda: propose_plan(blank, rules, time_limit_s=1),
                                     InputError), "一社区, 二社区, 三社区, 四社区")
    assert "常住人口" in text and "“数据”页" in text


def test_basemap_settings(zh):
    from geo.maps.basemaps import make_basemap

    urls = ("console.tianditu.gov.cn", "http://tiles.intranet/{z}/{x}/{y}.png", "http://",
            "https://")
    assert "密钥" in assert_chinese(zh, raised(lambda: make_basemap("tianditu"), InputError),
                                    exempt=urls)
    text = assert_chinese(zh, raised(lambda: make_basemap("custom", url="ftp://x"), InputError),
                          exempt=urls)
    assert "{z}、{x} 和 {y}" in text
    assert_chinese(zh, raised(lambda: make_basemap("custom", url="http://h/{z}/{x}/{y} .png"),
                              InputError))

