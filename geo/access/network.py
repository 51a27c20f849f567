"""Walking networks: load, build, snap to, save and load again.

A :class:`WalkNetwork` is the street network a resident can walk on, held as plain
arrays: node ids and metric coordinates, and a symmetric ``scipy.sparse`` CSR matrix
of edge lengths in metres that ``scipy.sparse.csgraph`` searches directly.

Networks come from

* a local OpenStreetMap extract (``.osm.pbf``), read offline with pyrosm
  (:func:`network_from_pbf`), which is what planners without internet access use;
* OpenStreetMap online through osmnx (:func:`network_from_osmnx`), cached on disk;
* node and edge tables (:func:`network_from_tables`) or a networkx graph
  (:func:`network_from_graph`), which every other source goes through;
* a network saved earlier with :func:`save_network` (:func:`load_network`).

Walking is two-way, so every edge is walkable both ways whatever its ``oneway`` tag;
of parallel edges between the same two nodes the shortest is kept; self-loops are
dropped, zero-length edges kept at :data:`ZERO_LENGTH_M` (csgraph would read an
explicit zero as a missing edge), and nodes left without edges are dropped, so
that a point is never snapped to a node it cannot walk from.

:func:`synthetic_network` makes a city-like street grid of any size for tests and
benchmarks.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import warnings
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyproj
import shapely
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from geo._atomic import atomic_path
from geo.crs import WGS84, is_lonlat_bounds, metric_crs_for
from geo.errors import EmptyInputError, InputError, NotGeodataError, WanggeError
from geo.findings import Phrase, Word
from geo.i18n import N_

if TYPE_CHECKING:
    import networkx as nx

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

ZERO_LENGTH_M: float = 1e-6
"""Length given to zero-length edges (csgraph treats an explicit zero as no edge)."""

NETWORK_FORMAT: str = "wangge.walk_network"
"""Marker stored in every file written by :func:`save_network`."""

NETWORK_FORMAT_VERSION: int = 1
"""Version of the saved-network layout; :func:`load_network` reads this version."""

_SAVED_ARRAYS = ("node_ids", "x", "y", "data", "indices", "indptr", "crs_wkt", "source")


# --------------------------------------------------------------------------- the network


@dataclass(frozen=True, eq=False)
class WalkNetwork:
    """A walking network as arrays: nodes in a metric CRS and a symmetric CSR of lengths.

    Build one with :func:`network_from_tables`, :func:`network_from_pbf`,
    :func:`network_from_osmnx`, :func:`network_from_graph` or :func:`load_network`
    rather than by hand: they enforce the rules below.

    Parameters
    ----------
    node_ids : numpy.ndarray
        Original node ids (OSM ids, or ``0..n-1``), int64; position ``i`` is node ``i``.
    x, y : numpy.ndarray
        Node coordinates in metres in ``crs``, float64.
    crs : pyproj.CRS
        The metric (projected) CRS of ``x`` and ``y``.
    graph : scipy.sparse.csr_matrix
        ``n × n``, symmetric, ``graph[i, j]`` the length in metres of the shortest
        edge between nodes ``i`` and ``j``; no self-loops, no explicit zeros.
    source : str
        Where the network came from, for reports, e.g.
        ``"Helsinki.osm.pbf (pyrosm, walking)"``.

    Notes
    -----
    The coordinate arrays are copied and made read-only, so the snapping tree and the
    component labels, built on first use and cached, stay valid.
    """

    node_ids: IntArray = field(repr=False)
    x: FloatArray = field(repr=False)
    y: FloatArray = field(repr=False)
    crs: pyproj.CRS = field(repr=False)
    graph: csr_matrix = field(repr=False)
    source: str = "tables"

    def __post_init__(self) -> None:
        ids = _readonly(np.asarray(self.node_ids, dtype=np.int64))
        x = _readonly(np.asarray(self.x, dtype=np.float64))
        y = _readonly(np.asarray(self.y, dtype=np.float64))
        n = ids.size
        if ids.ndim != 1 or x.shape != (n,) or y.shape != (n,):
            raise InputError.worded(
                N_("node_ids, x and y must be 1-D arrays of one length, got shapes {ids_shape}, "
                   "{x_shape} and {y_shape}; build networks with network_from_tables()."),
                ids_shape=str(ids.shape), x_shape=str(x.shape), y_shape=str(y.shape),
            )
        if not isinstance(self.graph, csr_matrix) or self.graph.shape != (n, n):
            raise InputError.worded(
                N_("graph must be a {n} × {n} scipy.sparse.csr_matrix (one row per node), got "
                   "{kind} of shape {shape}; build networks with network_from_tables()."),
                n=n, kind=type(self.graph).__name__,
                shape=str(getattr(self.graph, "shape", None)),
            )
        crs = pyproj.CRS.from_user_input(self.crs)
        if not crs.is_projected:
            raise InputError.worded(
                N_("crs must be a metric (projected) CRS, got {crs}; use "
                   "geo.crs.metric_crs_for() to choose one."),
                crs=crs.name,
            )
        object.__setattr__(self, "node_ids", ids)
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "crs", crs)

    def __repr__(self) -> str:
        return (
            f"WalkNetwork({self.n_nodes:,} nodes, {self.n_edges:,} edges, "
            f"crs={self.crs.to_string()!r}, source={self.source!r})"
        )

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_ids.size)

    @property
    def n_edges(self) -> int:
        """Number of (undirected) edges; each is stored twice in :attr:`graph`."""
        return int(self.graph.nnz // 2)

    @cached_property
    def _tree(self) -> cKDTree:
        logger.debug("building the snapping tree over %d nodes", self.n_nodes)
        return cKDTree(np.column_stack([self.x, self.y]))

    @cached_property
    def _to_metric(self) -> pyproj.Transformer:
        return pyproj.Transformer.from_crs(WGS84, self.crs, always_xy=True)

    @cached_property
    def _labels(self) -> IntArray:
        _, labels = connected_components(self.graph, directed=False)
        return _readonly(labels.astype(np.int64))

    def snap(self, x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[IntArray, FloatArray]:
        """Find each point's nearest network node.

        Parameters
        ----------
        x, y : array_like
            Coordinates in metres in :attr:`crs`; scalars or broadcastable arrays.

        Returns
        -------
        tuple of numpy.ndarray
            ``(node, distance)``: the index (position, not id) of the nearest node, and
            the straight-line distance to it in metres, both shaped like the input.

        Raises
        ------
        EmptyInputError
            When the network has no nodes.
        InputError
            When a coordinate is missing (NaN) or infinite.
        """
        xa, ya = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        points = np.column_stack([xa.ravel(), ya.ravel()])
        bad = ~np.isfinite(points).all(axis=1)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise InputError.worded(
                N_("{n:,} of {total:,} points to snap have missing or infinite coordinates "
                   "(the first is number {first}); drop them or fix their geometry first."),
                n=int(bad.sum()), total=len(points), first=first,
            )
        if self.n_nodes == 0:
            raise EmptyInputError.worded(
                N_("The walking network has no nodes to snap to; load a network that covers "
                   "the district.")
            )
        if points.size == 0:
            return np.zeros(xa.shape, dtype=np.int64), np.zeros(xa.shape, dtype=np.float64)
        dist, idx = self._tree.query(points)
        return (
            np.asarray(idx, dtype=np.int64).reshape(xa.shape),
            np.asarray(dist, dtype=np.float64).reshape(xa.shape),
        )

    def snap_lonlat(self, lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[IntArray, FloatArray]:
        """Find each WGS 84 point's nearest network node; see :meth:`snap`.

        Parameters
        ----------
        lon, lat : array_like
            WGS 84 degrees; scalars or broadcastable arrays.

        Returns
        -------
        tuple of numpy.ndarray
            ``(node, distance)`` as from :meth:`snap`, distance in metres.
        """
        lo, la = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        mx, my = self._to_metric.transform(lo, la)
        return self.snap(mx, my)

    def component_labels(self) -> IntArray:
        """Label each node with its connected component (computed once, cached).

        Returns
        -------
        numpy.ndarray
            Read-only int64 labels ``0..k-1``, one per node; two nodes are connected by
            a walk exactly when their labels are equal.
        """
        return self._labels

    def nodes_lonlat(self) -> tuple[FloatArray, FloatArray]:
        """Return the node coordinates as WGS 84 longitude and latitude.

        Returns
        -------
        tuple of numpy.ndarray
            ``(lon, lat)`` in degrees, one per node.
        """
        lon, lat = self._to_metric.transform(self.x, self.y, direction="INVERSE")
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def _readonly(arr: np.ndarray) -> np.ndarray:
    out = np.array(arr, copy=True)
    out.flags.writeable = False
    return out


# --------------------------------------------------------------------------- from tables


def _node_ids(nodes: pd.DataFrame) -> IntArray:
    if "id" in nodes.columns:
        raw = nodes["id"]
    elif nodes.index.name in ("id", "osmid"):
        raw = nodes.index.to_series()
    else:
        raise InputError.worded(
            N_("The node table has no 'id' column (columns: {columns}); name the column of "
               "node ids (OSM ids) 'id'."),
            columns=", ".join(map(str, nodes.columns)),
        )
    values = raw.to_numpy()
    if values.dtype.kind in "iu":
        ids = values.astype(np.int64)
    else:
        numeric = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        whole = np.isfinite(numeric) & (numeric == np.round(numeric))
        if not whole.all():
            bad = raw.to_numpy()[~whole][0]
            raise InputError.worded(
                N_("Node ids must be whole numbers (OSM ids), but {n:,} are not, e.g. "
                   "{example}; fix or drop those rows of the node table."),
                n=int((~whole).sum()), example=repr(bad),
            )
        ids = numeric.astype(np.int64)
    index = pd.Index(ids)
    if not index.is_unique:
        dups = index[index.duplicated()].unique()[:5].tolist()
        raise InputError.worded(
            N_("The node table lists {n:,} node ids more than once (e.g. {examples}); keep one "
               "row per node."),
            n=int(index.duplicated().sum()), examples=", ".join(map(str, dups)),
        )
    return ids


def _node_coordinates(
    nodes: pd.DataFrame, crs: pyproj.CRS | None
) -> tuple[FloatArray, FloatArray, pyproj.CRS]:
    """Return metric x, y and the metric CRS of the nodes."""
    if {"lon", "lat"} <= set(nodes.columns):
        a, b, lonlat = nodes["lon"], nodes["lat"], True
    elif {"x", "y"} <= set(nodes.columns):
        a, b, lonlat = nodes["x"], nodes["y"], crs is None
    else:
        raise InputError.worded(
            N_("The node table needs coordinate columns 'lon' and 'lat' (WGS 84 degrees) or "
               "'x' and 'y'; it has {columns}."),
            columns=", ".join(map(str, nodes.columns)),
        )
    try:
        xa = np.asarray(a.to_numpy(), dtype=np.float64)
        ya = np.asarray(b.to_numpy(), dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError.worded(
            N_("Node coordinates ({x_column}, {y_column}) must be numbers: {reason}; fix the "
               "node table."),
            x_column=str(a.name), y_column=str(b.name), reason=str(err),
        ) from err
    bad = ~(np.isfinite(xa) & np.isfinite(ya))
    if bad.any():
        raise InputError.worded(
            N_("{n:,} nodes have missing or infinite coordinates; drop them from the node "
               "table or fill them in."),
            n=int(bad.sum()),
        )
    if not lonlat:
        assert crs is not None
        return xa, ya, crs
    bounds = (float(xa.min()), float(ya.min()), float(xa.max()), float(ya.max()))
    if not is_lonlat_bounds(bounds):
        raise InputError.worded(
            N_("The node coordinates ({x_column} {minx:,.4f} to {maxx:,.4f}, {y_column} "
               "{miny:,.4f} to {maxy:,.4f}) are not WGS 84 longitude/latitude. For coordinates "
               "in metres, name the columns 'x' and 'y' and pass crs= the CRS they are in (e.g. "
               "crs='EPSG:4549')."),
            x_column=str(a.name), y_column=str(b.name),
            minx=bounds[0], maxx=bounds[2], miny=bounds[1], maxy=bounds[3],
        )
    metric = crs if crs is not None else metric_crs_for(bounds)
    mx, my = pyproj.Transformer.from_crs(WGS84, metric, always_xy=True).transform(xa, ya)
    return np.asarray(mx, dtype=np.float64), np.asarray(my, dtype=np.float64), metric


def _edge_columns(edges: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series | None]:
    if not {"u", "v"} <= set(edges.columns) and {"u", "v"} <= set(edges.index.names):
        edges = edges.reset_index()  # osmnx: edges indexed by (u, v, key)
    missing = [c for c in ("u", "v") if c not in edges.columns]
    columns = ", ".join(map(str, edges.columns))
    if len(missing) == 2:
        raise InputError.worded(
            N_("The edge table has no 'u' or 'v' column (columns: {columns}); name the end "
               "node id columns 'u' and 'v'."),
            columns=columns,
        )
    if missing:
        raise InputError.worded(
            N_("The edge table has no {column} column (columns: {columns}); name the end node "
               "id columns 'u' and 'v'."),
            column=repr(missing[0]), columns=columns,
        )
    # edges["length"], never edges.length: on a GeoDataFrame that is the geometry's length.
    length = edges["length"] if "length" in edges.columns else None
    return edges["u"], edges["v"], length


def _edge_lengths(
    length: pd.Series | None, iu: IntArray, iv: IntArray, x: FloatArray, y: FloatArray
) -> FloatArray:
    straight = np.hypot(x[iu] - x[iv], y[iu] - y[iv])
    if length is None:
        logger.info("the edge table has no 'length' column: using straight-line lengths")
        return straight
    try:
        values = np.asarray(length.to_numpy(), dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InputError.worded(
            N_("Edge lengths must be numbers of metres: {reason}; fix the 'length' column."),
            reason=str(err),
        ) from err
    missing = np.isnan(values)
    if missing.any():
        logger.info("%d edges have no length: using straight-line lengths", int(missing.sum()))
        values = np.where(missing, straight, values)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise InputError.worded(
            N_("{n:,} edges have a negative or infinite length (e.g. {example}); edge lengths "
               "are metres, zero or more."),
            n=int(bad.sum()), example=repr(values[bad][0]),
        )
    return values


def _symmetric_csr(a: IntArray, b: IntArray, w: FloatArray, n: int) -> csr_matrix:
    """Build the symmetric CSR from unique pairs ``a < b`` with lengths ``w``."""
    rows = np.concatenate([a, b])
    cols = np.concatenate([b, a])
    data = np.concatenate([w, w])
    graph = coo_matrix((data, (rows, cols)), shape=(n, n)).tocsr()  # no duplicates to sum
    graph.sort_indices()
    return graph


def _build(
    ids: IntArray,
    x: FloatArray,
    y: FloatArray,
    iu: IntArray,
    iv: IntArray,
    length: FloatArray,
    crs: pyproj.CRS,
    source: str,
) -> WalkNetwork:
    """Reduce resolved edges to the network's rules and assemble the network."""
    loops = iu == iv
    if loops.any():
        logger.debug("dropping %d self-loops", int(loops.sum()))
        iu, iv, length = iu[~loops], iv[~loops], length[~loops]
    if iu.size == 0:
        raise EmptyInputError.worded(
            N_("{source}: no edge joins two different nodes, so there is no network to walk "
               "on; check the extract covers the district."),
            source=source,
        )
    n = ids.size
    a, b = np.minimum(iu, iv), np.maximum(iu, iv)
    key = a * np.int64(n) + b
    order = np.argsort(key, kind="stable")
    key = key[order]
    first = np.ones(key.size, dtype=bool)
    first[1:] = key[1:] != key[:-1]
    starts = np.flatnonzero(first)
    if starts.size < key.size:
        logger.debug("kept the shortest of parallel edges: %d dropped", key.size - starts.size)
    # the shortest of each run of one pair; never a sum, as a CSR built with duplicates gives
    w = np.minimum.reduceat(length[order], starts)
    a, b = a[order][starts], b[order][starts]
    zero = w <= 0
    if zero.any():
        logger.debug("%d zero-length edges kept at %g m", int(zero.sum()), ZERO_LENGTH_M)
        w = np.where(zero, ZERO_LENGTH_M, w)
    used = np.zeros(n, dtype=bool)
    used[a] = True
    used[b] = True
    if not used.all():
        logger.info("dropped %d nodes that no edge reaches", int(n - used.sum()))
        new = np.cumsum(used) - 1
        a, b = new[a], new[b]
        ids, x, y = ids[used], x[used], y[used]
        n = ids.size
    graph = _symmetric_csr(a, b, w, n)
    net = WalkNetwork(node_ids=ids, x=x, y=y, crs=crs, graph=graph, source=source)
    logger.info("walking network from %s: %d nodes, %d edges", source, net.n_nodes, net.n_edges)
    return net


def _table_checks(nodes: Any, edges: Any) -> list[tuple[str, str, Any]]:
    """Return each table with what to say when it is not a frame, and when it is empty."""
    return [
        (N_("The node table must be a pandas DataFrame, got {kind}."),
         N_("{source}: the node table is empty, so there is no network to walk on; check the "
            "extract or query covers the district."), nodes),
        (N_("The edge table must be a pandas DataFrame, got {kind}."),
         N_("{source}: the edge table is empty, so there is no network to walk on; check the "
            "extract or query covers the district."), edges),
    ]


def network_from_tables(
    nodes: pd.DataFrame,
    edges: pd.DataFrame,
    *,
    crs: Any | None = None,
    source: str = "tables",
) -> WalkNetwork:
    """Build a walking network from node and edge tables, such as pyrosm returns.

    Parameters
    ----------
    nodes : pandas.DataFrame
        One row per node: ``id`` (int, e.g. OSM id; an index named ``id`` or ``osmid``
        also works) and either ``lon``/``lat`` in WGS 84 degrees or ``x``/``y``. Without
        ``crs``, ``x``/``y`` are WGS 84 lon/lat too (as in an unprojected osmnx graph);
        with ``crs``, they are metres in ``crs``. Other columns are ignored.
    edges : pandas.DataFrame
        One row per edge: end node ids ``u`` and ``v`` (columns, or osmnx's
        ``(u, v, key)`` index) and optionally ``length`` in metres; a missing column or
        missing values are filled with the straight-line length. Other columns (pyrosm's
        ``geometry``, tags) are ignored. Direction does not matter.
    crs : pyproj.CRS or str or int, optional
        The metric CRS of the network (anything ``pyproj.CRS.from_user_input`` takes).
        Default: :func:`geo.crs.metric_crs_for` of the nodes' extent.
    source : str
        Description stored in the network, e.g. the file name.

    Returns
    -------
    WalkNetwork
        Two-way edges, the shortest of parallel edges, no self-loops, zero lengths
        raised to :data:`ZERO_LENGTH_M`, nodes without edges dropped, remaining nodes in
        table order.

    Raises
    ------
    EmptyInputError
        When either table is empty, or no edge joins two known, different nodes.
    InputError
        Missing columns, duplicate or non-integer node ids, missing or non-lon/lat
        coordinates, negative lengths, or a ``crs`` that is not metric.

    Notes
    -----
    Edges whose end nodes are not in the node table are dropped (and counted in the
    log). Ids are matched with a hash index, so 250,000 nodes and 500,000 edges take
    a fraction of a second.
    """
    for not_frame, empty, table in _table_checks(nodes, edges):
        if not isinstance(table, pd.DataFrame):
            raise InputError.worded(not_frame, kind=type(table).__name__)
        if len(table) == 0:
            raise EmptyInputError.worded(empty, source=source)
    metric: pyproj.CRS | None = None
    if crs is not None:
        try:
            metric = pyproj.CRS.from_user_input(crs)
        except pyproj.exceptions.CRSError as err:
            raise InputError.worded(
                N_("crs={crs} is not a CRS pyproj knows: {reason}"), crs=repr(crs), reason=str(err)
            ) from err
        if not metric.is_projected:
            raise InputError.worded(
                N_("crs must be a metric (projected) CRS such as EPSG:4549 or a UTM zone, got "
                   "{crs}; leave crs out to choose one from the data."),
                crs=metric.name,
            )
    ids = _node_ids(nodes)
    x, y, metric = _node_coordinates(nodes, metric)
    u, v, length_col = _edge_columns(edges)
    index = pd.Index(ids)
    iu = np.asarray(index.get_indexer(u), dtype=np.int64)
    iv = np.asarray(index.get_indexer(v), dtype=np.int64)
    known = (iu >= 0) & (iv >= 0)
    n_unknown = int((~known).sum())
    if n_unknown:
        logger.info(
            "%s: dropped %d of %d edges whose end nodes are not in the node table",
            source,
            n_unknown,
            len(known),
        )
        if n_unknown == len(known):
            raise EmptyInputError.worded(
                N_("{source}: none of the {n:,} edges joins two nodes of the node table; are "
                   "the node and edge tables from the same extract?"),
                source=source, n=len(known),
            )
        iu, iv = iu[known], iv[known]
        if length_col is not None:
            length_col = length_col[known]
    length = _edge_lengths(length_col, iu, iv, x, y)
    return _build(ids, x, y, iu, iv, length, metric, source)


# --------------------------------------------------------------------------- from graphs


def network_from_graph(G: nx.Graph, *, source: str = "networkx graph") -> WalkNetwork:
    """Build a walking network from an osmnx/networkx graph.

    Parameters
    ----------
    G : networkx.Graph
        Any networkx graph (osmnx gives a ``MultiDiGraph``) with integer node labels
        (OSM ids) and node attributes ``x``/``y``: WGS 84 lon/lat, or metres when
        ``G.graph["crs"]`` is a projected CRS (an osmnx projected graph). Edge attribute
        ``length`` in metres; edges without it get their straight-line length.
    source : str
        Description stored in the network.

    Returns
    -------
    WalkNetwork
        As from :func:`network_from_tables`.

    Raises
    ------
    EmptyInputError
        When the graph has no nodes or no edges.
    InputError
        Node labels that are not integers, or nodes without ``x``/``y``.
    """
    import networkx as nx

    if not isinstance(G, nx.Graph):
        raise InputError.worded(N_("Expected a networkx graph, got {kind}."),
                                kind=type(G).__name__)
    if G.number_of_nodes() == 0 or G.number_of_edges() == 0:
        raise EmptyInputError.worded(
            N_("{source}: the graph has {nodes} nodes and {edges} edges, so there is no network "
               "to walk on; check the query covers the district."),
            source=source, nodes=G.number_of_nodes(), edges=G.number_of_edges(),
        )
    labels = np.asarray(list(G.nodes))
    if labels.dtype.kind not in "iu":
        raise InputError.worded(
            N_("{source}: node labels must be integers (OSM ids), got e.g. {example}; relabel "
               "with networkx.convert_node_labels_to_integers(G)."),
            source=source, example=repr(labels[0]),
        )
    xs = [d.get("x", math.nan) for _, d in G.nodes(data=True)]
    ys = [d.get("y", math.nan) for _, d in G.nodes(data=True)]
    nodes = pd.DataFrame({"id": labels.astype(np.int64), "x": xs, "y": ys})
    triples = list(G.edges(data="length"))
    edges = pd.DataFrame(
        {
            "u": [t[0] for t in triples],
            "v": [t[1] for t in triples],
            "length": np.array([math.nan if t[2] is None else t[2] for t in triples], float),
        }
    )
    graph_crs = G.graph.get("crs")
    crs = None
    if graph_crs is not None:
        parsed = pyproj.CRS.from_user_input(graph_crs)
        crs = parsed if parsed.is_projected else None
    return network_from_tables(nodes, edges, crs=crs, source=source)


def to_networkx(net: WalkNetwork) -> nx.Graph:
    """Convert a network to an undirected networkx graph (for tests and comparisons).

    Parameters
    ----------
    net : WalkNetwork
        The network.

    Returns
    -------
    networkx.Graph
        Nodes labelled by position ``0..n-1`` (as in :meth:`WalkNetwork.snap`) with
        attributes ``osmid``, ``x`` and ``y`` (metres); edge attribute ``length``.
    """
    import networkx as nx

    G = nx.Graph(crs=net.crs.to_wkt(), source=net.source)
    G.add_nodes_from(
        (i, {"osmid": int(oid), "x": float(px), "y": float(py)})
        for i, (oid, px, py) in enumerate(zip(net.node_ids, net.x, net.y, strict=True))
    )
    upper = coo_matrix(net.graph)
    keep = upper.row < upper.col
    G.add_weighted_edges_from(
        zip(
            upper.row[keep].tolist(),
            upper.col[keep].tolist(),
            upper.data[keep].tolist(),
            strict=True,
        ),
        weight="length",
    )
    return G


# --------------------------------------------------------------------------- from .osm.pbf


def _check_bounding_box(bounding_box: Any) -> Any:
    if bounding_box is None or isinstance(bounding_box, shapely.Polygon | shapely.MultiPolygon):
        return bounding_box
    try:
        box = [float(v) for v in bounding_box]
    except (TypeError, ValueError) as err:
        raise InputError.worded(
            N_("bounding_box must be (minlon, minlat, maxlon, maxlat) or a shapely polygon in "
               "WGS 84, got {box}."),
            box=repr(bounding_box),
        ) from err
    if len(box) != 4 or not is_lonlat_bounds(box) or box[0] >= box[2] or box[1] >= box[3]:
        raise InputError.worded(
            N_("bounding_box must be (minlon, minlat, maxlon, maxlat) in WGS 84 degrees with "
               "min < max, got {box}; e.g. (120.30, 36.05, 120.45, 36.15)."),
            box=repr(bounding_box),
        )
    return box


def network_from_pbf(
    path: str | os.PathLike[str], *, bounding_box: Sequence[float] | Any | None = None
) -> WalkNetwork:
    """Read the walking network of an OpenStreetMap extract (``.osm.pbf``), offline.

    Parameters
    ----------
    path : str or os.PathLike
        An ``.osm.pbf`` file, e.g. a Geofabrik-style extract or one cut with osmium.
    bounding_box : sequence of float or shapely Polygon, optional
        Keep only this area: ``(minlon, minlat, maxlon, maxlat)`` or a polygon, WGS 84.

    Returns
    -------
    WalkNetwork
        The ways pyrosm counts as walkable (``network_type="walking"``), each way split
        at its nodes, every segment walkable both ways.

    Raises
    ------
    InputError
        When the file does not exist, or the bounding box is malformed.
    NotGeodataError
        When the file is not a readable ``.osm.pbf`` (truncated or damaged).
    EmptyInputError
        When the file (or the bounding box) contains no walkable ways.
    """
    import pyrosm

    file = Path(path)
    if file.is_dir():
        raise InputError.worded(
            N_("{file} is a folder; pass the path of an OpenStreetMap extract (.osm.pbf) for "
               "the district."),
            file=str(file),
        )
    if not file.is_file():
        raise InputError.worded(
            N_("{file} does not exist; pass the path of an OpenStreetMap extract (.osm.pbf) "
               "for the district."),
            file=str(file),
        )
    box = _check_bounding_box(bounding_box)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            osm = pyrosm.OSM(str(file), bounding_box=box)
            result = osm.get_network(network_type="walking", nodes=True)
    except MemoryError:
        raise
    except Exception as err:  # pyrosm raises protobuf, zlib and its own errors alike
        raise NotGeodataError.worded(
            N_("{file} is not a readable .osm.pbf (truncated or damaged?): {reason}. Copy the "
               "extract again, or check it with `osmium fileinfo`."),
            file=file.name, reason=str(err),
        ) from err
    nodes, edges = result if isinstance(result, tuple) else (None, result)
    if nodes is None or edges is None or len(nodes) == 0 or len(edges) == 0:
        if box is not None:
            raise EmptyInputError.worded(
                N_("{file} contains no walkable ways inside the bounding box; check the "
                   "extract covers the district (and that it holds streets, not only buildings "
                   "or POIs)."),
                file=file.name,
            )
        raise EmptyInputError.worded(
            N_("{file} contains no walkable ways; check the extract covers the district (and "
               "that it holds streets, not only buildings or POIs)."),
            file=file.name,
        )
    logger.debug("pyrosm read %d nodes, %d edge segments from %s", len(nodes), len(edges), file)
    return network_from_tables(
        pd.DataFrame({"id": nodes["id"], "lon": nodes["lon"], "lat": nodes["lat"]}),
        pd.DataFrame({"u": edges["u"], "v": edges["v"], "length": edges["length"]}),
        source=Phrase(N_("{file} (pyrosm, walking)"), file=file.name),
    )


# --------------------------------------------------------------------------- online (osmnx)


def _osmnx_cache_key(place: str | None, polygon: Any | None) -> str:
    wkt = "" if polygon is None else shapely.to_wkt(shapely.normalize(polygon), 7)
    query = f"v{NETWORK_FORMAT_VERSION}|walk|place={place or ''}|polygon={wkt}"
    return hashlib.sha256(query.encode()).hexdigest()[:16]


def network_from_osmnx(
    *,
    place: str | None = None,
    polygon: Any | None = None,
    cache_dir: Path | None = None,
) -> WalkNetwork:
    """Download the walking network from OpenStreetMap with osmnx (needs internet).

    Parameters
    ----------
    place : str, optional
        A place name Nominatim knows, e.g. ``"市南区, 青岛市, 中国"``.
    polygon : shapely Polygon or MultiPolygon, optional
        The area, in WGS 84 lon/lat. Give exactly one of ``place`` and ``polygon``.
    cache_dir : pathlib.Path, optional
        Folder for downloaded networks, one ``.npz`` per query (see
        :func:`save_network`); a cached network is loaded without going online.

    Returns
    -------
    WalkNetwork
        osmnx's ``network_type="walk"`` graph, two-way, as from
        :func:`network_from_tables`.

    Raises
    ------
    InputError
        When neither or both of ``place`` and ``polygon`` are given, when no network
        (internet) is reachable, or when OpenStreetMap has nothing for the query.
    """
    if (place is None) == (polygon is None):
        raise InputError.worded(
            N_("Give exactly one of place= (a place name) and polygon= (a WGS 84 shapely "
               "polygon) to download a walking network.")
        )
    what = (Phrase(N_("place {place}"), place=repr(place)) if place is not None
            else Word(N_("the polygon")))
    cache: Path | None = None
    if cache_dir is not None:
        cache = Path(cache_dir) / f"osmnx-walk-{_osmnx_cache_key(place, polygon)}.npz"
        if cache.is_file():
            try:
                net = load_network(cache)
            except InputError as err:
                logger.warning("ignoring unreadable cached network %s: %s", cache, err)
            else:
                logger.info("walking network for %s loaded from cache %s", what, cache)
                return net
    import osmnx as ox
    from osmnx._errors import InsufficientResponseError, ResponseStatusCodeError

    try:
        if place is not None:
            G = ox.graph_from_place(place, network_type="walk")
        else:
            G = ox.graph_from_polygon(polygon, network_type="walk")
    except (OSError, ResponseStatusCodeError) as err:  # ConnectionError, requests' errors
        raise InputError.worded(
            N_("No network is reachable to download the walking network for {what} ({reason})"
               ". Work offline instead: copy an OpenStreetMap extract (.osm.pbf, e.g. a "
               "Geofabrik-style extract) onto this machine by hand and use network_from_pbf(), "
               "or load a network saved earlier with load_network()."),
            what=what, reason=str(err),
        ) from err
    except InsufficientResponseError as err:
        raise InputError.worded(
            N_("OpenStreetMap returned no walkable network for {what} ({reason}); check the "
               "place name or polygon, or use a local .osm.pbf extract with network_from_pbf()."),
            what=what, reason=str(err),
        ) from err
    nodes, edges = ox.graph_to_gdfs(G, node_geometry=False, fill_edge_geometry=False)
    source = f"OpenStreetMap via osmnx ({place if place is not None else 'polygon'}, walk)"
    node_table = pd.DataFrame(
        {"id": nodes.index.to_numpy(), "lon": nodes["x"].to_numpy(), "lat": nodes["y"].to_numpy()}
    )
    flat = edges.reset_index()
    edge_table = pd.DataFrame({c: flat[c] for c in ("u", "v", "length") if c in flat.columns})
    net = network_from_tables(node_table, edge_table, source=source)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        save_network(net, cache)
        logger.info("walking network for %s cached in %s", what, cache)
    return net


# --------------------------------------------------------------------------- save / load


def save_network(net: WalkNetwork, path: str | os.PathLike[str]) -> Path:
    """Save a network to a compressed ``.npz`` file, atomically.

    Parameters
    ----------
    net : WalkNetwork
        The network.
    path : str or os.PathLike
        Where to write, exactly this name (``.npz`` is not appended). The file is written
        next to it under a temporary name and then moved into place, so a reader never
        sees half a file and a failed save leaves an older file intact.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    target = Path(path)
    with atomic_path(target) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(
            fh,
            format=np.array(NETWORK_FORMAT),
            version=np.array(NETWORK_FORMAT_VERSION),
            node_ids=net.node_ids,
            x=net.x,
            y=net.y,
            data=net.graph.data,
            indices=net.graph.indices,
            indptr=net.graph.indptr,
            crs_wkt=np.array(net.crs.to_wkt()),
            source=np.array(net.source),
        )
    logger.debug("saved %r to %s", net, target)
    return target


def _not_a_network(path: Path, why: str) -> NotGeodataError:
    """Return the error for a file that is not a saved network (``why``: a Phrase or Word)."""
    return NotGeodataError.worded(
        N_("{file} is not a saved walking network ({why}); load a file written by "
           "save_network(), or build the network again from its .osm.pbf."),
        file=path.name, why=why,
    )


def _damaged(err: Exception) -> Phrase:
    """Return why a saved network is damaged: ``err``'s message (translated where worded)."""
    reason: str = str(err)
    if isinstance(err, WanggeError) and err.template:
        reason = Phrase(err.template, **err.fields)
    return Phrase(N_("damaged: {reason}"), reason=reason)


def _saved_arrays(file: Path, npz: Any) -> dict[str, np.ndarray]:
    names = set(npz.files)
    if "format" not in names or str(npz["format"]) != NETWORK_FORMAT:
        raise _not_a_network(file, Phrase(N_("it holds arrays {names}"), names=str(sorted(names))))
    version = int(npz["version"]) if "version" in names else -1
    if version != NETWORK_FORMAT_VERSION:
        raise _not_a_network(file, Phrase(
            N_("format version {version}, this wangge reads {supported}"),
            version=version, supported=NETWORK_FORMAT_VERSION,
        ))
    missing = [k for k in _SAVED_ARRAYS if k not in names]
    if missing:
        raise _not_a_network(
            file, Phrase(N_("arrays missing: {names}"), names=", ".join(missing)))
    return {k: npz[k] for k in _SAVED_ARRAYS}


def load_network(path: str | os.PathLike[str]) -> WalkNetwork:
    """Load a network saved by :func:`save_network`, checking it on the way.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.npz`` file.

    Returns
    -------
    WalkNetwork
        The network as saved.

    Raises
    ------
    InputError
        When the file does not exist.
    NotGeodataError
        When it is not a saved network, is of another format version, or is damaged.
    """
    file = Path(path)
    if not file.is_file():
        raise InputError.worded(
            N_("{file} does not exist; save a network there first with save_network(), or "
               "build one with network_from_pbf()."),
            file=str(file),
        )
    try:
        # open the file here: np.load leaks its own handle when the zip is damaged
        with open(file, "rb") as fh:
            loaded = np.load(fh, allow_pickle=False)
            if not isinstance(loaded, np.lib.npyio.NpzFile):
                raise _not_a_network(
                    file, Word(N_("it holds a single .npy array, not an .npz archive")))
            with loaded as npz:
                arrays = _saved_arrays(file, npz)
    except NotGeodataError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as err:
        raise _not_a_network(
            file, Phrase(N_("not a readable .npz: {reason}"), reason=str(err))) from err
    n = arrays["node_ids"].size
    try:
        graph = csr_matrix(
            (arrays["data"], arrays["indices"], arrays["indptr"]), shape=(n, n), copy=False
        )
        graph.check_format(full_check=True)
        crs = pyproj.CRS.from_wkt(str(arrays["crs_wkt"]))
    except (ValueError, TypeError, pyproj.exceptions.CRSError) as err:
        raise _not_a_network(file, _damaged(err)) from err
    if (graph != graph.T).nnz or not (graph.data > 0).all():
        raise _not_a_network(
            file, Word(N_("damaged: the graph is not symmetric with positive lengths")))
    try:
        return WalkNetwork(
            node_ids=arrays["node_ids"],
            x=arrays["x"],
            y=arrays["y"],
            crs=crs,
            graph=graph,
            source=str(arrays["source"]),
        )
    except InputError as err:
        raise _not_a_network(file, _damaged(err)) from err


# --------------------------------------------------------------------------- synthetic


def synthetic_network(
    n_nodes: int,
    *,
    seed: int,
    center_lonlat: tuple[float, float] = (120.45, 36.15),
    spacing_m: float = 80.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Make a city-like street grid as pyrosm-shaped node and edge tables.

    A jittered square lattice of ``n_nodes`` nodes, ``spacing_m`` apart, centred at
    ``center_lonlat``. Each node links to its east and north neighbours; about 8 % of
    those links are removed, about 5 % of blocks get a diagonal shortcut, and about 1 %
    of edges appear twice with different lengths (parallel edges, sometimes reversed).
    Lengths are the straight-line distance times a factor drawn from [1.0, 1.15]. Edges
    are shuffled and half of them reversed, as ways in OSM point either way.

    Parameters
    ----------
    n_nodes : int
        Number of nodes, at least 4.
    seed : int
        Seed for ``numpy.random.default_rng``: the same seed gives the same tables.
    center_lonlat : tuple of float
        Centre of the grid, WGS 84 (default: Qingdao).
    spacing_m : float
        Lattice spacing in metres.

    Returns
    -------
    tuple of pandas.DataFrame
        ``(nodes, edges)``: nodes with ``id`` (large, non-contiguous int64, in no
        spatial order, like OSM ids), ``lon``, ``lat``; edges with ``u``, ``v`` and
        ``length`` (metres).
    """
    if n_nodes < 4:
        raise InputError.worded(N_("n_nodes must be at least 4, got {n}."), n=n_nodes)
    if not spacing_m > 0:
        raise InputError.worded(N_("spacing_m must be positive, got {spacing}."),
                                spacing=spacing_m)
    rng = np.random.default_rng(seed)
    cols = math.ceil(math.sqrt(n_nodes))
    pos = np.arange(n_nodes, dtype=np.int64)
    row, col = pos // cols, pos % cols
    limit = 0.3 * spacing_m
    jitter = np.clip(rng.normal(0.0, 0.12 * spacing_m, size=(2, n_nodes)), -limit, limit)
    lx = (col - (cols - 1) / 2) * spacing_m + jitter[0]
    ly = (row - (row.max()) / 2) * spacing_m + jitter[1]

    east = pos[(col + 1 < cols) & (pos + 1 < n_nodes)]
    north = pos[pos + cols < n_nodes]
    diag = pos[(col + 1 < cols) & (pos + cols + 1 < n_nodes)]
    diag = diag[rng.random(diag.size) < 0.05]
    u = np.concatenate([east, north, diag])
    v = np.concatenate([east + 1, north + cols, diag + cols + 1])
    keep = rng.random(u.size) >= 0.08
    u, v = u[keep], v[keep]
    twin = rng.random(u.size) < 0.01
    u, v = np.concatenate([u, v[twin]]), np.concatenate([v, u[twin]])  # parallel, reversed
    flip = rng.random(u.size) < 0.5
    u, v = np.where(flip, v, u), np.where(flip, u, v)
    order = rng.permutation(u.size)
    u, v = u[order], v[order]
    length = np.hypot(lx[u] - lx[v], ly[u] - ly[v]) * rng.uniform(1.0, 1.15, size=u.size)

    lon0, lat0 = center_lonlat
    local = pyproj.CRS.from_proj4(
        f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +x_0=0 +y_0=0 +datum=WGS84 +units=m"
    )
    lon, lat = pyproj.Transformer.from_crs(local, WGS84, always_xy=True).transform(lx, ly)
    gaps = rng.integers(1, 20_000, size=n_nodes, dtype=np.int64)
    ids = rng.permutation(np.int64(2_000_000_000) + np.cumsum(gaps))
    nodes = pd.DataFrame({"id": ids, "lon": np.asarray(lon, float), "lat": np.asarray(lat, float)})
    edges = pd.DataFrame({"u": ids[u], "v": ids[v], "length": np.round(length, 3)})
    return nodes, edges


def read_network(path: str | os.PathLike[str]) -> WalkNetwork:
    """Read a walking network from a ``.osm.pbf`` extract or a network saved as ``.npz``.

    Parameters
    ----------
    path : str or os.PathLike
        The extract (``*.osm.pbf``) or a file written by :func:`save_network`.

    Returns
    -------
    WalkNetwork

    Raises
    ------
    InputError
        When the file does not exist or is neither kind.
    """
    p = Path(path)
    if not p.exists():
        raise InputError.worded(
            N_("Network file {file} does not exist. Give a .osm.pbf extract or a saved .npz "
               "network, or run with --straight-line."),
            file=str(p),
        )
    if p.name.lower().endswith(".pbf"):
        return network_from_pbf(p)
    if p.suffix.lower() == ".npz":
        return load_network(p)
    raise InputError.worded(
        N_("{file} is neither a .osm.pbf extract nor a saved .npz network."), file=p.name)
