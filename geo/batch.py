"""Many districts at once — every city of a province, every province of the nation — on Dask.

Each district is checked (or audited) on its own, as ``wangge check`` (``wangge audit``)
would, as one Dask task; the
results come back as plain data and are merged into one report. Scheduling, retries,
spilling and workers on other machines are Dask's (``dask.distributed``): by default a
``LocalCluster`` on this machine, or any scheduler given by address
(``tcp://host:8786``), started with ``dask scheduler`` / ``dask worker`` on a cluster.

A district that cannot be read is reported with its message; the others go on.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geo.errors import InputError, WanggeError
from geo.i18n import N_

logger = logging.getLogger(__name__)

_DISTRICT_FILES = (".gpkg", ".geojson", ".json", ".shp", ".zip")
"""Files that hold a district of their own when found in a folder of districts."""


def district_sources(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Return one source per district: each file given, and each entry of each folder given.

    A folder's entries are its sub-folders (one district's layers each) and its
    GeoPackage, GeoJSON, Shapefile and zip files (one district each).

    Raises
    ------
    InputError
        If nothing is found.
    """
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise InputError.worded(
                N_("{path} does not exist. Give folders or files of districts."), path=str(p))
        if p.is_dir():
            for entry in sorted(p.iterdir()):
                if entry.name.startswith("."):
                    continue
                if entry.is_dir() or entry.suffix.lower() in _DISTRICT_FILES:
                    out.append(entry)
        else:
            out.append(p)
    if not out:
        raise InputError.worded(
            N_("No district was found: give a folder holding one sub-folder or file per "
               "district (GeoPackage, GeoJSON, Shapefile or zip).")
        )
    return out


def check_one(source: str, rules: str | None = None) -> dict[str, Any]:
    """Check one district as ``wangge check`` does; return plain, picklable data.

    Returns
    -------
    dict
        ``district`` (the source's name), ``source``, and either ``summary``
        and ``findings`` (JSON-ready, as in the check report) or ``error``.
    """
    from geo.district.hierarchy import read_district
    from geo.report import check_report
    from geo.rules.rulebook import load_rulebook

    name = Path(source).stem if Path(source).is_file() else Path(source).name
    try:
        rulebook = load_rulebook(rules)
        district = read_district(source, household_size=rulebook.household_size)
        doc = check_report(district, rulebook).to_dict()
    except WanggeError as exc:
        return {"district": name, "source": str(source), "error": str(exc)}
    return {
        "district": name,
        "source": str(source),
        "summary": doc["summary"],
        "findings": doc["findings"],
    }


@dataclass
class BatchReport:
    """The merged result of checking many districts."""

    results: list[dict[str, Any]] = field(default_factory=list)

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Districts that could not be checked, with their messages."""
        return [r for r in self.results if "error" in r]

    @property
    def n_findings(self) -> int:
        """Findings over every district checked."""
        return sum(len(r.get("findings", [])) for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        """Return the merged report: per district its summary, and every finding tagged."""
        findings = [
            {**f, "district": r["district"]} for r in self.results for f in r.get("findings", [])
        ]
        return {
            "districts": [
                {k: v for k, v in r.items() if k != "findings"} for r in self.results
            ],
            "findings": findings,
            "n_districts": len(self.results),
            "n_unusable": len(self.errors),
        }


def _service_file(folder: Path, names: Sequence[str]) -> Path | None:
    for name in names:
        hit = sorted(folder.glob(name))
        if hit:
            return hit[0]
    return None


def audit_one(source: str, out_dir: str, rules: str | None = None) -> dict[str, Any]:
    """Audit one district folder as ``wangge audit`` does; write its report; return plain data.

    The folder holds the district's layers and, beside them, ``facilities.*``,
    ``buildings.*`` and a network (``*.npz`` or ``*.osm.pbf``; without one,
    straight-line distances, marked as an approximation).

    Returns
    -------
    dict
        ``district``, ``source``, ``report`` (the folder written), ``types`` (per
        facility type: facilities, share of residents within reach, median walk)
        and ``findings``; or ``error`` with the message.
    """
    from geo.access.audit import run_audit
    from geo.district.hierarchy import read_district
    from geo.report import write_audit_report
    from geo.rules.rulebook import load_rulebook

    folder = Path(source)
    name = folder.stem if folder.is_file() else folder.name
    try:
        if not folder.is_dir():
            raise InputError.worded(
                N_("{name}: an audit needs a folder per district holding its layers, "
                   "facilities and network; this is a single file."),
                name=folder.name,
            )
        rulebook = load_rulebook(rules)
        district = read_district(folder, household_size=rulebook.household_size)
        facilities = _service_file(folder, ("facilities.*", "*facilit*.*", "设施*.*"))
        network = _service_file(folder, ("*.npz", "*.osm.pbf"))
        buildings = _service_file(folder, ("buildings.*", "建筑*.*"))
        if facilities is None:
            raise InputError.worded(
                N_("{name} holds no facilities layer (facilities.geojson or similar); put the "
                   "district's facilities beside its boundaries."),
                name=folder.name,
            )
        result = run_audit(
            district, rulebook, facilities=facilities, network=network, buildings=buildings,
            straight_line=network is None,
        )
        target = Path(out_dir) / name
        write_audit_report(result, target)
    except WanggeError as exc:
        return {"district": name, "source": str(source), "error": str(exc)}
    types = [
        {
            "type": str(row["type"]) if "type" in row else str(row["name"]),
            "name": str(row["name"]),
            "facilities": int(row["facilities"]),
            "share_covered": float(row["share_covered"]),
            "median_distance": str(row["median_distance"]),
        }
        for _, row in result.type_table.iterrows()
    ]
    return {
        "district": name,
        "source": str(source),
        "report": str(target),
        "approximate": bool(result.approximate),
        "types": types,
        "findings": [f.to_dict() for f in result.findings],
    }


def audit_districts(
    sources: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    rules: str | None = None,
    scheduler: str | None = None,
    workers: int = 2,
    progress: Callable[[str, float], None] | None = None,
) -> BatchReport:
    """Audit every district folder as a Dask task; one report folder each under ``out_dir``."""
    return _run(audit_one, [str(s) for s in sources], {"out_dir": str(out_dir), "rules": rules},
                scheduler=scheduler, workers=workers, progress=progress, verb="audited")


def check_districts(
    sources: Sequence[str | os.PathLike[str]],
    *,
    rules: str | None = None,
    scheduler: str | None = None,
    workers: int = 2,
    progress: Callable[[str, float], None] | None = None,
) -> BatchReport:
    """Check every district as a Dask task and merge the results (in the sources' order).

    Parameters
    ----------
    sources : sequence of path-like
        One per district (see :func:`district_sources`).
    rules : str, optional
        Rulebook preset name or path, as ``--rules``.
    scheduler : str, optional
        Address of a running Dask scheduler; default a ``LocalCluster`` with
        ``workers`` single-threaded worker processes on this machine.
    workers : int
        Workers of the local cluster.
    progress : callable, optional
        ``progress(text, fraction)`` as districts finish.
    """
    return _run(check_one, [str(s) for s in sources], {"rules": rules},
                scheduler=scheduler, workers=workers, progress=progress, verb="checked")


def _run(
    task: Callable[..., dict[str, Any]],
    paths: list[str],
    kwargs: dict[str, Any],
    *,
    scheduler: str | None,
    workers: int,
    progress: Callable[[str, float], None] | None,
    verb: str,
) -> BatchReport:
    """Run ``task(path, **kwargs)`` for every path on Dask; results in the paths' order."""
    from dask.distributed import Client, LocalCluster, as_completed

    for name in ("distributed", "tornado"):  # their INFO lines are not the planner's business
        logging.getLogger(name).setLevel(logging.WARNING)

    if scheduler:
        client = Client(scheduler)
        cluster = None
    else:
        cluster = LocalCluster(
            n_workers=max(int(workers), 1), threads_per_worker=1, processes=True,
            dashboard_address=None,
        )
        client = Client(cluster)
    try:
        futures = client.map(task, paths, **kwargs, pure=False)
        done: dict[str, dict[str, Any]] = {}
        for k, fut in enumerate(as_completed(futures), start=1):
            result = fut.result()
            done[result["source"]] = result
            if progress is not None:
                progress(f"{result['district']} {verb}", k / len(paths))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return BatchReport([done[p] for p in paths])
