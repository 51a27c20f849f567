"""The one band module: the check, the editor's street table and the proposer agree.

On random districts with random bands — bands placed right on some streets' figures so
that the edges are hit — every street gets the same verdict (in band or not) from
:func:`geo.rules.rulebook.status_table`, :meth:`geo.plan.model.Plan.street_table` and the proposer's
cost function.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import frames_from, partitions

from geo.district.hierarchy import build_district
from geo.plan.model import Plan
from geo.propose.state import _bands, _violation
from geo.rules.rulebook import rulebook_from_dict, status_table


def _rulebook(area_band, pop_band, hh_band=None, density_band=None):
    rules = []
    bands = [("area_km2", area_band), ("population", pop_band)]
    if hh_band is not None:
        bands.append(("households", hh_band))
    if density_band is not None:
        bands.append(("density_per_km2", density_band))
    for measure, (lo, hi) in bands:
        rules.append({
            "id": f"street.{measure}", "level": "street", "measure": measure, "min": lo,
            "max": hi, "kinds": ["street"], "title": measure, "source": "test",
            "status": "confirmed",
        })
    return rulebook_from_dict({"name": "random bands", "rules": rules})


# Building a district is the cost of each example (~0.3 s); the verdicts are cheap. So each
# district is judged under four sets of random bands: 15 districts x 4 band sets test more
# band edges (60) than the former 40 x 1, on fewer, still varied, random districts.
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(partitions(), st.data())
def test_check_editor_and_proposer_agree_on_every_street(p, data):
    d = build_district(frames_from(*p))
    streets = d.units["street"]
    plan = Plan.from_district(d)
    totals = plan.totals().set_index("code")
    for _ in range(4):
        _assert_verdicts_agree(d, plan, totals, streets, data)


def _assert_verdicts_agree(d, plan, totals, streets, data) -> None:
    areas = sorted(round(float(a), 2) for a in streets["area_km2"])
    pops = sorted(float(x) for x in streets["population"])
    # bands whose edges sit exactly on streets' shown figures, or just beside them
    a_lo = data.draw(st.sampled_from([*areas, areas[0] - 0.01, 0.0]))
    a_hi = data.draw(st.sampled_from([*areas, areas[-1] + 0.01]))
    p_lo = data.draw(st.sampled_from([*pops, 0.0]))
    p_hi = data.draw(st.sampled_from([*pops, pops[-1] + 1]))
    if a_lo > a_hi:
        a_lo, a_hi = a_hi, a_lo
    if p_lo > p_hi:
        p_lo, p_hi = p_hi, p_lo
    hhs = sorted(float(x) for x in streets["households"])
    dens = sorted(float(p_ / a_) for p_, a_ in zip(streets["population"],
                                                   streets["area_km2"], strict=True))
    hh_band = data.draw(st.sampled_from([None, (hhs[0], hhs[-1]), (hhs[len(hhs) // 2], None)]))
    d_band = data.draw(st.sampled_from([None, (dens[len(dens) // 2], None), (0.0, dens[0])]))
    rb = _rulebook((a_lo, a_hi), (p_lo, p_hi), hh_band, d_band)

    check = dict(zip(streets["code"], status_table(d, rb, "street")["status"], strict=True))
    table = plan.street_table(rb)
    editor = dict(zip(table["code"], table["status"], strict=True))
    bands = _bands(rb, "street")
    proposer = {
        code: "ok"
        if _violation(bands, row["area_m2"] / 1e6, row["population"], row["households"])[1] == 0
        else "outside"
        for code, row in totals.iterrows()
    }
    assert check == editor == proposer, (a_lo, a_hi, p_lo, p_hi)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(partitions(), st.data())
def test_missing_residents_are_no_data_in_check_and_editor(p, data):
    frames = frames_from(*p)
    grids = frames["grid"]
    gone = data.draw(st.lists(st.sampled_from(list(grids.index)), min_size=1, max_size=3))
    grids.loc[gone, "population"] = float("nan")
    d = build_district(frames)
    rb = _rulebook((0.0, 1e9), (0.0, 1e12))
    check = dict(zip(d.units["street"]["code"], status_table(d, rb, "street")["status"],
                     strict=True))
    table = Plan.from_district(d).street_table(rb)
    editor = dict(zip(table["code"], table["status"], strict=True))
    lacking = set(d.units["community"].loc[d.units["community"]["population"].isna(),
                                           "parent_code"])
    assert check == editor
    assert {c for c, s in check.items() if s == "no data"} == lacking
