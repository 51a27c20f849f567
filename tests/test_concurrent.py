r"""Two users, one plan: every acknowledged edit is kept, clashes are refused with words.

The tiny district (see conftest)::

    +----C1----+----C3----+
    |    S1    |    S2    |      writer A moves C1 and C2, writer B moves C3 and C4,
    +----C2----+----C4----+      each between S1 and S2, interleaved on one stored plan.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import COMMUNITIES, ROOT, tiny_frames

from geo.district.hierarchy import build_district
from geo.errors import PlanError
from geo.plan.base import PlanBase
from geo.plan.model import Plan
from geo.plan.store import PlanStore

C1, C2, C3, C4 = COMMUNITIES
S1, S2 = "370299001000", "370299002000"


@pytest.fixture(scope="module")
def base() -> PlanBase:
    return PlanBase.from_district(build_district(tiny_frames()))


def _stored(path: Path, name: str = "current") -> tuple[int, dict[str, str]]:
    with sqlite3.connect(path) as con:
        (done,) = con.execute(
            "SELECT COUNT(*) FROM wangge_edits WHERE plan = ? AND undone = 0", (name,)
        ).fetchone()
        rows = con.execute(
            "SELECT block_code, street_code FROM wangge_assignments WHERE plan = ?", (name,)
        ).fetchall()
    return int(done), dict(rows)


def _other(street: str) -> str:
    return S2 if street == S1 else S1


def _two_tabs(tmp_path: Path, base: PlanBase) -> tuple[Path, PlanStore, Plan, Plan]:
    """A stored plan open in two tabs: ``a`` (saved it) and ``b`` (loaded it)."""
    path = tmp_path / "p.gpkg"
    store = PlanStore(path)
    a = Plan(base)
    store.save_plan(a)
    return path, store, a, store.load_plan("current", base)


def test_two_writers_interleaving_50_moves_each_keep_all_100(tmp_path, base):
    path = tmp_path / "p.gpkg"
    a_store, b_store = PlanStore(path), PlanStore(path)
    a = Plan(base)
    a_store.save_plan(a)
    b = b_store.load_plan("current", base)
    refreshed = {"a": 0, "b": 0}
    for k in range(50):
        for who, plan, store, blocks in (("a", a, a_store, (C1, C2)), ("b", b, b_store, (C3, C4))):
            block = blocks[k % 2]
            if store.record(plan, plan.move([block], _other(plan.street_of(block)))):
                refreshed[who] += 1
    done, assignment = _stored(path)
    assert done == 100
    assert refreshed["a"] == 49 and refreshed["b"] == 50  # each took the other's move in first
    reloaded = a_store.load_plan("current", base)
    assert len(reloaded.undo_stack) == 100
    for plan in (a, b, reloaded):  # 25 moves each: every block ended on the other street
        assert {c: plan.street_of(c) for c in (C1, C2)} == {C1: S2, C2: S2}
    assert {c: reloaded.street_of(c) for c in COMMUNITIES} == assignment
    assert assignment == {C1: S2, C2: S2, C3: S1, C4: S1}
    table = reloaded.street_table()
    naive = np.bincount(reloaded.assignment, weights=base.population, minlength=len(table))
    np.testing.assert_array_equal(table["population"], naive)


def test_a_clashing_move_is_refused_and_names_what_changed(tmp_path, base):
    path, store, a, b = _two_tabs(tmp_path, base)
    new = a.new_street(name="丙街道")
    store.record(a, a.last_edit)
    store.record(a, a.move([C1], new.code))
    # B still sees C1 in S1 and moves it to S2: A moved it to 丙街道 meanwhile
    with pytest.raises(PlanError, match=r"moved in another tab.*一社区.*丙街道.*not made"):
        store.record(b, b.move([C1], S2))
    assert b.street_of(C1) == new.code  # B now shows A's steps
    done, assignment = _stored(path)
    assert done == 2 and assignment[C1] == new.code
    # the same move made in both tabs is no clash and is stored once
    c = store.load_plan("current", base)
    store.record(a, a.move([C2], S2))
    assert store.record(c, c.move([C2], S2)) is True
    assert _stored(path)[0] == 3


def test_a_stale_undo_refreshes_and_undoes_nothing(tmp_path, base):
    path, store, a, b = _two_tabs(tmp_path, base)
    store.record(b, b.move([C3], S1))
    store.record(a, a.move([C1], S2))  # replayed after B's move
    store.record(b, b.move([C4], S1))
    with pytest.raises(PlanError, match="changed in another tab.*nothing was undone"):
        store.record(a, a.undo())
    assert a.street_of(C4) == S1 and a.street_of(C1) == S2  # A shows every stored step
    assert _stored(path)[0] == 3
    store.record(a, a.undo())  # now in step: takes back B's last move, as stored
    assert _stored(path)[1][C4] == S2


def test_refresh_brings_an_idle_tab_up_to_date(tmp_path, base):
    path, store, a, b = _two_tabs(tmp_path, base)
    assert store.refresh(b) is False
    store.record(a, a.move([C2], S2))
    assert store.refresh(b) is True and b.street_of(C2) == S2
    assert store.refresh(b) is False


_WRITER = r"""
import json, sys, time
sys.path.insert(0, {tests!r})
from conftest import COMMUNITIES, tiny_frames
from geo.district.hierarchy import build_district
from geo.plan.base import PlanBase
from geo.plan.store import PlanStore

mode, start, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
base = PlanBase.from_district(build_district(tiny_frames()))
codes = list(COMMUNITIES)
report = {{"errors": [], "moves": 0}}
while time.time() < start:  # a start gate, so the writers overlap
    time.sleep(0.005)
if mode.startswith("move"):
    who = int(mode[4:])
    store = PlanStore(out + ".gpkg")
    plan = store.load_plan("current", base)
    mine = codes[2 * who: 2 * who + 2]
    for k in range(50):
        block = mine[k % 2]
        other = [s.code for s in plan.streets if s.code != plan.street_of(block)][0]
        try:
            store.record(plan, plan.move([block], other))
            report["moves"] += 1
        except Exception as exc:
            report["errors"].append(f"{{type(exc).__name__}}: {{exc}}")
else:  # open ten new project files, all three processes at once
    for k in range(10):
        try:
            store = PlanStore(f"{{out}}-{{k}}.gpkg")
            plan = store.open_plan("current", base)
            block = codes[int(mode[4:])]
            other = [s.code for s in plan.streets if s.code != plan.street_of(block)][0]
            store.record(plan, plan.move([block], other))
        except Exception as exc:
            report["errors"].append(f"{{type(exc).__name__}}: {{exc}}")
json.dump(report, open(out + f"-{{mode}}.json", "w"))
"""


def _run_writers(tmp_path: Path, modes: list[str], out: Path) -> list[dict]:
    script = _WRITER.format(tests=str(ROOT / "tests"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.time() + 8.0  # time for every process to import geo before the gate opens
    procs = [
        subprocess.Popen([sys.executable, "-c", script, mode, str(start), str(out)], env=env,
                         stderr=subprocess.PIPE, text=True)
        for mode in modes
    ]  # fmt: skip
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    return [json.loads(Path(f"{out}-{mode}.json").read_text()) for mode in modes]


def test_two_processes_interleaving_50_moves_each_keep_all_100(tmp_path, base):
    out = tmp_path / "shared"
    PlanStore(f"{out}.gpkg").save_plan(Plan(base))
    reports = _run_writers(tmp_path, ["move0", "move1"], out)
    assert [r["errors"] for r in reports] == [[], []]
    assert [r["moves"] for r in reports] == [50, 50]
    done, assignment = _stored(Path(f"{out}.gpkg"))
    assert done == 100
    assert assignment == {C1: S2, C2: S2, C3: S1, C4: S1}


def test_three_processes_opening_new_project_files_at_once(tmp_path, base):
    home = tmp_path / "home"
    home.mkdir()
    out = home / "project"
    reports = _run_writers(tmp_path, ["open0", "open1", "open2"], out)
    assert [r["errors"] for r in reports] == [[], [], []]  # no "database is locked" et al.
    for k in range(10):
        done, assignment = _stored(Path(f"{out}-{k}.gpkg"))
        assert done == 3  # each process's move kept
        assert [assignment[c] for c in (C1, C2, C3)] == [S2, S2, S1]
    assert sorted(p.name for p in home.iterdir() if p.name.startswith(".")) == []


def test_two_app_sessions_on_one_plan_keep_both_moves_and_say_so(tmp_path, monkeypatch):
    """Two browser sessions (AppTest) on one plan: the second is told and keeps both moves."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("WANGGE_HOME", str(tmp_path))

    def session() -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.query_params["plan"] = "shared"
        return at.run()

    a, b = session(), session()
    plan = a.session_state["plan"]
    moves, told = [], []
    for at, k in ((a, 3), (b, 30)):
        code = str(plan.base.codes[k])
        target = next(s.code for s in plan.streets if s.code != plan.street_of(code))
        at.session_state["edit_map"] = {
            "last_object_clicked": {"lat": float(plan.base.lat[k]), "lng": float(plan.base.lon[k])}
        }
        at.run()
        told += [el.value for el in (*at.toast, *at.success)]
        assert at.session_state["selection"] == [code]
        at.selectbox(key="move_target").set_value(target)
        at.button(key="move_button").click().run()
        assert not at.exception
        told += [el.value for el in (*at.toast, *at.success)]
        moves.append((code, target))
    assert not a.error and not b.error
    assert told == ["方案已在其他标签页中修改——已更新。"]  # B, once, on its next step
    stored = PlanStore(tmp_path / "sample.gpkg").load_plan("shared", plan.base)
    assert len(stored.undo_stack) == 2
    assert all(stored.street_of(code) == target for code, target in moves)
    assert all(b.session_state["plan"].street_of(code) == target for code, target in moves)


def test_saving_a_plan_if_absent_never_overwrites_stored_steps(tmp_path, base):
    path, store, a, b = _two_tabs(tmp_path, base)
    store.record(a, a.move([C1], S2))
    assert store.save_plan(b, if_absent=True) is False  # b is stale: nothing written
    assert _stored(path) == (1, {C1: S2, C2: S1, C3: S2, C4: S2})
    fresh = Plan(base, name="other")
    assert store.save_plan(fresh, if_absent=True) is True
    assert store.has_plan("other")
