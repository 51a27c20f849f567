"""Siting new facilities: the array core against hand-solved and brute-forced answers,
the GeoDataFrame adapter on the tiny district, and ``wangge site`` on the sample."""

from __future__ import annotations

import itertools
import json
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import UTM, X0, Y0, tiny_frames
from scipy.optimize import linprog
from typer.testing import CliRunner

from geo.access.network import network_from_tables
from geo.access.reach import nearest_source_distance
from geo.cli import app
from geo.district.hierarchy import build_district
from geo.errors import EmptyInputError, InputError, RulebookError
from geo.rules.rulebook import load_rulebook
from geo.siting.api import propose_sites
from geo.siting.cover import maximal_cover, min_sites_for_share

RULES = load_rulebook()
runner = CliRunner()

# ------------------------------------------------------------------ hand-solved cores


def three_sites():
    """Six residents in a row; greedy's first pick is the wrong one for k = 2.

    ::

        a1    a2    a3        b1    b2    b3      (1 resident each)
        [------ L ------]    [------ R ------]
              [---------- X ----------]

    X reaches a2 a3 b1 b2 (4), L reaches a1 a2 a3 (3), R reaches b1 b2 b3 (3).
    k = 1: X (4). k = 2: L + R (6); greedy takes X first and ends with 5.
    """
    a1, a2, a3, b1, b2, b3 = range(6)
    sets = [np.array([a1, a2, a3]), np.array([b1, b2, b3]), np.array([a2, a3, b1, b2])]
    return sets, np.ones(6)


L, R, X = 0, 1, 2


def test_maximal_cover_hand_solved():
    sets, w = three_sites()
    one = maximal_cover(sets, w, k=1)
    assert one.sites.tolist() == [X] and one.objective == 4 and one.optimal
    two = maximal_cover(sets, w, k=2)
    assert sorted(two.sites.tolist()) == [L, R] and two.objective == 6
    assert two.method == "exact" and two.gap == 0.0
    assert two.demand_served.tolist() == [1.0] * 6
    assert two.site_weight.sum() == pytest.approx(two.objective)


def test_greedy_misses_the_hand_solved_optimum_and_says_by_how_much():
    sets, w = three_sites()
    greedy = maximal_cover(sets, w, k=2, exact=False)
    assert greedy.method == "greedy" and greedy.objective == 5 and not greedy.optimal
    assert greedy.sites[0] == X
    # LP bound of this instance is 6, so the reported gap is at least the true (6-5)/6.
    assert greedy.gap is not None and greedy.gap >= 1 / 6 - 1e-9
    assert "greedy, within" in greedy.method_text and "LP bound" in greedy.method_text


def test_set_cover_hand_solved():
    sets, w = three_sites()
    assert sorted(min_sites_for_share(sets, w, share=1.0).sites.tolist()) == [L, R]
    four_of_six = min_sites_for_share(sets, w, share=4 / 6)
    assert four_of_six.sites.tolist() == [X] and four_of_six.optimal
    # With 4 residents already covered elsewhere (total 10), 80% needs 4 more: X alone.
    s = min_sites_for_share(sets, w, share=0.8, covered_weight=4.0, total_weight=10.0)
    assert s.sites.tolist() == [X] and s.objective == 4
    # Already at the target: no site.
    none = min_sites_for_share(sets, w, share=0.3, covered_weight=4.0, total_weight=10.0)
    assert len(none.sites) == 0 and "no new site is needed" in none.notes[0]


def capacity_instance():
    """Site S reaches all three points but serves 3 households; T reaches only b.

    ::

        a: 6 residents, 2 households ─┐
        b: 6 residents, 3 households ─┼─ S (capacity 3 households)
        c: 3 residents, 1 household  ─┘
        b ───────────────────────────── T (capacity 10 households)

    k = 1: S serving a + c (3 households, 9 residents) beats S serving b (6)
    and T (6). Without capacity S covers all 15. k = 2: T serves b, S a + c: 15.
    """
    sets = [np.array([0, 1, 2]), np.array([1])]
    return sets, np.array([6.0, 6.0, 3.0]), np.array([2.0, 3.0, 1.0]), np.array([3.0, 10.0])


def test_capacity_hand_solved():
    sets, w, hh, cap = capacity_instance()
    assert maximal_cover(sets, w, k=1).objective == 15
    one = maximal_cover(sets, w, k=1, capacity=cap, hh=hh)
    assert one.sites.tolist() == [0] and one.objective == pytest.approx(9)
    assert one.site_households.tolist() == pytest.approx([3.0])
    assert one.demand_served.tolist() == pytest.approx([1.0, 0.0, 1.0])
    two = maximal_cover(sets, w, k=2, capacity=cap, hh=hh)
    assert two.objective == pytest.approx(15)
    assert dict(zip(two.sites.tolist(), two.site_weight.tolist(), strict=True)) == pytest.approx(
        {0: 9.0, 1: 6.0}
    )
    for greedy in (True,):
        g = maximal_cover(sets, w, k=2, capacity=cap, hh=hh, exact=not greedy)
        assert g.objective == pytest.approx(15)
    s = min_sites_for_share(sets, w, share=1.0, capacity=cap, hh=hh)
    assert len(s.sites) == 2
    with pytest.raises(InputError, match=r"best possible is 60\.0%"):
        min_sites_for_share(sets[:1], w, share=0.9, capacity=cap[:1], hh=hh)


# ------------------------------------------------------------- against brute force


def random_instance(rng, *, n_max=8, m_max=20):
    n = int(rng.integers(2, n_max + 1))
    m = int(rng.integers(1, m_max + 1))
    sets = [np.flatnonzero(rng.random(m) < rng.uniform(0.1, 0.5)) for _ in range(n)]
    w = rng.integers(0, 30, m).astype(float)
    if not any(w[s].sum() > 0 for s in sets):
        sets[0] = np.arange(m)
        w[0] = 1.0
    return sets, w


def brute_cover(sets, w, k):
    best = 0.0
    for combo in itertools.combinations(range(len(sets)), k):
        hit = np.zeros(len(w), dtype=bool)
        for j in combo:
            hit[sets[j]] = True
        best = max(best, float(w[hit].sum()))
    return best


def brute_capacity(sets, w, hh, cap, k):
    """Best served weight over every k-subset; the assignment by an independent LP."""
    best = 0.0
    for combo in itertools.combinations(range(len(sets)), k):
        pairs = [(i, j) for j in combo for i in sets[j]]
        if not pairs:
            continue
        c = -np.array([w[i] for i, _ in pairs])
        rows = []
        ub = []
        for i in range(len(w)):
            rows.append([1.0 if p[0] == i else 0.0 for p in pairs])
            ub.append(1.0)
        for j in combo:
            rows.append([hh[p[0]] if p[1] == j else 0.0 for p in pairs])
            ub.append(cap[j])
        res = linprog(c, A_ub=np.array(rows), b_ub=np.array(ub), bounds=(0, 1), method="highs")
        best = max(best, -res.fun)
    return best


def test_exact_equals_brute_force_on_random_instances():
    rng = np.random.default_rng(20240611)
    for _ in range(120):
        sets, w = random_instance(rng)
        k = int(rng.integers(1, len(sets) + 1))
        sol = maximal_cover(sets, w, k=k)
        assert sol.optimal and sol.method == "exact"
        assert sol.objective == pytest.approx(brute_cover(sets, w, k), abs=1e-6)
        # the reported sites really cover what is claimed
        hit = np.zeros(len(w), dtype=bool)
        for j in sol.sites:
            hit[sets[j]] = True
        assert float(w[hit].sum()) == pytest.approx(sol.objective)
        assert len(sol.sites) <= k


def test_exact_with_capacity_equals_brute_force():
    rng = np.random.default_rng(7)
    for _ in range(40):
        sets, w = random_instance(rng, n_max=6, m_max=10)
        hh = rng.integers(1, 5, len(w)).astype(float)
        cap = rng.integers(1, 12, len(sets)).astype(float)
        k = int(rng.integers(1, len(sets) + 1))
        sol = maximal_cover(sets, w, k=k, capacity=cap, hh=hh)
        assert sol.objective == pytest.approx(brute_capacity(sets, w, hh, cap, k), abs=1e-6)
        assert (sol.site_households <= cap[sol.sites] + 1e-6).all()
        greedy = maximal_cover(sets, w, k=k, capacity=cap, hh=hh, exact=False)
        assert greedy.objective <= sol.objective + 1e-6
        if greedy.gap is not None and sol.objective > 0:
            assert greedy.gap >= (sol.objective - greedy.objective) / sol.objective - 1e-6


def test_fewest_sites_equals_brute_force():
    rng = np.random.default_rng(11)
    for _ in range(80):
        sets, w = random_instance(rng)
        share = float(rng.uniform(0.05, 1.0))
        total = w.sum()
        best_share = w[np.unique(np.concatenate(sets))].sum() / total
        if share > best_share:
            with pytest.raises(InputError, match="best possible"):
                min_sites_for_share(sets, w, share=share)
            continue
        sol = min_sites_for_share(sets, w, share=share)
        fewest = next(
            p for p in range(1, len(sets) + 1) if brute_cover(sets, w, p) >= share * total - 1e-9
        )
        assert len(sol.sites) == fewest and sol.optimal
        # and with that many sites, as many residents as possible
        assert sol.objective == pytest.approx(brute_cover(sets, w, fewest))
        greedy = min_sites_for_share(sets, w, share=share, exact=False)
        assert len(greedy.sites) >= fewest
        assert greedy.objective >= share * total - 1e-6
        assert greedy.bound is not None and greedy.bound <= fewest


def test_greedy_within_1_minus_1_over_e_and_its_gap_bounds_the_true_gap():
    rng = np.random.default_rng(3)
    for _ in range(150):
        sets, w = random_instance(rng, n_max=10, m_max=30)
        k = int(rng.integers(1, len(sets) + 1))
        exact = maximal_cover(sets, w, k=k)
        greedy = maximal_cover(sets, w, k=k, exact=False)
        assert greedy.objective >= (1 - 1 / math.e) * exact.objective - 1e-9
        assert greedy.bound is not None and greedy.bound >= exact.objective - 1e-6
        true_gap = (exact.objective - greedy.objective) / exact.objective
        assert greedy.gap is not None and greedy.gap >= true_gap - 1e-9


def test_identical_coverage_sets_are_merged_and_matrix_input_agrees():
    from scipy import sparse

    rng = np.random.default_rng(5)
    sets = [np.flatnonzero(rng.random(400) < 0.2) for _ in range(12)]
    w = rng.uniform(0, 10, 400)
    sol = maximal_cover(sets, w, k=3)
    assert sol.demand_rows < sol.demand_points
    mat = sparse.lil_matrix((12, 400))
    for j, s in enumerate(sets):
        mat[j, s] = 1
    assert maximal_cover(mat.tocsr(), w, k=3).objective == pytest.approx(sol.objective)


def test_time_limit_and_size_fall_back_to_greedy_with_a_note():
    sets, w = three_sites()
    sol = maximal_cover(sets, w, k=2, max_nonzeros=5)
    assert sol.method == "greedy" and "nonzeros" in sol.notes[0]


def test_solver_timeout_falls_back_to_greedy(monkeypatch):
    from types import SimpleNamespace

    from geo.siting import solvers as siting

    timed_out = SimpleNamespace(x=None, status=1, mip_dual_bound=None, fun=None)
    monkeypatch.setattr(siting, "_milp", lambda model, time_limit_s: timed_out)
    monkeypatch.setattr(siting, "_lp", lambda model, time_limit_s: None)
    sets, w = three_sites()
    sol = maximal_cover(sets, w, k=2, exact=True, time_limit_s=1)
    assert sol.method == "greedy" and not sol.optimal and sol.objective == 5
    assert any("time limit (1 s)" in n for n in sol.notes)
    # No LP: the online bound of submodularity still bounds the gap. After X and L only
    # b3 is left, so the two largest marginal gains add 1: bound 5 + 1 = 6, exact here.
    assert sol.bound == pytest.approx(6) and sol.gap == pytest.approx(1 / 6)


def test_core_errors():
    sets, w = three_sites()
    with pytest.raises(InputError, match="no candidate sites"):
        maximal_cover([], w, k=1)
    with pytest.raises(InputError, match="only 3 candidate sites"):
        maximal_cover(sets, w, k=4)
    with pytest.raises(InputError, match="at least 1"):
        maximal_cover(sets, w, k=0)
    with pytest.raises(InputError, match="No candidate site reaches"):
        maximal_cover([np.array([], dtype=int)], w, k=1)
    with pytest.raises(InputError, match="non-negative"):
        maximal_cover(sets, -w, k=1)
    # L covers 3 of the 6 uncovered; with 3 covered already: (3 + 3) / 9 at best.
    with pytest.raises(InputError, match=r"best possible is 66\.7% \(33\.3% covered now\)"):
        min_sites_for_share(sets[:1], w, share=0.9, covered_weight=3.0)
    with pytest.raises(InputError, match="at most 1"):
        min_sites_for_share(sets, w, share=1.5)
    with pytest.raises(InputError, match="hh"):
        maximal_cover(sets, w, k=1, capacity=[1, 1, 1])


# ------------------------------------------------------------------ the adapter


@pytest.fixture(scope="module")
def tiny():
    """The tiny district (4 km × 2 km, 16,000 residents) on a 100 m street lattice.

    ::

        2000 +----+----+----+----+
             |              Q    |   Q (3500, 1950): near the top edge, half its
             |                   |   reach falls outside the district
        1000 +----+----+----+----+
             |  EP               |   E (500, 500): an existing centre
             |                   |   P (600, 500): next to E, reaching mostly
           0 +----+----+----+----+   residents E already covers
             0   1000 2000 3000 4000
    """
    district = build_district(tiny_frames(), household_size=RULES.household_size)
    xs, ys = np.arange(0, 4001, 100), np.arange(0, 2001, 100)
    gx, gy = np.meshgrid(xs, ys)
    ids = np.arange(gx.size).reshape(gx.shape)
    nodes = pd.DataFrame({"id": ids.ravel(), "x": X0 + gx.ravel(), "y": Y0 + gy.ravel()})
    edges = pd.concat(
        [
            pd.DataFrame({"u": ids[:, :-1].ravel(), "v": ids[:, 1:].ravel()}),
            pd.DataFrame({"u": ids[:-1, :].ravel(), "v": ids[1:, :].ravel()}),
        ]
    ).assign(length=100.0)
    net = network_from_tables(nodes, edges, crs=UTM, source="tiny lattice")
    return district, net


def points(xy, **cols):
    return gpd.GeoDataFrame(
        cols, geometry=[shapely.Point(X0 + x, Y0 + y) for x, y in xy], crs=UTM
    ).to_crs(4326)


EXISTING = points([(500, 500)], type=["community_service_centre"], name=["E"])
PQ = points([(600, 500), (3500, 1950)], name=["P", "Q"], id=["p", "q"])


def recount(result, net, existing):
    """Covered residents from scratch: all sources (existing + new) at once."""
    dem = result.demand.to_crs(net.crs)
    src = pd.concat([existing.to_crs(net.crs).geometry, result.sites.to_crs(net.crs).geometry])
    s_node, s_off = net.snap(shapely.get_x(src.values), shapely.get_y(src.values))
    d_node, d_off = net.snap(shapely.get_x(dem.geometry.values), shapely.get_y(dem.geometry.values))
    dist = nearest_source_distance(net.graph, s_node, s_off, limit_m=500)[d_node] + d_off
    return float(dem["population"][dist <= 500].sum())


def test_existing_coverage_is_not_counted_again(tiny):
    district, net = tiny
    r = propose_sites(
        district,
        RULES,
        facility_type="community_service_centre",
        k=1,
        candidates=PQ,
        network=net,
        facilities=EXISTING,
    )
    s = r.summary
    reach_all = r.candidates.set_index("candidate_id")["reachable_residents"]
    # P reaches few residents not already covered; Q reaches more of them.
    assert reach_all["p"] < reach_all["q"]
    assert r.sites["candidate_id"].tolist() == ["q"]
    assert s["covered_before"] > 0 and s["newly_covered"] > 0
    assert s["covered_after"] == pytest.approx(s["covered_before"] + s["newly_covered"])
    assert s["covered_after"] == pytest.approx(recount(r, net, EXISTING))
    assert s["share_after"] == pytest.approx(s["covered_after"] / s["residents"])
    assert s["method"] == "exact" and s["optimal"] and s["seed"] is None
    # P's total reach (covered or not) is larger than Q's, and would win if counted twice.
    both = propose_sites(
        district,
        RULES,
        facility_type="community_service_centre",
        k=1,
        candidates=PQ,
        network=net,
    )
    assert both.sites["candidate_id"].tolist() == ["p"]


def test_grid_candidates_recount_and_capacity(tiny):
    district, net = tiny
    r = propose_sites(
        district,
        RULES,
        facility_type="community_service_centre",
        k=3,
        network=net,
        facilities=EXISTING,
    )
    assert len(r.sites) == 3 and r.sites.crs.equals(4326)
    assert r.summary["covered_after"] == pytest.approx(recount(r, net, EXISTING))
    assert r.sites["newly_covered"].is_monotonic_decreasing
    capped = propose_sites(
        district,
        RULES,
        facility_type="community_service_centre",
        k=3,
        network=net,
        facilities=EXISTING,
        capacity=True,
    )
    # 600 m² at 30 m² per 100 households: 2,000 households a site.
    assert capped.sites["floor_area_assumed"].all()
    assert capped.sites["capacity_households"].tolist() == pytest.approx([2000.0] * 3)
    assert (capped.sites["newly_covered_households"] <= 2000 + 1e-6).all()
    assert capped.summary["newly_covered"] <= r.summary["newly_covered"] + 1e-6
    assert any("assumed" in n for n in capped.summary["notes"])


def test_target_share_on_the_tiny_district(tiny):
    district, net = tiny
    r = propose_sites(
        district,
        RULES,
        facility_type="community_service_centre",
        target_share=0.35,
        network=net,
        facilities=EXISTING,
    )
    assert r.summary["share_after"] >= 0.35 - 1e-9
    assert r.summary["optimal"]
    fewer = propose_sites(
        district,
        RULES,
        facility_type="community_service_centre",
        k=len(r.sites) - 1,
        network=net,
        facilities=EXISTING,
    )
    assert fewer.summary["share_after"] < 0.35


def test_straight_line_is_marked_approximate(tiny):
    district, _ = tiny
    r = propose_sites(
        district, RULES, facility_type="community_service_centre", k=2, facilities=EXISTING
    )
    assert r.summary["approximate"] and any(f.rule == "siting.approximate" for f in r.findings)


def test_candidate_layer_floor_area_and_polygons(tiny):
    district, net = tiny
    poly = gpd.GeoDataFrame(
        {"名称": ["空置楼"], "floor_area_m2": [1500.0]},
        geometry=[shapely.box(X0 + 3400, Y0 + 400, X0 + 3450, Y0 + 450)],
        crs=UTM,
    ).to_crs(4326)
    r = propose_sites(
        district,
        RULES,
        facility_type="community_service_centre",
        k=1,
        candidates=poly,
        network=net,
        capacity=True,
    )
    row = r.sites.iloc[0]
    assert row["name"] == "空置楼" and row["floor_area_m2"] == 1500.0
    assert not row["floor_area_assumed"] and row["capacity_households"] == pytest.approx(5000)


def test_everyone_already_covered(tiny):
    district, _ = tiny
    xy = [(x, y) for x in range(150, 4000, 300) for y in range(150, 2000, 300)]
    dense = points(xy, type=["community_service_centre"] * len(xy))
    for goal in ({"k": 2}, {"target_share": 0.9}):
        r = propose_sites(
            district,
            RULES,
            facility_type="community_service_centre",
            facilities=dense,
            detour=1.0,
            **goal,
        )
        assert len(r.sites) == 0 and r.summary["share_before"] == pytest.approx(1.0)
        assert "already lives within 500 m" in r.summary["notes"][0]


def test_building_candidates(tiny):
    district, net = tiny
    bld = gpd.GeoDataFrame(
        {"floors": [1, 10, 3]},
        geometry=[
            shapely.box(X0 + 100, Y0 + 100, X0 + 120, Y0 + 120),  # 400 m²: too small
            shapely.box(X0 + 2500, Y0 + 1500, X0 + 2520, Y0 + 1520),  # 4,000 m²
            shapely.box(X0 + 3500, Y0 + 500, X0 + 3520, Y0 + 520),  # 1,200 m²
        ],
        crs=UTM,
    ).to_crs(4326)
    r = propose_sites(
        district,
        RULES,
        facility_type="community_service_centre",
        k=2,
        candidates="buildings",
        buildings=bld,
        network=net,
        facilities=EXISTING,
    )
    assert r.summary["candidates"] == 2
    assert sorted(r.sites["floor_area_m2"].round(-1)) == [1200.0, 4000.0]
    assert r.summary["covered_after"] == pytest.approx(recount(r, net, EXISTING))
    with pytest.raises(EmptyInputError, match="No building has the 600 m²"):
        propose_sites(
            district,
            RULES,
            facility_type="community_service_centre",
            k=1,
            candidates="buildings",
            buildings=bld.iloc[:1],
            network=net,
        )


def test_adapter_errors(tiny):
    district, net = tiny
    kw = {"facility_type": "community_service_centre", "network": net, "facilities": EXISTING}
    with pytest.raises(EmptyInputError, match="no features"):
        propose_sites(district, RULES, k=1, candidates=PQ.iloc[:0], **kw)
    with pytest.raises(InputError, match="only 2 candidates"):
        propose_sites(district, RULES, k=3, candidates=PQ, **kw)
    far = points([(2000, 9000)], name=["at sea"])
    with pytest.raises(
        InputError,
        match=r"None of the 1 candidates \(the candidates layer\) lies within 500 m walk",
    ):
        propose_sites(district, RULES, k=1, candidates=far, **kw)
    with pytest.raises(InputError, match=r"cannot be reached.*best possible is"):
        propose_sites(district, RULES, target_share=0.95, candidates=PQ, **kw)
    with pytest.raises(InputError, match="not both"):
        propose_sites(district, RULES, k=1, target_share=0.9, **kw)
    with pytest.raises(InputError, match="-k N"):
        propose_sites(district, RULES, **kw)
    with pytest.raises(RulebookError, match="not in the rulebook"):
        propose_sites(district, RULES, k=1, **{**kw, "facility_type": "swimming_pool"})
    with pytest.raises(RulebookError, match="m2_per_100_households"):
        propose_sites(district, RULES, k=1, capacity=True, **{**kw, "facility_type": "police_post"})
    with pytest.raises(EmptyInputError, match="buildings layer"):
        propose_sites(district, RULES, k=1, candidates="buildings", **kw)
    with pytest.raises(InputError, match="'grid', 'buildings'"):
        propose_sites(district, RULES, k=1, candidates="everywhere", **kw)


# ------------------------------------------------------------------ the command


@pytest.fixture(scope="module")
def sample_json():
    r = runner.invoke(
        app, ["site", "--type", "community_service_centre", "-k", "3", "--format", "json"]
    )
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_cli_on_the_sample(sample_json):
    s = sample_json["summary"]
    assert s["newly_covered"] > 0 and s["sites"] == 3 and len(sample_json["sites"]) == 3
    assert s["share_after"] > s["share_before"] > 0
    assert s["covered_after"] == pytest.approx(s["covered_before"] + s["newly_covered"])
    assert s["method"] == "exact" and s["gap"] == 0 and s["seed"] is None
    assert s["existing_facilities"] > 0 and s["network"].startswith("built-in sample")
    for site in sample_json["sites"]:
        assert site["newly_covered"] > 0
        assert 119 < site["lon"] < 122 and 35 < site["lat"] < 37


def test_cli_text_and_geojson(tmp_path):
    out = tmp_path / "sites.geojson"
    r = runner.invoke(
        app,
        ["site", "--type", "community_service_centre", "-k", "2", "--capacity", "--to", str(out)],
    )
    assert r.exit_code == 0, r.output
    assert "exact (HiGHS)" in r.stdout and "(assumed)" in r.stdout
    assert "seed: none" in r.stdout
    sites = gpd.read_file(out)
    assert len(sites) == 2 and sites.crs.equals(4326)
    assert not list(tmp_path.glob(".sites.geojson*"))


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["-k", "3", "--target-share", "0.9"], "not both"),
        ([], "-k N"),
        (["-k", "0"], "at least 1"),
        (["--target-share", "1.5"], "at most 1"),
    ],
)
def test_cli_goal_errors(args, match):
    r = runner.invoke(app, ["site", "--type", "community_service_centre", *args])
    assert r.exit_code == 2
    assert match in r.output and "Traceback" not in r.output


def test_cli_unknown_type_and_missing_candidates_file(tmp_path):
    r = runner.invoke(app, ["site", "--type", "swimming_pool", "-k", "1"])
    assert r.exit_code == 2 and "not in the rulebook" in r.output
    assert "Traceback" not in r.output
    r = runner.invoke(app, ["site", "-k", "1"])
    assert r.exit_code == 2 and "--type" in r.output
    r = runner.invoke(
        app,
        [
            "site",
            "--type",
            "community_service_centre",
            "-k",
            "1",
            "--candidates",
            str(tmp_path / "nope.gpkg"),
        ],
    )
    assert r.exit_code == 2 and "does not exist" in r.output
