"""Preset rulebooks: in the package, chosen by name, every figure sourced; `wangge rules`."""

from __future__ import annotations

import tomllib
from importlib import resources

import pytest
from conftest import tiny_frames
from typer.testing import CliRunner

from geo.cli import app
from geo.district.hierarchy import build_district
from geo.errors import RulebookError
from geo.rules.rulebook import (
    density_envelopes,
    evaluate_rules,
    list_presets,
    load_rulebook,
    missing_provenance,
    osm_type_of,
    preset_names,
    preset_text,
    rulebook_from_dict,
    rulebook_table,
    type_osm_features,
)

PRESETS = ["beijing-2021-central", "beijing-2021-core", "beijing-2021-outer", "gb50180-2018",
           "qingdao-2017"]
runner = CliRunner()


def test_the_presets_ship_inside_the_package():
    assert preset_names() == PRESETS
    folder = resources.files("geo.rules").joinpath("rulebooks")
    assert sorted(p.name for p in folder.iterdir() if p.name.endswith(".toml")) == [
        f"{n}.toml" for n in PRESETS
    ]
    assert {p.name for p in list_presets()} == set(PRESETS)
    assert all(p.title and p.title_zh and p.description for p in list_presets())


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_loads_by_name_and_every_entry_has_source_and_status(name):
    rb = load_rulebook(name)
    assert rb.preset == name and rb.rules
    assert missing_provenance(rb.raw) == []  # with what it inherits from its base
    own = tomllib.loads(preset_text(name))
    assert missing_provenance(own) == []  # and its own entries
    for rule in (*rb.rules, *rb.disabled):
        assert rule.source and rule.status in ("confirmed", "partial", "unconfirmed")
        assert rule.force in ("advisory", "mandatory")
    for cat in rb.categories.values():
        assert cat.source and cat.status
    for ft in rb.facilities.values():
        assert ft.radius_source and ft.radius_status
        if ft.min_floor_area_m2 is not None:
            assert ft.floor_area_source and ft.floor_area_status
        if ft.m2_per_100_households is not None:
            assert ft.ratio_source and ft.ratio_status


def test_an_entry_without_source_or_status_is_caught():
    data = tomllib.loads(preset_text("qingdao-2017"))
    del data["categories"]["health_services"]["source"]
    del data["rules"][0]["status"]
    del data["facilities"]["health_station"]["floor_area_status"]
    assert missing_provenance(data) == [
        "rule street.area_km2: status",
        "category health_services: source",
        "facility health_station: floor_area_status",
    ]


def test_default_is_qingdao_and_names_and_paths_agree(tmp_path):
    default, named = load_rulebook(), load_rulebook("qingdao-2017")
    alias = load_rulebook("default")
    copy = tmp_path / "copy.toml"
    copy.write_text(preset_text("qingdao-2017"), encoding="utf-8")
    by_path = load_rulebook(copy)
    assert default.rules == named.rules == alias.rules == by_path.rules
    assert by_path.preset == "" and by_path.path == str(copy)


def test_unknown_preset_names_the_presets():
    with pytest.raises(
        RulebookError, match=r"no preset rulebook named 'shanghai-2030'.*qingdao-2017.*path"
    ):
        load_rulebook("shanghai-2030")


def test_the_six_categories_as_the_paper_has_them():
    rb = load_rulebook("qingdao-2017")
    names = {c.key: c.name_zh for c in rb.categories.values()}
    assert names == {
        "city_order_safety": "城市秩序与安全",
        "basic_information": "社区基础信息",
        "protective_services": "保护性服务",
        "health_services": "健康服务",
        "property_services": "物业服务",
        "resident_participation": "居民交往及社区参与",
    }
    assert all("创新青岛社区治理机制的建议" in c.source for c in rb.categories.values())
    measured = {f.category for f in rb.facilities.values()}
    for cat in rb.categories.values():  # measured by facilities, or says why not
        assert cat.key in measured or (cat.note and cat.note_zh), cat.key


def test_qingdao_labels_say_what_the_sources_say():
    rb = load_rulebook("qingdao-2017")
    area, pop = (next(r for r in rb.rules if r.id == i) for i in ("street.area_km2",
                                                                  "street.population"))
    assert area.force == pop.force == "advisory" and "为宜" in area.source
    assert area.severity == pop.severity == "warning"
    assert pop.title_zh == "街道人口" and "does not say resident or registered" in pop.source
    assert "national average" in rb.household_size_source and rb.household_size == 2.62
    care = rb.facility("elderly_day_care")
    assert care.service_radius_m == 300 and "5-minute" in care.radius_source
    centre = rb.facility("community_service_centre")
    assert centre.radius_status == "partial" and centre.benchmark_floor_area_m2 == 800
    assert centre.ratio_includes == ("community_service_station",)
    for key in ("community_service_station", "health_station", "health_centre"):
        ft = rb.facility(key)
        assert "GB 50180-2018" in ft.radius_source and "GB 50180-2018" in ft.floor_area_source
        assert "Common local norm" not in ft.radius_source + ft.floor_area_source


@pytest.mark.parametrize(
    ("name", "area_min", "pop"),
    [
        ("beijing-2021-core", 2.0, (50_000, 100_000)),
        ("beijing-2021-central", 3.0, (50_000, 150_000)),
        ("beijing-2021-outer", 5.0, (30_000, 150_000)),
    ],
)
def test_beijing_presets(name, area_min, pop):
    rb = load_rulebook(name)
    area = next(r for r in rb.rules if r.measure == "area_km2")
    people = next(r for r in rb.rules if r.measure == "population")
    assert (area.min, area.max) == (area_min, None)
    assert (people.min, people.max) == pop
    assert "北京市街道办事处设立标准" in area.source and area.kinds == ("street",)
    assert people.title_zh == "街道常住人口"
    assert set(rb.facilities) == set(load_rulebook("qingdao-2017").facilities)  # from its base
    (env,) = density_envelopes(rb)
    assert env.max_density == pop[1] / area_min


def test_gb50180_applies_the_circles_the_planner_switches_on(tmp_path):
    rb = load_rulebook("gb50180-2018")
    assert {r.id for r in rb.rules} == {"street.life_circle_15min", "community.life_circle_5min"}
    assert {r.id for r in rb.disabled} == {"community.life_circle_10min", "grid.block"}
    d = build_district(tiny_frames(grid_population=2000))  # 4,000 per community
    found = {f.rule for f in evaluate_rules(d, rb)}
    assert "community.life_circle_5min" in found and "community.life_circle_10min" not in found
    # the planner's copy: the 10-minute circle on communities, the 5-minute one on grids
    text = preset_text("gb50180-2018").replace("\nenabled = false", "\nenabled = true", 1)
    text = text.replace(
        'id = "community.life_circle_5min"\nlevel = "community"\nkinds = ["community"]',
        'id = "grid.life_circle_5min"\nlevel = "grid"\nkinds = ["grid"]',
    )
    mine = tmp_path / "mine.toml"
    mine.write_text(text, encoding="utf-8")
    copy = load_rulebook(mine)
    assert {(r.id, r.level) for r in copy.rules} == {
        ("street.life_circle_15min", "street"),
        ("community.life_circle_10min", "community"),
        ("grid.life_circle_5min", "grid"),
    }
    found = {f.rule for f in evaluate_rules(d, copy)}
    assert {"community.life_circle_10min", "grid.life_circle_5min"} <= found


# ------------------------------------------------------------------ severity


def test_severity_follows_force_and_the_rulebooks_table():
    def book(extra: str = "", **rule: object) -> object:
        base = {"id": "r", "level": "street", "measure": "population", "min": 1, "source": "s",
                "status": "confirmed"}
        data = tomllib.loads(extra) if extra else {}
        data["rules"] = [{**base, **rule}]
        return rulebook_from_dict(data).rules[0]

    assert book(force="advisory").severity == "warning"
    assert book(force="mandatory").severity == "error"
    assert book().severity == "error"  # a rule that does not say is mandatory
    assert book(force="mandatory", status="unconfirmed").severity == "warning"
    assert book('[severity]\nadvisory = "error"', force="advisory").severity == "error"
    assert book('[severity]\nmandatory = "info"', force="mandatory").severity == "info"


def test_findings_of_advisory_rules_say_so():
    d = build_district(tiny_frames(grid_population=2000))  # streets of 4 km²
    f = next(f for f in evaluate_rules(d, load_rulebook()) if f.rule == "street.area_km2")
    assert f.severity == "warning" and "the band is advisory (建议)" in f.message


# ------------------------------------------------------------------ bad rulebooks


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("rules = [1, 2]", r"rule #1: each rule must be a table starting \[\[rules\]\]"),
        ("rules = 5", r"rules must be an array of tables"),
        (
            "[[rules]]\nid='a'\nlevel='street'\nkinds=5\nmeasure='population'\nmin=1\nsource='s'",
            r'rule a: kinds must be a list of kind names, e.g. kinds = \["street"\], not 5',
        ),
        (
            "[[rules]]\nid='a'\nlevel='street'\nmeasure='population'\nmin=-5\nsource='s'",
            r"rule a: min cannot be negative \(-5\)",
        ),
        (
            "[[rules]]\nid='a'\nlevel='street'\nmeasure='area_km2'\nmin=8\nmax=6\nsource='s'",
            r"rule a: min \(8\) is greater than max \(6\)",
        ),
        (
            "[[rules]]\nid='a'\nlevel='street'\nmeasure='population'\nmax=inf\nsource='s'",
            r"rule a: max must be a finite number, not inf; leave max out",
        ),
        (
            "[[rules]]\nid='a'\nlevel='street'\nmeasure='population'\nmin=nan\nsource='s'",
            r"rule a: min must be a finite number",
        ),
        (
            "[[rules]]\nid='a'\nlevel='street'\nmeasure='population'\nmin=1\nsource='s'\n"
            "force='optional'",
            r"rule a: force must be one of advisory, mandatory, not 'optional'",
        ),
        (
            "[[rules]]\nid=7\nlevel='street'\nmeasure='population'\nmin=1\nsource='s'",
            r"rule #1: id must be text",
        ),
        ("[severity]\nadvisory = 'fatal'", r"\[severity\]: write advisory / mandatory = one of"),
        ("[defaults]\nhousehold_size = 0", r"household_size cannot be zero or negative"),
        ("rulebook = 3", r"\[rulebook\] must be a table"),
        (
            "[facilities.x]\nservice_radius_m = 300\nosm = 'police'",
            r"facility type x: osm must be a list of tag tables",
        ),
        (
            "[facilities.x]\nservice_radius_m = 300\nosm = [{ name = ['~警务室'] }]",
            r"first tag of each osm table \(name\) must list exact values",
        ),
        (
            "[facilities.x]\nservice_radius_m = 300\nratio_includes = ['y']",
            r"ratio_includes names y, which is not a facility type here",
        ),
        (
            "[facilities.x]\nservice_radius_m = -300",
            r"facility type x: service_radius_m cannot be zero or negative",
        ),
        ("[rulebook]\nbase = 'nowhere'", r"no preset rulebook named 'nowhere'"),
    ],
)
def test_bad_rulebooks_name_the_entry_and_the_fix(tmp_path, text, match):
    p = tmp_path / "bad.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(RulebookError, match=match):
        load_rulebook(p)


def test_a_bad_rulebook_is_exit_2_without_traceback(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("rules = [1, 2]", encoding="utf-8")
    r = runner.invoke(app, ["rules", "show", str(p)])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "each rule must be a table" in r.output


# ------------------------------------------------------------------ OSM tags


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"office": "government", "name": "中华人民共和国民政部"}, None),  # a ministry
        ({"office": "government", "government": "social_services", "name": "市民政局"}, None),
        ({"office": "government", "name": "书院社区服务站"}, "community_service_station"),
        ({"office": "government", "name": "八大关社区居民委员会"}, "community_service_station"),
        ({"amenity": "police", "name": "市南分局"}, None),  # a police station
        ({"amenity": "police"}, None),
        ({"amenity": "police", "name": "湛山社区警务室"}, "police_post"),
        ({"amenity": "social_facility", "social_facility": "nursing_home",
          "social_facility:for": "senior"}, None),
        ({"amenity": "social_facility", "social_facility": "shelter"}, None),
        ({"amenity": "social_facility", "social_facility": "day_care",
          "social_facility:for": "child"}, None),
        ({"amenity": "social_facility", "social_facility": "day_care",
          "social_facility:for": "senior"}, "elderly_day_care"),
        ({"amenity": "social_facility", "social_facility:for": "senior",
          "name": "金湖路老年人日间照料中心"}, "elderly_day_care"),
        ({"amenity": "clinic", "name": "金门路社区卫生服务中心"}, "health_centre"),
        ({"amenity": "clinic"}, "health_station"),
        ({"amenity": "hospital", "name": "市立医院"}, None),
        ({"amenity": "community_centre"}, "community_service_centre"),
    ],
)
def test_osm_tags_type_only_community_facilities(tags, expected):
    assert osm_type_of(tags, load_rulebook()) == expected


def test_osm_typing_of_a_table_with_missing_tags():
    import pandas as pd

    frame = pd.DataFrame(
        {
            "amenity": ["police", "police", None],
            "name": ["湛山社区警务室", float("nan"), "x"],
            "office": [None, None, "government"],
        }
    )
    assert type_osm_features(frame, load_rulebook()).tolist() == ["police_post", None, None]
    # each type's first tags still pick candidates out of an extract
    assert dict(load_rulebook().facility("police_post").osm) == {"amenity": ("police",)}


# ------------------------------------------------------------------ wangge rules


def test_rules_list_names_every_preset():
    r = runner.invoke(app, ["rules", "list"])
    assert r.exit_code == 0, r.output
    for name in PRESETS:
        assert name in r.output
    assert "default: qingdao-2017" in r.output


def test_rules_show_in_english_and_chinese():
    en = runner.invoke(app, ["rules", "show", "qingdao-2017", "--lang", "en"])
    assert en.exit_code == 0, en.output
    flat = " ".join(en.output.split())
    assert "street.area_km2" in flat and "advisory" in flat and "6–8 km²" in flat
    assert "partly confirmed" in flat and "unconfirmed default" in flat
    zh = runner.invoke(app, ["rules", "show", "qingdao-2017", "--lang", "zh"])
    assert zh.exit_code == 0, zh.output
    flat = "".join(zh.output.split())
    wanted = ("保护性服务", "居民交往及社区参与", "建议", "已核实", "街道辖区面积",
              "80,000–120,000人")
    for text in wanted:
        assert text in flat, text
    frame = rulebook_table(load_rulebook("qingdao-2017"), lang="zh")
    assert list(frame.columns) == [
        "类别", "编号", "规则", "适用对象", "数值", "效力", "核实状态", "来源"
    ]
    assert (frame["来源"] != "").all()


def test_rules_show_toml_copies_a_preset(tmp_path):
    r = runner.invoke(app, ["rules", "show", "beijing-2021-core", "--toml"])
    assert r.exit_code == 0
    copy = tmp_path / "mine.toml"
    copy.write_text(r.output, encoding="utf-8")
    assert load_rulebook(copy).rules == load_rulebook("beijing-2021-core").rules


def test_rules_show_refuses_unknown_names_and_languages():
    r = runner.invoke(app, ["rules", "show", "nowhere-2030"])
    assert r.exit_code == 2 and "wangge rules list" in " ".join(r.output.split())
    r = runner.invoke(app, ["rules", "show", "qingdao-2017", "--lang", "fr"])
    assert r.exit_code == 2 and "--lang takes zh or en" in r.output


def test_check_takes_a_preset_name():
    r = runner.invoke(app, ["check", "--rules", "beijing-2021-outer", "--format", "json",
                            "--show", "street"])
    assert r.exit_code in (0, 1), r.output
    assert '"name": "Beijing 2021 street-office standard: the other districts"' in r.output


def test_the_json_report_says_which_rules_are_advisory():
    import json

    r = runner.invoke(app, ["check", "--format", "json", "--show", "street"])
    book = json.loads(r.stdout)["rulebook"]
    assert book["preset"] == "qingdao-2017"
    area = next(x for x in book["rules"] if x["id"] == "street.area_km2")
    assert area == {"id": "street.area_km2", "force": "advisory", "severity": "warning",
                    "status": "confirmed", "source": area["source"]}
    assert "为宜" in area["source"]
