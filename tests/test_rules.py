"""Rulebooks: loading, validation, findings and the density envelope."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from conftest import tiny_frames

from geo.district.hierarchy import build_district
from geo.errors import RulebookError
from geo.rules.bands import Band
from geo.rules.rulebook import (
    density_envelopes,
    evaluate_rules,
    load_rulebook,
    rulebook_from_dict,
    status_table,
)

DEFAULT = load_rulebook()


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "rules.toml"
    p.write_text(text, encoding="utf-8")
    return p


RULE = """
[[rules]]
id = "street.population"
level = "street"
measure = "population"
min = {lo}
max = {hi}
source = "test"
status = "confirmed"
"""


def test_default_rulebook_carries_the_guideline_with_sources():
    area = next(r for r in DEFAULT.rules if r.id == "street.area_km2")
    pop = next(r for r in DEFAULT.rules if r.id == "street.population")
    assert (area.min, area.max) == (6.0, 8.0)
    assert (pop.min, pop.max) == (80_000, 120_000)
    assert area.kinds == ("street",) and pop.kinds == ("street",)
    assert "2017" in area.source and area.status == "confirmed"
    assert DEFAULT.household_size == pytest.approx(2.62)
    assert all(r.source for r in DEFAULT.rules)
    unconfirmed = [r for r in DEFAULT.rules if r.status == "unconfirmed"]
    assert unconfirmed and all(r.severity == "warning" for r in unconfirmed)


def test_density_envelope_of_default_is_10k_to_20k():
    (env,) = [e for e in density_envelopes(DEFAULT) if e.kind == "street"]
    assert (env.min_density, env.max_density) == (10_000, 20_000)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            "[[rules]]\nid='a'\nlevel='block'\nmeasure='population'\nmin=1\nsource='s'",
            "level must be one of",
        ),
        (
            "[[rules]]\nid='a'\nlevel='street'\nmeasure='beauty'\nmin=1\nsource='s'",
            "measure must be one of",
        ),
        (
            "[[rules]]\nid='a'\nlevel='street'\nmeasure='population'\nmin=9\nmax=1\nsource='s'",
            r"min \(9\) is greater than max \(1\)",
        ),
        ("[[rules]]\nid='a'\nlevel='street'\nmeasure='population'\nmin=1", "must name its source"),
        ("[[rules]]\nid='a'\nlevel='street'\nmeasure='population'\nsource='s'", "give min, max"),
        (
            "[[rules]]\nid='a'\nlevel='street'\nkinds=['village']\nmeasure='population'\nmin=1\n"
            "source='s'",
            "do not exist at the street level",
        ),
        (
            "[[rules]]\nid='a'\nlevel='street'\nmeasure='population'\nmin='x'\nsource='s'",
            "min must be a number",
        ),
        ("this is = = not toml", "not valid TOML"),
    ],
)
def test_bad_rulebooks_say_what_to_fix(tmp_path, text, match):
    with pytest.raises(RulebookError, match=match):
        load_rulebook(write(tmp_path, text))


def test_missing_rulebook(tmp_path):
    with pytest.raises(RulebookError, match="does not exist"):
        load_rulebook(tmp_path / "nope.toml")


def test_band_deviation():
    assert Band("area_km2", 6, 8).deviation(9) == (1, 12.5)
    assert Band("area_km2", 6, 8).deviation(3) == (-3, -50.0)
    assert Band("area_km2", 6, 8).deviation(7) is None
    assert Band("area_km2", None, 8).deviation(7) is None


def test_findings_name_rule_unit_value_band_and_deviation(tmp_path):
    rb = load_rulebook(write(tmp_path, RULE.format(lo=10_000, hi=12_000)))
    d = build_district(tiny_frames(grid_population=2000))  # 8,000 per street
    found = evaluate_rules(d, rb)
    pops = [f for f in found if f.rule == "street.population"]
    assert len(pops) == 2
    f = pops[0]
    assert (f.value, f.minimum, f.maximum) == (8000, 10_000, 12_000)
    assert f.deviation == -2000 and f.deviation_pct == pytest.approx(-20.0)
    assert f.severity == "error" and f.source == "test" and f.lon is not None
    assert "below the band 10,000–12,000 residents by 2,000 residents (20.0%)" in f.message


def test_towns_are_reported_but_not_judged_by_the_street_guideline():
    frames = tiny_frames(grid_population=2000)
    frames["street"] = frames["street"].assign(
        code=["370299001000", "370299101000"], name=["甲街道", "乙镇"]
    )
    frames = {"street": frames["street"]}
    d = build_district(frames)
    assert list(d.units["street"]["kind"]) == ["street", "town"]
    found = evaluate_rules(d, DEFAULT)
    assert {f.code for f in found if f.rule.startswith("street.")} == {"370299001000"}
    table = status_table(d, DEFAULT, "street", found)
    assert list(table["status"]) == ["outside", "no rule"]  # 4 km² is below 6–8 km²


def test_density_envelope_names_streets_that_cannot_fit():
    d = build_district(tiny_frames(grid_population=30_000))  # 30k per 1 km² grid
    found = evaluate_rules(d, DEFAULT)
    env = [f for f in found if f.rule == "street.density_envelope"]
    assert {f.level for f in env} == {"street", "district"}
    unit = [f for f in env if f.level == "street"][0]
    assert unit.value == pytest.approx(30_000, rel=1e-3)
    assert "too dense" in unit.message and "10,000–20,000" in unit.message
    # a density inside the envelope gives none
    ok = build_district(tiny_frames(grid_population=15_000))  # 15k/km²
    assert not [f for f in evaluate_rules(ok, DEFAULT) if "envelope" in f.rule]


def test_status_table_columns_and_states(tmp_path):
    rb = load_rulebook(write(tmp_path, RULE.format(lo=7_000, hi=9_000)))
    d = build_district(tiny_frames(grid_population=2000))
    t = status_table(d, rb, "street")
    assert list(t["status"]) == ["ok", "ok"]
    assert {"area_km2", "population", "households", "density_per_km2", "broken", "derived"} <= set(
        t.columns
    )
    assert t["density_per_km2"].iloc[0] == pytest.approx(2000, rel=1e-3)
    assert t["derived"].iloc[0] == "population;households"
    assert not math.isnan(t["area_km2"].iloc[0])


# ------------------------------------------------------------------ rural units


def _with_a_village(grid_population: int = 200) -> dict:
    """The tiny district with C4 (bottom-right) a village (村委会, code 2xx)."""
    frames = tiny_frames(grid_population=grid_population)
    village = "370299002201"
    frames["community"] = frames["community"].assign(
        code=frames["community"]["code"].replace("370299002002", village),
        name=frames["community"]["name"].replace("四社区", "四村"),
    )
    grids = frames["grid"]
    grids = grids.assign(
        parent_code=grids["parent_code"].replace("370299002002", village),
        code=[c.replace("370299002002", village) for c in grids["code"]],
    )
    frames["grid"] = grids
    return frames


def test_a_grid_in_a_village_is_a_village_grid_and_gets_no_urban_rule(tmp_path):
    d = build_district(_with_a_village())  # 200 residents ≈ 76 households per grid
    grids = d.units["grid"]
    assert sorted(grids.loc[grids["kind"] == "village_grid", "code"]) == [
        "37029900220101",
        "37029900220102",
    ]
    assert (grids.loc[~grids["parent_code"].eq("370299002201"), "kind"] == "grid").all()
    found = [f for f in evaluate_rules(d, DEFAULT) if f.rule == "grid.households"]
    assert len(found) == 6 and not any(f.code.startswith("370299002201") for f in found)
    table = status_table(d, DEFAULT, "grid", found)
    assert set(table.loc[table["kind"] == "village_grid", "status"]) == {"no rule"}
    # a rule naming the rural kind applies to it
    rb = load_rulebook(
        write(
            tmp_path,
            "[[rules]]\nid='grid.village'\nlevel='grid'\nkinds=['village_grid']\n"
            "measure='households'\nmin=100\nsource='test'\nstatus='confirmed'",
        )
    )
    assert {f.code for f in evaluate_rules(d, rb)} == {"37029900220101", "37029900220102"}


def test_a_rule_without_kinds_applies_to_the_urban_kind_only():
    rule = rulebook_from_dict(
        {"rules": [{"id": "g", "level": "grid", "measure": "households", "min": 1,
                    "source": "s"}]}
    ).rules[0]
    assert rule.kinds == ("grid",)


@pytest.fixture(scope="module")
def sample() -> object:
    from geo.sample.build import sample_district

    return build_district(sample_district())


def test_village_grids_of_the_sample_get_no_grid_band_finding(sample):
    grids = sample.units["grid"]
    communities = sample.units["community"]
    villages = set(communities.loc[communities["kind"] == "village", "code"])
    in_villages = grids["parent_code"].isin(villages)
    assert in_villages.sum() >= 100  # the town's villages are drawn grid by grid
    assert (grids.loc[in_villages, "kind"] == "village_grid").all()
    assert (grids.loc[~in_villages, "kind"] == "grid").all()
    found = [f for f in evaluate_rules(sample, DEFAULT) if f.rule == "grid.households"]
    rural = set(grids.loc[in_villages, "code"])
    assert found and not [f for f in found if f.code in rural]
    assert all(f.severity == "warning" and "advisory" in f.message for f in found)
