"""Plans kept in the project GeoPackage, edit by edit: :class:`PlanStore`.

A :class:`PlanStore` keeps plans in the project GeoPackage (a SQLite file):
each edit is appended to an edit log together with the assignment rows it
changed, in one transaction, so a closed browser or a crash loses nothing.
Every stored step raises the plan's revision; an edit made on an older
revision (another tab or process changed the plan meanwhile) is replayed on
the stored plan first, or refused when it clashes, so no one's edit is lost.

Examples
--------
>>> store = PlanStore("project.gpkg"); store.record(plan, edit)  # doctest: +SKIP
>>> plan.undo(); store.record(plan, plan.redo())          # doctest: +SKIP
>>> store.load_plan("current", district)                  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj

from geo.district.model import District
from geo.errors import PlanError
from geo.findings import Phrase, Word
from geo.i18n import N_
from geo.io import atomic_path
from geo.plan.base import PlanBase, Street, capital_word
from geo.plan.model import Edit, Plan

logger = logging.getLogger(__name__)


_SQLITE_HEADER = b"SQLite format 3\x00"
_GPKG_APPLICATION_ID = 0x47504B47  # "GPKG"
_GPKG_USER_VERSION = 10400

_GPKG_CORE = """
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL PRIMARY KEY,
  organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL,
  definition TEXT NOT NULL,
  description TEXT
);
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY,
  data_type TEXT NOT NULL,
  identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE,
  srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id)
);
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL,
  column_name TEXT NOT NULL,
  geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL,
  z TINYINT NOT NULL,
  m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id)
);
"""

_PLAN_TABLES = """
CREATE TABLE IF NOT EXISTS wangge_plans (
  name TEXT PRIMARY KEY,
  created TEXT NOT NULL,
  updated TEXT NOT NULL,
  district_key TEXT NOT NULL,
  note TEXT DEFAULT ''
);
CREATE TABLE IF NOT EXISTS wangge_streets (
  plan TEXT NOT NULL,
  code TEXT NOT NULL,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  locked INTEGER NOT NULL DEFAULT 0,
  position INTEGER NOT NULL,
  PRIMARY KEY (plan, code)
);
CREATE TABLE IF NOT EXISTS wangge_assignments (
  plan TEXT NOT NULL,
  block_code TEXT NOT NULL,
  street_code TEXT NOT NULL,
  PRIMARY KEY (plan, block_code)
);
CREATE TABLE IF NOT EXISTS wangge_edits (
  plan TEXT NOT NULL,
  seq INTEGER NOT NULL,
  op_json TEXT NOT NULL,
  undone INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (plan, seq)
);
"""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_SYNCED: weakref.WeakKeyDictionary[Plan, dict[str, int]] = weakref.WeakKeyDictionary()
"""The stored revision each open plan was last in step with, per project file."""
_SYNCED_LOCK = threading.Lock()


def _replay(plan: Plan, edit: Edit) -> Edit | None:
    """Make ``edit`` again on a plan refreshed from the store; return the new edit.

    Returns ``None`` when the other steps already did it (nothing to store).

    Raises
    ------
    PlanError
        When the other steps clash with it: a block moved to a third street,
        or a street that is gone. The message names what changed.
    """
    if edit.op == "new_street":
        free = not plan.has_street(edit.street)
        plan.new_street(
            name=edit.name or edit.street,
            code=edit.street if free else None,
            kind=edit.kind or "street",
        )
        return plan.last_edit
    if not plan.has_street(edit.street):
        raise PlanError.worded(
            N_("Street {street} was taken back in another tab or window meanwhile, so your "
               "change was not made. The plan now shows the other changes; create the street "
               "again if you need it."),
            street=edit.street,
        )
    if edit.op == "lock":
        return plan.set_locked(edit.street, bool(edit.locked))
    if edit.op == "rename":
        return plan.rename_street(edit.street, edit.name or edit.street)
    moving, clashes = [], []
    for block, source in zip(edit.blocks, edit.sources, strict=True):
        now = plan.street_of(block)
        if now == source:
            moving.append(block)
        elif now != edit.street:  # the same move made elsewhere is no clash
            b = int(plan.base.positions([block])[0])
            name = plan.base.names[b] or block
            clashes.append(Phrase(N_("{unit} ({code}) to {street}"), unit=name, code=block,
                                  street=plan.street(now).label))
    if clashes:
        raise PlanError.worded(
            N_("{nouns} were moved in another tab or window meanwhile: {moves}. Your move to "
               "{street} was not made; the plan now shows the other changes. Move them again if "
               "you still want to."),
            nouns=capital_word(plan.base.nouns), moves=Phrase.joined(clashes, "; "),
            street=plan.street(edit.street).label,
        )
    if not moving:
        return None
    replayed = plan.move(moving, edit.street)
    return None if replayed.noop else replayed


class PlanStore:
    """Plans kept in the project GeoPackage (a SQLite file), edit by edit.

    Tables (next to whatever layers the GeoPackage holds, which are left
    alone): ``wangge_plans(name, created, updated, district_key, note)``,
    ``wangge_streets(plan, code, name, kind, locked, position)``,
    ``wangge_assignments(plan, block_code, street_code)`` and
    ``wangge_edits(plan, seq, op_json, undone)``.

    Parameters
    ----------
    path : path-like
        The project GeoPackage. A missing file is created as a minimal
        GeoPackage (the core ``gpkg_*`` tables, no layers), so layers can be
        written into it later.
    timeout_s : float
        How long a write waits for another writer (busy timeout).

    Notes
    -----
    Each call opens its own connection, so one store may be shared between
    threads (browser sessions). The file is switched to WAL journalling, so
    readers never wait for writers and two sessions editing two plans do not
    block each other; writes take the write lock at once (``BEGIN
    IMMEDIATE``) and wait up to ``timeout_s`` for it. GDAL lists the
    ``wangge_*`` tables as layers without geometry, which
    :func:`geo.io.read_layers` skips.

    Each stored plan has a revision that every stored step raises. The
    store remembers which revision each open :class:`~geo.plan.model.Plan` object was last
    in step with (per file, across store objects), so :meth:`record` can
    tell an edit made on an older revision (another tab or process stored
    steps meanwhile): it takes those steps in first and makes the edit again,
    or refuses it when it clashes. A new project file is built aside and
    published only if the name is still free, so processes opening it at
    once never swap a file another holds open.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout_s = float(timeout_s)
        if not self.path.exists():
            with contextlib.suppress(FileExistsError):  # another process created it first
                self._create_geopackage()
        if self.path.stat().st_size == 0:
            raise PlanError.worded(
                N_("{file} is an empty file, so plans cannot be kept in it. Delete it (a new "
                   "project file is then created) or give another file name."),
                file=str(self.path),
            )
        with open(self.path, "rb") as fh:
            header = fh.read(16)
        if header != _SQLITE_HEADER:
            raise PlanError.worded(
                N_("{file} is not a GeoPackage (SQLite) file, so plans cannot be kept in it. "
                   "Give the project's .gpkg file, or a new file name to create one."),
                file=str(self.path),
            )
        self._key = str(self.path.resolve())
        with self._connect() as con:
            mode = con.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":  # pragma: no cover - e.g. a network drive
                logger.warning("%s: WAL journalling unavailable (%s)", self.path, mode)
        with self._write() as con:
            for statement in _PLAN_TABLES.split(";"):
                if statement.strip():
                    con.execute(statement)
            columns = {row[1] for row in con.execute("PRAGMA table_info(wangge_plans)")}
            if "revision" not in columns:  # a project file from before revisions
                con.execute(
                    "ALTER TABLE wangge_plans ADD COLUMN revision INTEGER NOT NULL DEFAULT 0"
                )

    # ---------------------------------------------------------------- connections

    def _create_geopackage(self) -> None:
        # Built aside and published only if the name is still free: a file another
        # process already created (and may hold open) is never replaced.
        with atomic_path(self.path, exclusive=True) as tmp:
            con = sqlite3.connect(tmp)
            try:
                con.execute(f"PRAGMA application_id = {_GPKG_APPLICATION_ID}")
                con.execute(f"PRAGMA user_version = {_GPKG_USER_VERSION}")
                con.executescript(_GPKG_CORE)
                wgs84 = pyproj.CRS.from_epsg(4326).to_wkt("WKT1_GDAL")
                con.executemany(
                    "INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        ("Undefined cartesian SRS", -1, "NONE", -1, "undefined",
                         "undefined cartesian coordinate reference system"),
                        ("Undefined geographic SRS", 0, "NONE", 0, "undefined",
                         "undefined geographic coordinate reference system"),
                        ("WGS 84 geodetic", 4326, "EPSG", 4326, wgs84,
                         "longitude/latitude coordinates in decimal degrees on the WGS 84 "
                         "spheroid"),
                    ],
                )  # fmt: skip
                con.commit()
            finally:
                con.close()
        logger.info("created GeoPackage %s for plans", self.path)

    def _connect(self) -> contextlib.closing[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None)
        con.execute(f"PRAGMA busy_timeout = {int(self.timeout_s * 1000)}")
        return contextlib.closing(con)

    # ---------------------------------------------------------------- revisions

    def _remember(self, plan: Plan, revision: int) -> None:
        with _SYNCED_LOCK:
            _SYNCED.setdefault(plan, {})[self._key] = revision

    def _known(self, plan: Plan) -> int | None:
        with _SYNCED_LOCK:
            return _SYNCED.get(plan, {}).get(self._key)

    def revision(self, name: str) -> int | None:
        """Return a stored plan's revision (raised by every stored step), ``None`` if not stored."""
        with self._connect() as con:
            row = con.execute(
                "SELECT revision FROM wangge_plans WHERE name = ?", (name,)
            ).fetchone()
        return None if row is None else int(row[0])

    def refresh(self, plan: Plan) -> bool:
        """Bring an open plan up to the stored one if another tab or process changed it.

        Returns
        -------
        bool
            ``True`` when the plan was replaced, in place, by the stored plan
            (its figures, undo and redo then include the other edits).
        """
        stored = self.revision(plan.name)
        if stored is None or stored == self._known(plan):
            return False
        with self._connect() as con:
            con.execute("BEGIN")
            fresh, revision = self._read_plan(con, plan.name, plan.base)
            con.execute("COMMIT")
        plan.adopt(fresh)
        self._remember(plan, revision)
        logger.info("plan %s: updated to revision %d from the store", plan.name, revision)
        return True

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    # ---------------------------------------------------------------- writing

    def save_plan(self, plan: Plan, *, note: str | None = None, if_absent: bool = False) -> bool:
        """Write a full snapshot of a plan: streets, assignment and edit log (undo and redo).

        Parameters
        ----------
        plan : Plan
            The plan to store under its name.
        note : str, optional
            A note kept with it (an earlier note is kept when ``None``).
        if_absent : bool
            Store it only if no plan of that name is stored yet (checked in the
            same transaction), e.g. a plan opened from a URL and not yet edited.

        Returns
        -------
        bool
            Whether the plan was written.

        Raises
        ------
        PlanError
            If a plan of that name made on another district is stored; delete
            or rename it first, or save under another name.
        """
        with self._write() as con:
            if (
                if_absent
                and con.execute(
                    "SELECT 1 FROM wangge_plans WHERE name = ?", (plan.name,)
                ).fetchone()
            ):
                return False
            self._snapshot(con, plan, note=note)
        return True

    def _bump(self, con: sqlite3.Connection, plan: Plan) -> None:
        """Raise the stored revision after a step and note that ``plan`` is in step with it."""
        con.execute(
            "UPDATE wangge_plans SET revision = revision + 1, updated = ? WHERE name = ?",
            (_now(), plan.name),
        )
        (revision,) = con.execute(
            "SELECT revision FROM wangge_plans WHERE name = ?", (plan.name,)
        ).fetchone()
        self._remember(plan, int(revision))

    def _snapshot(self, con: sqlite3.Connection, plan: Plan, *, note: str | None) -> None:
        now = _now()
        row = con.execute(
            "SELECT district_key, created, note FROM wangge_plans WHERE name = ?", (plan.name,)
        ).fetchone()
        if row is not None and row[0] != plan.base.district_key:
            raise PlanError.worded(
                N_("The project already holds a plan named {plan} made on another district. "
                   "Save under another name, or delete that plan first."),
                plan=repr(plan.name),
            )
        created = row[1] if row else now
        keep_note = row[2] if row and note is None else (note or "")
        con.execute(
            "INSERT INTO wangge_plans (name, created, updated, district_key, note) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET updated = excluded.updated, "
            "note = excluded.note",
            (plan.name, created, now, plan.base.district_key, keep_note),
        )
        for table in ("wangge_streets", "wangge_assignments", "wangge_edits"):
            con.execute(f"DELETE FROM {table} WHERE plan = ?", (plan.name,))  # noqa: S608
        con.executemany(
            "INSERT INTO wangge_streets (plan, code, name, kind, locked, position) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (plan.name, s.code, s.name, s.kind, int(s.locked), k)
                for k, s in enumerate(plan.streets)
            ],
        )
        codes = [s.code for s in plan.streets]
        con.executemany(
            "INSERT INTO wangge_assignments (plan, block_code, street_code) VALUES (?, ?, ?)",
            [
                (plan.name, str(b), codes[int(k)])
                for b, k in zip(plan.base.codes, plan.assignment, strict=True)
            ],
        )
        log = [*plan.undo_stack, *reversed(plan.redo_stack)]
        n_done = len(plan.undo_stack)
        con.executemany(
            "INSERT INTO wangge_edits (plan, seq, op_json, undone) VALUES (?, ?, ?, ?)",
            [(plan.name, k + 1, e.to_json(), int(k >= n_done)) for k, e in enumerate(log)],
        )
        self._bump(con, plan)

    def record(self, plan: Plan, edit: Edit | None) -> bool:
        """Store one step of a plan: a new edit, an undo or a redo, in one transaction.

        Call it after every move, new street, lock, rename, undo and redo of a
        :class:`~geo.plan.model.Plan` (:meth:`~geo.plan.model.Plan.move` and the others)
        with what they returned. A new edit is appended
        to the log (dropping any undone edits after it), an undo marks its
        edit undone and a redo marks it done again; the assignment and street
        rows the edit touched are brought up to date in the same transaction,
        and the plan's stored revision goes up by one. A plan not yet stored
        is written in full.

        When the stored plan moved on since ``plan`` was last in step with it
        (another tab or process recorded steps meanwhile), ``plan`` is first
        replaced, in place, by the stored plan, and the edit is made again on
        it, so both tabs' edits are kept. An edit that clashes with the other
        steps (a block moved elsewhere meanwhile, a street gone) is refused,
        and so is an undo: the refreshed plan is then left as stored.

        Parameters
        ----------
        plan : Plan
            The plan, after the step.
        edit : Edit or None
            What the step returned; ``None`` and no-op edits are ignored.

        Returns
        -------
        bool
            ``True`` when other steps were taken in first (say "changed in
            another tab — updated"), ``False`` otherwise.

        Raises
        ------
        PlanError
            If the stored plan belongs to another district, or the edit
            clashes with steps stored meanwhile (the message says what changed).
        """
        if edit is None or edit.noop:
            return False
        refreshed = False
        with self._write() as con:
            row = con.execute(
                "SELECT district_key, revision FROM wangge_plans WHERE name = ?", (plan.name,)
            ).fetchone()
            if row is None:
                self._snapshot(con, plan, note=None)
                return False
            if row[0] != plan.base.district_key:
                raise PlanError.worded(
                    N_("The stored plan {plan} belongs to another district. Save this plan "
                       "under another name."),
                    plan=repr(plan.name),
                )
            if self._known(plan) != int(row[1]):
                was_undo = plan.can_redo and plan.redo_stack[-1] is edit
                fresh, revision = self._read_plan(con, plan.name, plan.base)
                plan.adopt(fresh)
                self._remember(plan, revision)
                refreshed = True
                logger.info("plan %s: changed elsewhere; replaying %s", plan.name, edit.op)
                if was_undo:
                    raise PlanError.worded(
                        N_("Plan {plan} was changed in another tab or window meanwhile and has "
                           "been updated; nothing was undone. Undo again to take back the "
                           "latest step."),
                        plan=repr(plan.name),
                    )
                replayed = _replay(plan, edit)
                if replayed is None:
                    return True
                edit = replayed
            self._append(con, plan, edit)
        return refreshed

    def _append(self, con: sqlite3.Connection, plan: Plan, edit: Edit) -> None:
        """Store a step of a plan that was in step with the stored one before it."""
        db_done, db_total = con.execute(
            "SELECT COALESCE(SUM(undone = 0), 0), COUNT(*) FROM wangge_edits WHERE plan = ?",
            (plan.name,),
        ).fetchone()
        k, n_redo = len(plan.undo_stack), len(plan.redo_stack)
        text = edit.to_json()
        synced = False
        if k == db_done + 1 and plan.can_undo and plan.undo_stack[-1] == edit:
            at_k = con.execute(
                "SELECT op_json, undone FROM wangge_edits WHERE plan = ? AND seq = ?",
                (plan.name, k),
            ).fetchone()
            if at_k is not None and at_k == (text, 1) and db_total - k == n_redo:  # redo
                con.execute(
                    "UPDATE wangge_edits SET undone = 0 WHERE plan = ? AND seq = ?",
                    (plan.name, k),
                )
                synced = True
            elif n_redo == 0:  # a new edit drops the undone ones after it
                con.execute("DELETE FROM wangge_edits WHERE plan = ? AND seq >= ?", (plan.name, k))
                con.execute(
                    "INSERT INTO wangge_edits (plan, seq, op_json, undone) VALUES (?, ?, ?, 0)",
                    (plan.name, k, text),
                )
                synced = True
        elif (
            k == db_done - 1 and db_total == k + n_redo and plan.can_redo
            and plan.redo_stack[-1] == edit
        ):  # undo
            con.execute(
                "UPDATE wangge_edits SET undone = 1 WHERE plan = ? AND seq = ?",
                (plan.name, k + 1),
            )
            synced = True
        if not synced:
            # Only this plan's own steps are missing (it was in step before): write it whole.
            logger.info("plan %s: several steps unrecorded; writing it in full", plan.name)
            self._snapshot(con, plan, note=None)
            return
        self._sync_rows(con, plan, edit)
        self._bump(con, plan)

    @staticmethod
    def _sync_rows(con: sqlite3.Connection, plan: Plan, edit: Edit) -> None:
        if edit.blocks:
            pos = plan.base.positions(edit.blocks)
            con.executemany(
                "UPDATE wangge_assignments SET street_code = ? WHERE plan = ? AND block_code = ?",
                [
                    (plan.street_of_position(int(b)).code, plan.name, code)
                    for b, code in zip(pos, edit.blocks, strict=True)
                ],
            )
        if edit.op != "move":
            if not plan.has_street(edit.street):
                con.execute(
                    "DELETE FROM wangge_streets WHERE plan = ? AND code = ?",
                    (plan.name, edit.street),
                )
            else:
                k = plan.street_position(edit.street)
                s = plan.street(edit.street)
                con.execute(
                    "INSERT OR REPLACE INTO wangge_streets (plan, code, name, kind, locked, "
                    "position) VALUES (?, ?, ?, ?, ?, ?)",
                    (plan.name, s.code, s.name, s.kind, int(s.locked), k),
                )

    # ---------------------------------------------------------------- reading

    def open_plan(self, name: str, base: PlanBase | District) -> Plan:
        """Load the stored plan of that name, or store a new one as the district has it.

        Both happen in one transaction, so tabs or processes opening a plan at
        the same moment all get the one stored plan and none overwrites
        another's first edits.

        Raises
        ------
        PlanError
            As :meth:`load_plan`.
        """
        if isinstance(base, District):
            base = PlanBase.from_district(base)
        with self._write() as con:
            if con.execute("SELECT 1 FROM wangge_plans WHERE name = ?", (name,)).fetchone() is None:
                plan = Plan(base, name=name)
                self._snapshot(con, plan, note=None)
                return plan
            plan, revision = self._read_plan(con, name, base)
        self._remember(plan, revision)
        return plan

    def load_plan(self, name: str, base: PlanBase | District) -> Plan:
        """Load a stored plan exactly as it was left, undo and redo stacks included.

        Parameters
        ----------
        name : str
            The plan's name.
        base : PlanBase or District
            The district the plan was made on (or its :class:`~geo.plan.base.PlanBase`).

        Returns
        -------
        Plan

        Raises
        ------
        PlanError
            If no plan has that name, or it was made on another district.
        """
        if isinstance(base, District):
            base = PlanBase.from_district(base)
        with self._connect() as con:
            con.execute("BEGIN")  # one consistent snapshot of the four tables
            plan, revision = self._read_plan(con, name, base)
            con.execute("COMMIT")
        self._remember(plan, revision)
        return plan

    def _read_plan(self, con: sqlite3.Connection, name: str, base: PlanBase) -> tuple[Plan, int]:
        """Read a stored plan and its revision inside the caller's transaction."""
        row = con.execute(
            "SELECT district_key, revision FROM wangge_plans WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            known = [r[0] for r in con.execute("SELECT name FROM wangge_plans ORDER BY name")]
            if known:
                raise PlanError.worded(
                    N_("No plan named {plan} in {file}; the stored plans are {known}. Check the "
                       "name, or start a new plan from the district."),
                    plan=repr(name), file=self.path.name, known=", ".join(known),
                )
            raise PlanError.worded(
                N_("No plan named {plan} in {file}; it holds none. Check the name, or start a "
                   "new plan from the district."),
                plan=repr(name), file=self.path.name,
            )
        if row[0] != base.district_key:
            raise PlanError.worded(
                N_("Plan {plan} was made on another district (key {key}, this district "
                   "{this_key}): its {nouns} differ. Open it with the district it was drawn on, "
                   "or start a new plan for this one."),
                plan=repr(name), key=row[0], this_key=base.district_key, nouns=Word(base.nouns),
            )
        streets = [
            Street(code=c, name=n, kind=k, locked=bool(lk))
            for c, n, k, lk in con.execute(
                "SELECT code, name, kind, locked FROM wangge_streets WHERE plan = ? "
                "ORDER BY position",
                (name,),
            )
        ]
        pairs = con.execute(
            "SELECT block_code, street_code FROM wangge_assignments WHERE plan = ?", (name,)
        ).fetchall()
        log = con.execute(
            "SELECT op_json, undone FROM wangge_edits WHERE plan = ? ORDER BY seq", (name,)
        ).fetchall()
        pos = {s.code: k for k, s in enumerate(streets)}
        assignment = np.full(base.n_blocks, -1, dtype=np.int64)
        for block, street in pairs:
            b = base.index.get(block)
            k = pos.get(street)
            if b is None or k is None:
                raise PlanError.worded(
                    N_("Plan {plan} is damaged: it assigns {block} to {street}, which it does "
                       "not know. Delete the plan or restore the project file from a backup."),
                    plan=repr(name), block=block, street=street,
                )
            assignment[b] = k
        if (assignment < 0).any():
            raise PlanError.worded(
                N_("Plan {plan} is damaged: {n} {nouns} have no street. Delete the plan or "
                   "restore the project file from a backup."),
                plan=repr(name), n=int((assignment < 0).sum()), nouns=Word(base.nouns),
            )
        flags = [int(u) for _, u in log]
        if flags != sorted(flags):
            raise PlanError.worded(
                N_("Plan {plan} has a damaged edit log (an undone edit before a done one). Save "
                   "the plan again to rewrite it."),
                plan=repr(name),
            )
        edits = [Edit.from_json(text) for text, _ in log]
        n_done = flags.count(0)
        plan = Plan(base, name=name, streets=streets, assignment=assignment,
                    done=edits[:n_done], undone=list(reversed(edits[n_done:])))
        return plan, int(row[1])

    def list_plans(self) -> pd.DataFrame:
        """Return the stored plans: ``name``, ``created``, ``updated``, ``district_key``, ``note``, ``edits`` (done), ``undone``."""  # noqa: E501
        with self._connect() as con:
            rows = con.execute(
                "SELECT p.name, p.created, p.updated, p.district_key, p.note, "
                "COALESCE(SUM(e.undone = 0), 0), COALESCE(SUM(e.undone = 1), 0) "
                "FROM wangge_plans p LEFT JOIN wangge_edits e ON e.plan = p.name "
                "GROUP BY p.name ORDER BY p.name"
            ).fetchall()
        return pd.DataFrame(
            rows,
            columns=["name", "created", "updated", "district_key", "note", "edits", "undone"],
        )

    def has_plan(self, name: str) -> bool:
        """Return whether a plan of that name is stored."""
        with self._connect() as con:
            row = con.execute("SELECT 1 FROM wangge_plans WHERE name = ?", (name,)).fetchone()
        return row is not None

    def free_name(self, base: str, *, suffixes: Sequence[str] = ("",)) -> str:
        """Return ``base``, or ``base-2``, ``base-3``…: the first stem no stored plan uses.

        With ``suffixes`` (e.g. ``("-fewest", "-roundest")``) the stem is free only
        when every ``stem + suffix`` is: a set of plans saved together gets one stem.
        """
        stem, n = base, 1
        while any(self.has_plan(stem + suffix) for suffix in suffixes):
            n += 1
            stem = f"{base}-{n}"
        return stem

    def delete_plan(self, name: str) -> None:
        """Delete a stored plan and its streets, assignment and edit log.

        Raises
        ------
        PlanError
            If no plan has that name.
        """
        with self._write() as con:
            self._require(con, name)
            for table in ("wangge_streets", "wangge_assignments", "wangge_edits"):
                con.execute(f"DELETE FROM {table} WHERE plan = ?", (name,))  # noqa: S608
            con.execute("DELETE FROM wangge_plans WHERE name = ?", (name,))

    def rename(self, old: str, new: str) -> None:
        """Rename a stored plan (set ``plan.name = new`` on an open one as well).

        Raises
        ------
        PlanError
            If ``old`` is not stored or ``new`` is taken.
        """
        new = str(new).strip()
        if not new:
            raise PlanError.worded(N_("A plan name cannot be empty."))
        with self._write() as con:
            self._require(con, old)
            if old == new:
                return
            if con.execute("SELECT 1 FROM wangge_plans WHERE name = ?", (new,)).fetchone():
                raise PlanError.worded(
                    N_("A plan named {plan} already exists. Choose another name or delete it "
                       "first."),
                    plan=repr(new),
                )
            for table in ("wangge_streets", "wangge_assignments", "wangge_edits"):
                con.execute(f"UPDATE {table} SET plan = ? WHERE plan = ?", (new, old))  # noqa: S608
            con.execute(
                "UPDATE wangge_plans SET name = ?, updated = ? WHERE name = ?", (new, _now(), old)
            )

    @staticmethod
    def _require(con: sqlite3.Connection, name: str) -> None:
        if con.execute("SELECT 1 FROM wangge_plans WHERE name = ?", (name,)).fetchone() is None:
            known = [r[0] for r in con.execute("SELECT name FROM wangge_plans ORDER BY name")]
            if known:
                raise PlanError.worded(N_("No plan named {plan}; the stored plans are {known}."),
                                       plan=repr(name), known=", ".join(known))
            raise PlanError.worded(N_("No plan named {plan}; the stored plans are none."),
                                   plan=repr(name))


__all__ = ["PlanStore"]
