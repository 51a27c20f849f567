"""Splitting a community in a project: every plan carried over, the history kept across the split.

A split makes a new district (one community becomes two), so it is kept in a
new project file. :func:`carry_plans` writes every plan of the old project
into the new one (each keeps its streets; the two new communities join the
street the old one was in) and links the two files plan by plan, in a table
``wangge_split_links`` of each project GeoPackage:

- the new project's link (``direction = "from"``) names the project the plan
  came from, so undoing past the first step after the split goes back to the
  plan there, as it was before the split, its own undo history whole;
- the old project's link (``direction = "to"``) names the new project and the
  plan's state when it was split, so a redo from that same state goes forward
  again.

Both links carry the project the chain started from (``origin``), e.g. the
built-in sample, whose facilities and walking network still apply after a
split.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from geo.plan.base import PlanBase
from geo.plan.model import Plan
from geo.plan.store import PlanStore

logger = logging.getLogger(__name__)

_TABLE = (
    "CREATE TABLE IF NOT EXISTS wangge_split_links ("
    "plan TEXT NOT NULL, direction TEXT NOT NULL, project TEXT NOT NULL, origin TEXT NOT NULL, "
    "code TEXT NOT NULL, new_codes TEXT NOT NULL, state TEXT NOT NULL, at TEXT NOT NULL, "
    "PRIMARY KEY (plan, direction))"
)


@dataclass(frozen=True)
class SplitLink:
    """One plan's link to the project on the other side of a split.

    Parameters
    ----------
    plan : str
        The plan's name (the same in both projects).
    direction : str
        ``from``: this project was made from ``project`` by the split;
        ``to``: this project was split into ``project``.
    project : str
        The other project's key (``sample`` for the built-in sample).
    origin : str
        The key of the project the chain of splits started from.
    code : str
        The community that was split.
    new_codes : tuple of str
        The codes of the two communities it became.
    state : str
        :func:`plan_state` of the plan in the old project when it was split.
    """

    plan: str
    direction: str
    project: str
    origin: str
    code: str
    new_codes: tuple[str, ...]
    state: str


def plan_state(plan: Plan) -> str:
    """Return a fingerprint of a plan's streets, assignment and done edits (stable across runs)."""
    h = hashlib.sha256()
    h.update(plan.base.district_key.encode())
    h.update(json.dumps([[s.code, s.name, s.kind, s.locked] for s in plan.streets],
                        ensure_ascii=False).encode())
    h.update(plan.assignment.astype("int64").tobytes())
    for edit in plan.undo_stack:
        h.update(edit.to_json().encode())
    return h.hexdigest()[:20]


@contextlib.contextmanager
def _links(path: Path) -> Iterator[sqlite3.Connection]:
    con = sqlite3.connect(path, timeout=30.0)
    try:
        con.execute(_TABLE)
        yield con
        con.commit()
    finally:
        con.close()


def _write_link(path: Path, link: SplitLink) -> None:
    with _links(path) as con:
        con.execute(
            "INSERT OR REPLACE INTO wangge_split_links VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (link.plan, link.direction, link.project, link.origin, link.code,
             json.dumps(list(link.new_codes)), link.state, datetime.now(UTC).isoformat()),
        )


def split_link(store: PlanStore, plan: str, direction: str) -> SplitLink | None:
    """Return the plan's link across a split in ``direction`` (``from`` or ``to``), if any."""
    with _links(store.path) as con:
        row = con.execute(
            "SELECT project, origin, code, new_codes, state FROM wangge_split_links "
            "WHERE plan = ? AND direction = ?", (plan, direction),
        ).fetchone()
    if row is None:
        return None
    return SplitLink(plan=plan, direction=direction, project=row[0], origin=row[1], code=row[2],
                     new_codes=tuple(json.loads(row[3])), state=row[4])


def origin_of(store: PlanStore) -> str | None:
    """Return the key of the project a split project descends from (None when not split)."""
    with _links(store.path) as con:
        row = con.execute(
            "SELECT origin FROM wangge_split_links WHERE direction = 'from' LIMIT 1"
        ).fetchone()
    return None if row is None else str(row[0])


def carry_plans(
    old_store: PlanStore,
    old_base: PlanBase,
    new_store: PlanStore,
    new_base: PlanBase,
    *,
    old_key: str,
    new_key: str,
    code: str,
    new_codes: Sequence[str],
) -> list[str]:
    """Write every plan of a project into the project made by splitting community ``code``.

    Each plan keeps its streets and assignment; the two new communities join
    the street ``code`` was in. The plans in the old project are left as they
    are, and each pair is linked (see the module docstring), so an undo past
    the split goes back to the old project and a redo comes forward again.

    Parameters
    ----------
    old_store, old_base : PlanStore, PlanBase
        The project that held ``code`` and its district.
    new_store, new_base : PlanStore, PlanBase
        The project made by the split and its district.
    old_key, new_key : str
        The two projects' keys (as the app names them in its URL).
    code : str
        The community that was split.
    new_codes : sequence of str
        The two communities it became.

    Returns
    -------
    list of str
        The names of the plans carried over.
    """
    origin = origin_of(old_store) or old_key
    carried: list[str] = []
    for name in old_store.list_plans()["name"]:
        old = old_store.load_plan(str(name), old_base)
        frame = old.assignment_frame()
        street_of = dict(zip(frame["code"].astype(str), frame["parent_code"], strict=True))
        for c in new_codes:
            street_of[str(c)] = street_of[str(code)]
        streets = old.streets
        pos = {s.code: k for k, s in enumerate(streets)}
        assignment = [pos[street_of[str(c)]] for c in new_base.codes]
        new_store.save_plan(Plan(new_base, name=old.name, streets=streets, assignment=assignment))
        back = SplitLink(plan=old.name, direction="from", project=old_key, origin=origin,
                         code=str(code), new_codes=tuple(str(c) for c in new_codes),
                         state=plan_state(old))
        _write_link(new_store.path, back)
        _write_link(old_store.path, dataclasses.replace(back, direction="to", project=new_key))
        carried.append(old.name)
    logger.info("split %s → %s: %d plans carried over from %s to %s", code,
                ", ".join(map(str, new_codes)), len(carried), old_key, new_key)
    return carried
