"""Many districts at once on Dask: the merged report equals the one-by-one runs."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from geo.batch import check_districts, check_one, district_sources
from geo.cli import app
from geo.errors import InputError

pytestmark = pytest.mark.slow


@pytest.fixture()
def districts(tiny, tmp_path):
    root = tmp_path / "province"
    root.mkdir()
    for name, pop in (("cityA", 2000), ("cityB", 40_000)):
        d = root / name
        d.mkdir()
        for lv in ("street", "community", "grid"):
            frame = tiny[lv]
            if lv == "grid":
                frame = frame.assign(population=pop)
            frame.to_file(d / f"{lv}.geojson")
    (root / "broken.geojson").write_text("{not json", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def scheduler():
    """One local Dask cluster (two worker processes) for the file, given by address.

    Starting worker processes is most of the cost of a small batch, so the runs
    below share it through ``scheduler=`` / ``--scheduler`` (the path a real
    cluster takes); the last command still starts its own default ``LocalCluster``
    the way a planner's run does. This one starts its workers from a fork server
    (numpy, pandas and Dask already imported there) instead of spawning fresh
    interpreters: the workers are still separate processes that receive the tasks
    pickled. (Forking the test process itself was faster still, but it forks a
    process whose other threads — the scheduler's event loop, a browser driver —
    may hold a lock at that moment, and a worker then hangs for ever.)
    """
    import dask
    from dask.distributed import LocalCluster

    with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                         dashboard_address=":0") as cluster:
        yield cluster.scheduler_address


def test_dask_local_cluster_gives_the_one_by_one_answers(districts, scheduler):
    sources = district_sources([districts])
    assert [s.name for s in sources] == ["broken.geojson", "cityA", "cityB"]
    merged = check_districts(sources, scheduler=scheduler)
    alone = [check_one(str(s)) for s in sources]
    assert merged.results == alone
    assert [r["district"] for r in merged.errors] == ["broken"]
    doc = merged.to_dict()
    assert doc["n_districts"] == 3 and doc["n_unusable"] == 1
    assert {f["district"] for f in doc["findings"]} == {"cityA", "cityB"}


def test_cli_check_each_merges_and_exits_2_on_an_unusable_district(districts, scheduler):
    r = CliRunner().invoke(app, ["check", "--each", str(districts), "--format", "json",
                                 "--scheduler", scheduler])
    assert r.exit_code == 2, r.output
    doc = json.loads(r.stdout)
    assert [d["district"] for d in doc["districts"]] == ["broken", "cityA", "cityB"]
    empty = districts.parent / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="No district"):
        district_sources([empty])


def test_audit_each_district_folder_on_dask(districts, tmp_path, tiny, scheduler):
    import geopandas as gpd
    import shapely

    from geo.batch import audit_districts, audit_one

    (districts / "broken.geojson").unlink()
    for name in ("cityA", "cityB"):
        centre = shapely.union_all(tiny["community"].geometry.values).centroid
        gpd.GeoDataFrame(
            {"type": ["community_service_centre"], "name": ["中心"], "floor_area_m2": [800.0]},
            geometry=[centre], crs=4326,
        ).to_file(districts / name / "facilities.geojson")
    sources = district_sources([districts])
    merged = audit_districts(sources, tmp_path / "out", scheduler=scheduler)
    alone = [audit_one(str(s), str(tmp_path / "alone")) for s in sources]
    strip = [{k: v for k, v in r.items() if k != "report"} for r in merged.results]
    assert strip == [{k: v for k, v in r.items() if k != "report"} for r in alone]
    assert all(r["approximate"] for r in merged.results)  # no network: straight line, said
    assert (tmp_path / "out" / "cityA" / "index.html").exists()
    r = CliRunner().invoke(app, ["audit", "--each", str(districts), "--to", str(tmp_path / "o2"),
                                 "--workers", "1"])
    assert r.exit_code in (0, 1), r.output
    assert "cityB" in r.output and "INFO" not in r.output
