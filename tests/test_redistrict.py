r"""Proposing street plans that meet the bands (6–8 km², 80,000–120,000 residents).

Most tests use strips of communities drawn by hand (metres, UTM 51N). Every
cell is 0.9 km wide and 1 km tall (0.9 km²), so a street of 7 cells has
6.3 km² and one of 8 cells 7.2 km² (in band), 6 cells 5.4 km² and 9 cells
8.1 km² (out). The letter is the street, the number the cell's residents
in thousands::

    TWO: a is too large (9 cells); moving one cell to b fixes both.

      y 2 +----+----+----+----+----+----+----+----+
          | a12| a12| a12| a12| a13| b12| b12| b12|
      y 1 +----+----+----+----+----+----+----+----+
          | a12| a12| a12| a11| b12| b12| b12| b12|
      y 0 +----+----+----+----+----+----+----+----+
          x 0   0.9  1.8  2.7  3.6  4.5  5.4  6.3  7.2 km

    Only a13 (top, column 4) and a11 (bottom, column 3) border b. Either
    move makes both streets 8 cells; a11 moves the fewest residents.

    THREE: a is locked and too small, b too large, c fine.

          | a | a | a | b | b | b | b | b | c | c | c |
          | a | a | a | b | b | b | b | c | c | c | c |

    Unlocked, the best fix gives one cell of b to a; with a locked, b gives
    one to c and a stays out of band.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from conftest import UTM, box, chinese_problems, in_chinese, untranslated
from typer.testing import CliRunner

from geo.cli import app
from geo.district.hierarchy import build_district
from geo.errors import PlanError, RulebookError
from geo.plan.model import Plan
from geo.plan.store import PlanStore
from geo.propose.diagnose import street_count_range
from geo.propose.search import Proposal, propose_plan
from geo.rules.rulebook import load_rulebook, rulebook_from_dict

RULES = load_rulebook()
W, H = 900.0, 1000.0
runner = CliRunner()

# A time limit that never binds: every search here stops on its own long before it, so what
# a test asserts holds on a loaded machine too (speed is measured in bench/, not here).
NO_LIMIT = 900.0

TWO = ["aaaaabbb", "aaaabbbb"]
TWO_POP = {(4, 1): 13_000, (3, 0): 11_000}  # (column, row) -> residents; others 12,000
THREE = ["aaabbbbbccc", "aaabbbbcccc"]


def strip_frames(
    rows: list[str],
    *,
    pop: dict[tuple[int, int], int] | None = None,
    default_pop: int = 12_000,
    x0: float = 0.0,
    frames: dict[str, list[dict]] | None = None,
) -> dict[str, list[dict]]:
    """Communities and streets from an ASCII strip: ``rows[0]`` is the top row."""
    pop = pop or {}
    frames = frames or {"street": [], "community": []}
    counters: dict[str, int] = {}
    cells: dict[str, list] = {}
    n_rows = len(rows)
    for r, line in enumerate(rows):
        y = (n_rows - 1 - r) * H
        for c, letter in enumerate(line):
            street = street_code(letter)
            counters[street] = counters.get(street, 0) + 1
            geom = box(x0 + c * W, y, x0 + (c + 1) * W, y + H)
            cells.setdefault(street, []).append(geom)
            frames["community"].append(
                {
                    "code": f"{street[:9]}{counters[street]:03d}",
                    "name": f"{letter}-{c}-{n_rows - 1 - r}社区",
                    "parent_code": street,
                    "population": pop.get((c, n_rows - 1 - r), default_pop),
                    "households": 4_000,
                    "geometry": geom,
                }
            )
    for street, geoms in cells.items():
        frames["street"].append(
            {"code": street, "name": f"{street[6:9]}街道", "geometry": shapely.union_all(geoms)}
        )
    return frames


def street_code(letter: str) -> str:
    return f"370299{ord(letter) - ord('a') + 1:03d}000"


def district_of(frames: dict[str, list[dict]]):
    return build_district(
        {lv: gpd.GeoDataFrame(rows, crs=UTM).to_crs(4326) for lv, rows in frames.items()}
    )


def cell_code(plan: Plan, column: int, row: int) -> str:
    for code, name in zip(plan.base.codes, plan.base.names, strict=True):
        if name.split("-")[1:] == [str(column), f"{row}社区"]:
            return str(code)
    raise KeyError((column, row))


@pytest.fixture(scope="module")
def two() -> Plan:
    return Plan.from_district(district_of(strip_frames(TWO, pop=TWO_POP)))


@pytest.fixture(scope="module")
def three() -> Plan:
    return Plan.from_district(district_of(strip_frames(THREE)))


def statuses(plan: Plan) -> dict[str, str]:
    table = plan.street_table(RULES)
    return dict(zip(table["code"], table["status"], strict=True))


def check_invariants(before: Plan, proposal: Proposal) -> None:
    """Every street contiguous, every community in one street, residents conserved."""
    after = proposal.plan
    table = after.street_table(RULES)
    assert (table.loc[~table["empty"], "pieces"] == 1).all()
    assert len(after.assignment) == before.base.n_blocks
    assert table["population"].sum() == pytest.approx(before.base.population.sum())
    assert table["area_km2"].sum() == pytest.approx(before.base.area_m2.sum() / 1e6)
    feasible = bool((table.loc[table["status"] != "no rule", "status"] == "ok").all())
    assert proposal.summary["feasible"] is feasible
    assert proposal.summary["in_band_after"] == int((table["status"] == "ok").sum())


# ------------------------------------------------------------------ least change


def test_least_change_moves_the_fewest_residents(two: Plan):
    before = statuses(two)
    assert before == {street_code("a"): "outside", street_code("b"): "ok"}
    proposal = propose_plan(two, RULES, seed=1)
    check_invariants(two, proposal)
    s = proposal.summary
    assert s["feasible"] and s["stop_reason"].startswith("feasible")
    assert s["communities_moved"] == 1 and s["residents_moved"] == 11_000
    assert s["moved_codes"] == [cell_code(two, 3, 0)]
    assert proposal.plan.street_of(cell_code(two, 3, 0)) == street_code("b")
    assert s["in_band_before"] == 1 and s["in_band_after"] == 2
    assert s["in_band_after_codes"] == [street_code("a"), street_code("b")]
    assert s["streets_added"] == [] and s["streets_removed"] == []
    assert proposal.plan.name == "proposal-least-change-1"
    assert not [f for f in proposal.findings if f.rule.startswith("propose.")]


def test_the_input_plan_is_never_modified(two: Plan):
    assignment = two.assignment.copy()
    propose_plan(two, RULES, seed=1)
    propose_plan(two, RULES, mode="scratch", seed=1)
    assert (two.assignment == assignment).all() and not two.can_undo


def test_an_already_feasible_plan_is_left_alone(two: Plan):
    fixed = two.copy(name="fixed")
    fixed.move([cell_code(two, 3, 0)], street_code("b"))
    proposal = propose_plan(fixed, RULES)
    assert proposal.summary["stop_reason"] == "already feasible: nothing to move"
    assert proposal.summary["communities_moved"] == 0
    assert (proposal.plan.assignment == fixed.assignment).all()


def test_same_seed_same_proposal(three: Plan):
    runs = [propose_plan(three, RULES, mode=mode, seed=7) for mode in ("scratch", "scratch")]
    assert (runs[0].plan.assignment == runs[1].plan.assignment).all()
    drop = {"elapsed_s"}
    assert {k: v for k, v in runs[0].summary.items() if k not in drop} == {
        k: v for k, v in runs[1].summary.items() if k not in drop
    }
    again = [propose_plan(three, RULES, seed=3) for _ in range(2)]
    assert (again[0].plan.assignment == again[1].plan.assignment).all()


# ------------------------------------------------------------------ locked streets


def test_unlocked_the_small_street_takes_a_cell(three: Plan):
    proposal = propose_plan(three, RULES)
    check_invariants(three, proposal)
    assert proposal.summary["feasible"]
    assert proposal.summary["communities_moved"] == 1
    assert len(proposal.plan.blocks_of(street_code("a"))) == 7


def assert_chinese(findings, words: str) -> None:
    """The findings read in Chinese (no English word), naming their places, with ``words``."""
    with in_chinese() as ui:
        texts = [ui.finding_message(f) for f in findings]
    for f, t in zip(findings, texts, strict=True):
        assert not untranslated(f.template, f.args), f.message
        assert not chinese_problems(f.message, t, keep=(f.name,)), t
        assert not f.name or f.level == "district" or f.name in t, t
    assert any(words in t for t in texts), texts


def test_locked_streets_stay_exactly_as_they_are(three: Plan):
    locked = three.copy(name="locked")
    locked.set_locked(street_code("a"), True)
    proposal = propose_plan(locked, RULES)
    check_invariants(locked, proposal)
    a = street_code("a")
    mine = three.assignment == three.streets.index(three.street(a))
    after = proposal.plan
    assert after.street(a).locked
    assert after.blocks_of(a) == three.blocks_of(a)  # nothing left, nothing entered
    ka = [s.code for s in after.streets].index(a)
    assert ((after.assignment == ka) == mine).all()
    st = statuses(after)
    assert st[a] == "outside" and st[street_code("b")] == "ok" and st[street_code("c")] == "ok"
    assert not proposal.summary["feasible"]
    rules = {f.rule for f in proposal.findings}
    assert "propose.locked" in rules
    (lock,) = [f for f in proposal.findings if f.rule == "propose.locked"]
    assert lock.code == a and lock.lon is not None and "Unlock it" in lock.message
    assert "km²" in lock.message or "residents" in lock.message  # the bands it breaks, in words
    assert_chinese([lock], "已锁定")


def test_scratch_keeps_locked_streets_too(three: Plan):
    locked = three.copy(name="locked")
    locked.set_locked(street_code("a"), True)
    calls: list[tuple[str, float]] = []
    proposal = propose_plan(
        locked, RULES, mode="scratch", progress=lambda text, frac: calls.append((text, frac))
    )
    check_invariants(locked, proposal)
    assert proposal.plan.blocks_of(street_code("a")) == three.blocks_of(street_code("a"))
    assert statuses(proposal.plan)[street_code("a")] == "outside"
    assert calls and calls[-1] == ("done", 1.0)
    assert all(0.0 <= frac <= 1.0 for _, frac in calls)


def test_all_locked_raises(three: Plan):
    plan = three.copy(name="all")
    for s in plan.streets:
        plan.set_locked(s.code, True)
    with pytest.raises(PlanError, match="nothing can move: unlock at least one street"):
        propose_plan(plan, RULES)


# ------------------------------------------------------------------ infeasible cases


def test_density_envelope_is_reported():
    """Every community at 30,000 residents/km²: no street can meet both bands."""
    frames = strip_frames(TWO, default_pop=27_000)
    plan = Plan.from_district(district_of(frames))
    proposal = propose_plan(plan, RULES, time_limit_s=10)
    check_invariants(plan, proposal)
    assert not proposal.summary["feasible"]
    env = [f for f in proposal.findings if f.rule == "propose.density_envelope"]
    assert env and env[0].value == pytest.approx(30_000, rel=1e-3)
    assert env[0].maximum == 20_000 and env[0].lon is not None and env[0].lat is not None
    assert len(env[0].related) == 16
    assert "too dense" in env[0].message and "10,000–20,000" in env[0].message
    assert not [f for f in proposal.findings if f.rule == "propose.not_found"]


def test_oversized_community_is_reported():
    """One community of 9 km² (larger than any street may be) beside a fine street.

    ::

        +-----------+---+---+
        |           | b | b |
        |  big 9km² +---+---+
        |  (a)      | b | b |
        |           +---+---+
        |           | b | b |
        +-----------+---+---+   b cells 1 x 1.1 km
    """
    frames = {"street": [], "community": []}
    a, b = street_code("a"), street_code("b")
    frames["community"].append(
        {
            "code": a[:9] + "001",
            "name": "big社区",
            "parent_code": a,
            "population": 100_000,
            "households": 40_000,
            "geometry": box(0, 0, 3000, 3000),
        }
    )
    cells = []
    for i in range(6):
        g = box(3000 + (i % 2) * 1100, (i // 2) * 1000, 4100 + (i % 2) * 1100, (i // 2 + 1) * 1000)
        cells.append(g)
        frames["community"].append(
            {
                "code": f"{b[:9]}{i + 1:03d}",
                "name": f"b{i}社区",
                "parent_code": b,
                "population": 15_000,
                "households": 6_000,
                "geometry": g,
            }
        )
    frames["street"] = [
        {"code": a, "name": "甲街道", "geometry": box(0, 0, 3000, 3000)},
        {"code": b, "name": "乙街道", "geometry": shapely.union_all(cells)},
    ]
    plan = Plan.from_district(district_of(frames))
    proposal = propose_plan(plan, RULES, time_limit_s=10)
    check_invariants(plan, proposal)
    big = [f for f in proposal.findings if f.rule == "propose.oversized_community"]
    assert len(big) == 1 and big[0].code == a[:9] + "001"
    # 9 km² drawn in UTM: its true (equal-area) area is within 0.2 % of that
    assert big[0].value == pytest.approx(9.0, rel=2e-3) and big[0].maximum == pytest.approx(8.0)
    assert "never split" in big[0].message
    assert_chinese(big, "超过一个街道的上限")
    assert statuses(proposal.plan)[b] == "ok"
    assert not proposal.summary["feasible"]


def test_an_island_too_small_for_a_street_is_reported():
    """TWO plus two cells of street c 1 km east of it, touching nothing."""
    frames = strip_frames(TWO, pop=TWO_POP)
    frames = strip_frames(["c", "c"], x0=8 * W + 1000, frames=frames)
    plan = Plan.from_district(district_of(frames))
    proposal = propose_plan(plan, RULES, time_limit_s=10)
    check_invariants(plan, proposal)
    island = [f for f in proposal.findings if f.rule == "propose.island"]
    assert len(island) == 1
    c_blocks = plan.blocks_of(street_code("c"))
    assert sorted(island[0].related) == sorted(c_blocks)
    assert "too small to form even one street" in island[0].message
    assert_chinese(island, "连一个街道都不够")
    st = statuses(proposal.plan)
    assert st[street_code("a")] == "ok" and st[street_code("b")] == "ok"
    assert st[street_code("c")] == "outside" and not proposal.summary["feasible"]


def test_a_region_cut_off_by_a_locked_street_is_an_island():
    """b (locked) separates the fine street a from c, which is too small on its own."""
    frames = strip_frames(["aaaabbbbcc", "aaaabbbbcc"])
    plan = Plan.from_district(district_of(frames))
    plan.set_locked(street_code("b"), True)
    proposal = propose_plan(plan, RULES, time_limit_s=10)
    check_invariants(plan, proposal)
    island = [f for f in proposal.findings if f.rule == "propose.island"]
    assert [sorted(f.related) for f in island] == [sorted(plan.blocks_of(street_code("c")))]
    assert "locked streets" in island[0].message
    assert_chinese(island, "被锁定街道")


# ------------------------------------------------------------------ street counts, modes


def test_street_count_range_follows_the_totals(two: Plan):
    # 14.4 km², 192,000 residents: area allows 2 (1.8-2.4), residents 2 (1.6-2.4)
    assert street_count_range(two, RULES) == (1, 3)
    assert street_count_range(two, RULES, widen=0) == (2, 2)


def test_scratch_grows_new_streets_with_derived_codes():
    """Four TWO strips side by side (64 cells, 57.6 km², 768,000 residents): 8 streets fit."""
    frames = strip_frames(["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"] * 2)
    plan = Plan.from_district(district_of(frames))
    proposal = propose_plan(plan, RULES, mode="scratch", n_streets=8, time_limit_s=NO_LIMIT)
    check_invariants(plan, proposal)
    s = proposal.summary
    assert s["feasible"] and s["streets_after"] == 8 and s["in_band_after"] == 8
    assert len(s["streets_added"]) == 7
    codes = [st.code for st in proposal.plan.streets]
    assert codes[0] == street_code("a") and len(set(codes)) == 8
    assert all(len(c) == 12 and c.startswith("370299") for c in codes)
    names = [st.name for st in proposal.plan.streets[1:]]
    assert names == [f"新街道{i}" for i in range(1, 8)]
    assert proposal.plan.name == "proposal-scratch-20170419"


def test_least_change_splits_a_street_too_big_for_one():
    """One street over the whole 16 cells: 14.4 km², 192,000 residents make two streets."""
    frames = strip_frames(["aaaaaaaa", "aaaaaaaa"])
    plan = Plan.from_district(district_of(frames))
    proposal = propose_plan(plan, RULES, time_limit_s=NO_LIMIT)
    check_invariants(plan, proposal)
    assert proposal.summary["feasible"] and proposal.summary["streets_after"] == 2
    assert proposal.summary["communities_moved"] == 8
    assert proposal.summary["residents_moved"] == 96_000


def test_emptied_streets_are_removed():
    """Three small streets, 4 + 4 + 8 cells, with room for only two."""
    frames = strip_frames(["aabbcccc", "aabbcccc"])
    plan = Plan.from_district(district_of(frames))
    proposal = propose_plan(plan, RULES, n_streets=2, time_limit_s=NO_LIMIT)
    check_invariants(plan, proposal)
    s = proposal.summary
    assert s["feasible"] and s["streets_after"] == 2 and len(s["streets_removed"]) == 1
    assert len(proposal.plan.streets) == 2
    assert not proposal.plan.street_table(RULES)["empty"].any()


def test_an_impossible_count_is_reported(two: Plan):
    proposal = propose_plan(two, RULES, n_streets=4, time_limit_s=5)
    assert proposal.summary["streets_after"] == 4
    count = [f for f in proposal.findings if f.rule == "propose.street_count"]
    assert count
    assert_chinese(count, "要求的街道数为 4–4 个")
    assert not proposal.summary["feasible"]


def test_bad_arguments_are_refused(two: Plan):
    with pytest.raises(PlanError, match="Unknown mode 'fast'"):
        propose_plan(two, RULES, mode="fast")
    with pytest.raises(PlanError, match=r"min_streets \(3\) is greater than max_streets \(2\)"):
        propose_plan(two, RULES, min_streets=3, max_streets=2)
    with pytest.raises(PlanError, match="time_limit_s must be positive"):
        propose_plan(two, RULES, time_limit_s=0)


def test_a_rulebook_without_a_street_band_is_refused(two: Plan):
    book = rulebook_from_dict(
        {
            "rules": [
                {
                    "id": "community.population",
                    "level": "community",
                    "measure": "population",
                    "min": 5000,
                    "max": 12000,
                    "source": "test",
                }
            ]
        }
    )
    with pytest.raises(RulebookError, match="no band for street offices"):
        propose_plan(two, book)


def test_the_loader_refuses_a_band_with_min_above_max(tmp_path: Path):
    path = tmp_path / "bad.toml"
    path.write_text(
        '[[rules]]\nid = "street.area_km2"\nlevel = "street"\nmeasure = "area_km2"\n'
        'min = 8\nmax = 6\nsource = "test"\n',
        encoding="utf-8",
    )
    with pytest.raises(RulebookError, match=r"min \(8\) is greater than max \(6\)"):
        load_rulebook(path)


# ------------------------------------------------------------------ the sample district


@pytest.fixture(scope="module")
def sample_plan(sample_built) -> Plan:
    return Plan.from_district(sample_built)


@pytest.fixture(scope="module")
def sample_least_change(sample_plan: Plan) -> Proposal:
    return propose_plan(sample_plan, RULES, time_limit_s=NO_LIMIT)


def test_sample_least_change_puts_every_street_in_band(sample_plan: Plan, sample_least_change):
    """The sample's dense core (up to 31,000/km²) only fits in wedges mixed with sparse land.

    Least change gets all 9 street offices in band; the town keeps its villages.
    """
    proposal = sample_least_change
    check_invariants(sample_plan, proposal)
    s = proposal.summary
    assert s["in_band_before"] == 4 and s["streets_before"] == 9
    assert s["in_band_after"] >= s["in_band_before"]
    assert s["feasible"], [f.message for f in proposal.findings]
    assert s["in_band_after"] == s["streets_after"] == 9
    town = "370299101000"
    assert proposal.plan.blocks_of(town) == sample_plan.blocks_of(town)
    assert s["residents_moved"] < 0.4 * sample_plan.base.population.sum()


def test_sample_scratch_is_feasible_too(sample_plan: Plan):
    proposal = propose_plan(sample_plan, RULES, mode="scratch", time_limit_s=NO_LIMIT)
    check_invariants(sample_plan, proposal)
    assert proposal.summary["feasible"]


def test_proposal_to_dict_is_json(two: Plan):
    proposal = propose_plan(two, RULES, seed=1)
    doc = json.loads(json.dumps(proposal.to_dict(), ensure_ascii=False))
    assert doc["feasible"] is True and doc["seed"] == 1 and doc["mode"] == "least_change"
    assert isinstance(doc["findings"], list)
    assert all(math.isfinite(r["area_km2_after"]) for r in doc["streets"])


# ------------------------------------------------------------------ the command


@pytest.fixture
def home(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("WANGGE_HOME", str(tmp_path))
    return tmp_path


def test_cli_propose_saves_a_new_plan_and_never_overwrites(home: Path):
    """On TWO written to a file (the sample's proposal is tested above, without the CLI)."""
    frames = strip_frames(TWO, pop=TWO_POP)
    src = home / "two.gpkg"
    for level, rows in frames.items():
        gpd.GeoDataFrame(rows, crs=UTM).to_crs(4326).to_file(src, layer=level, driver="GPKG")
    project = home / "two-plans.gpkg"
    args = ["propose", str(src), "--project", str(project), "--time-limit", str(NO_LIMIT)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "every street in band" in result.output and "proposal-least-change-20170419" in (
        result.output
    )
    assert "001街道" in result.output and "outside → ok" in result.output
    store = PlanStore(project)
    assert store.has_plan("proposal-least-change-20170419")
    again = runner.invoke(app, [*args, "--format", "json"])
    assert again.exit_code == 0, again.output
    doc = json.loads(again.stdout)
    assert doc["saved_as"] == "proposal-least-change-20170419-2"
    assert doc["feasible"] is True and doc["in_band_after"] == 2
    assert set(store.list_plans()["name"]) == {
        "proposal-least-change-20170419",
        "proposal-least-change-20170419-2",
    }
    district = district_of(frames)
    saved = store.load_plan("proposal-least-change-20170419", district)
    table = saved.street_table(RULES)
    assert (table.loc[table["status"] != "no rule", "status"] == "ok").all()


def test_cli_propose_starts_from_the_projects_current_plan(home: Path, sample_built):
    """A street locked in the stored current plan, and one locked with --lock, stay put."""
    district = sample_built
    current = Plan.from_district(district, name="current")
    current.set_locked("370299003000", True)
    project = home / "mine.gpkg"
    PlanStore(project).save_plan(current)
    result = runner.invoke(
        app,
        [
            "propose",
            "--project",
            str(project),
            "--lock",
            "370299007000",
            "--time-limit",
            "8",
            "--name",
            "mine",
            "--format",
            "json",
        ],
    )
    assert result.exit_code in (0, 1), result.output
    doc = json.loads(result.stdout)
    assert doc["saved_as"] == "mine" and doc["project"] == str(project)
    saved = PlanStore(project).load_plan("mine", district)
    for code in ("370299003000", "370299007000"):
        assert saved.street(code).locked
        assert saved.blocks_of(code) == current.blocks_of(code)
    assert doc["feasible"] is (result.exit_code == 0)


def test_cli_propose_refuses_bad_input(home: Path):
    result = runner.invoke(app, ["propose", "--lock", "370299999000"])
    assert result.exit_code == 2 and "no such street" in result.output
    result = runner.invoke(app, ["propose", "--streets", "9", "--min-streets", "8"])
    assert result.exit_code == 2 and "not both" in result.output
    result = runner.invoke(app, ["propose", "--mode", "fast"])
    assert result.exit_code == 2 and "least-change, scratch or compact" in result.output
    assert (
        not (home / "sample.gpkg").exists()
        or not PlanStore(home / "sample.gpkg").list_plans()["name"].tolist()
    )


def test_cli_propose_exits_1_when_a_band_is_still_broken(home: Path):
    result = runner.invoke(
        app, ["propose", "--streets", "12", "--time-limit", "5", "--format", "json"]
    )
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    assert doc["feasible"] is False
    assert any(f["rule"] == "propose.street_count" for f in doc["findings"])
    np.testing.assert_equal(doc["streets_after"], 12)


@pytest.mark.slow
def test_compactness_weight_keeps_sample_streets_rounder(sample_plan: Plan, sample_least_change):
    """With compactness at most a tie-breaker, least change cuts long wedges (mean ~0.24)."""
    plain = sample_least_change  # default: least change first
    proposal = propose_plan(sample_plan, RULES, time_limit_s=NO_LIMIT, compactness_weight=1.0)
    check_invariants(sample_plan, proposal)
    s, s0 = proposal.summary, plain.summary
    assert s["compactness_weight"] > 0 and s0["compactness_weight"] == 0
    assert s["compactness_mean_after"] > s0["compactness_mean_after"]
    assert s["feasible"] and s["in_band_after"] == 9


@pytest.mark.slow
def test_on_the_sample_recombined_least_change_is_rounder_within_the_balanced_budget(
        sample_plan: Plan, sample_least_change):
    """The sample's fewest-moved plan (mean compactness about 0.26, a street near 0.11),
    recombined at a cost per resident moved, is rounder and moves at most 1.5 × as many
    residents: the balanced alternative. Every street stays in both bands."""
    fewest = sample_least_change  # the default seed, no time limit
    balanced = propose_plan(sample_plan, RULES, time_limit_s=NO_LIMIT, recombine_weight=0.3)
    check_invariants(sample_plan, balanced)  # contiguous, conserved
    for p in (fewest, balanced):
        assert p.feasible and p.summary["in_band_after"] == p.summary["streets_after"] == 9
    moved = fewest.summary["residents_moved"]
    assert moved < balanced.summary["residents_moved"] <= 1.5 * moved
    mean = {name: np.mean([r["compactness_after"] for r in p.summary["streets"]])
            for name, p in (("fewest", fewest), ("balanced", balanced))}
    assert mean["balanced"] > mean["fewest"] + 0.02
