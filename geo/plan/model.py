"""Editable street plans: building blocks assigned to streets, live totals, undo/redo.

A :class:`Plan` assigns the district's building blocks (communities, or grids
when the district has no community level) to streets (街道 street offices,
towns, townships). Planners move whole blocks between streets and see each
street's area, residents, households, compactness and contiguity change at
once, measured against the rulebook's bands.

The plan reads the district's shared arrays from a
:class:`~geo.plan.base.PlanBase`. A move then updates the street totals
**incrementally**, looking only at the moved blocks' neighbours; nothing is
dissolved:

* area, residents and households are sums over the blocks;
* the perimeter of a street (of the union of its blocks) is the sum of its
  blocks' perimeters less twice the boundary its blocks share with each
  other, so moving block *b* from street *s* to *t* changes
  ``P[s] -= p[b] - 2·shared(b, s)`` and ``P[t] += p[b] - 2·shared(b, t)``;
* compactness is Polsby-Popper, ``4πA / P²``;
* the number of contiguous pieces is recounted only for the streets the last
  edit touched.

Every change is an :class:`Edit` (a small JSON-ready record) on an undo
stack, and raises the plan's :attr:`Plan.revision`. What a plan reports (the
street table, findings, shapes, comparisons, exports) is read in
:mod:`geo.plan.tables`; :class:`~geo.plan.store.PlanStore` keeps plans in the
project file.

Examples
--------
>>> plan = Plan.from_district(district)                   # doctest: +SKIP
>>> edit = plan.move(["370299001003"], "370299002000")    # doctest: +SKIP
>>> plan.street_table(rulebook)                           # doctest: +SKIP
>>> plan.undo(); plan.redo()                              # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.district.model import District
from geo.errors import PlanError
from geo.findings import Word
from geo.i18n import N_
from geo.plan.base import IntArray, PlanBase, Street
from geo.plan.tables import PlanTables
from geo.propose.barriers import Barriers

logger = logging.getLogger(__name__)


EDIT_OPS = ("move", "new_street", "lock", "rename")
"""What an :class:`Edit` can do."""

STREET_KIND_NUMBERS: dict[str, tuple[int, int]] = {
    "street": (1, 99),
    "town": (100, 199),
    "township": (200, 399),
}
"""Township digits (7th-9th of a 12-digit code) used by each kind of street-level unit."""

KIND_WORDS = {"street": N_("street"), "town": N_("town"), "township": N_("township")}
"""Each kind of street-level unit as a word of the interface (for messages)."""


_TWELVE = re.compile(r"^\d{12}$")


_REVISIONS = itertools.count(1)
"""Plan revisions: every change of any plan takes the next number."""


@dataclass(frozen=True)
class Edit:
    """One recorded change to a plan: enough to undo it, redo it and store it as JSON.

    Parameters
    ----------
    op : str
        One of :data:`EDIT_OPS`: ``move`` (blocks to a street), ``new_street``,
        ``lock`` (lock or unlock) or ``rename``.
    street : str
        The street concerned: the target of a move, or the street created,
        locked or renamed.
    blocks : tuple of str
        ``move``: codes of the blocks moved (only those that changed street).
    sources : tuple of str
        ``move``: each moved block's street before the move.
    name, old_name : str or None
        ``new_street``: its name; ``rename``: the new and the old name.
    kind : str or None
        ``new_street``: its kind.
    locked : bool or None
        ``lock``: the new state.
    noop : bool
        True for an edit that changed nothing (moving blocks to the street they
        are in); such edits are not recorded and not stored.
    """

    op: str
    street: str
    blocks: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    name: str | None = None
    old_name: str | None = None
    kind: str | None = None
    locked: bool | None = None
    noop: bool = field(default=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Return the edit as a JSON-ready dictionary (without ``noop``)."""
        out = dataclasses.asdict(self)
        out.pop("noop")
        out["blocks"] = list(self.blocks)
        out["sources"] = list(self.sources)
        return out

    def to_json(self) -> str:
        """Return the edit as compact JSON (UTF-8 text, keys sorted)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Edit:
        """Rebuild an edit from :meth:`to_dict` output.

        Raises
        ------
        PlanError
            If the record is not an edit wangge wrote.
        """
        if not isinstance(data, dict) or data.get("op") not in EDIT_OPS or not data.get("street"):
            raise PlanError.worded(
                N_("Not a plan edit: {data}. The edit log holds records written by "
                   "PlanStore.record; do not edit it by hand."),
                data=repr(data),
            )
        names = {f.name for f in dataclasses.fields(cls)} - {"noop"}
        kwargs = {k: v for k, v in data.items() if k in names}
        kwargs["blocks"] = tuple(str(b) for b in data.get("blocks", ()))
        kwargs["sources"] = tuple(str(s) for s in data.get("sources", ()))
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str) -> Edit:
        """Rebuild an edit from :meth:`to_json` output."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PlanError.worded(
                N_("An edit record is not valid JSON ({error}). The plan's edit log is damaged; "
                   "delete the plan or restore the project file from a backup."),
                error=str(exc),
            ) from exc
        return cls.from_dict(data)

    def describe(self, noun: str = "community", nouns: str = "communities") -> str:
        """Return a short description for an undo/redo button, e.g. ``move 3 communities to X``."""
        if self.op == "move":
            n = len(self.blocks)
            return f"move {n} {noun if n == 1 else nouns} to {self.street}"
        if self.op == "new_street":
            return f"new street {self.name} ({self.street})"
        if self.op == "lock":
            return f"{'lock' if self.locked else 'unlock'} {self.street}"
        return f"rename {self.street} to {self.name}"


class Plan(PlanTables):
    """Assignment of building blocks (communities; grids if the district has no community level) to streets, with live totals and undo/redo.

    Parameters
    ----------
    base : PlanBase
        The district's shared arrays (:meth:`~geo.plan.base.PlanBase.from_district`).
    name : str
        The plan's name (its key in a :class:`~geo.plan.store.PlanStore`).
    streets : sequence of Street, optional
        The streets; default the district's.
    assignment : array-like of int, optional
        Street position per block; default the district's own assignment.
    done, undone : sequence of Edit, optional
        The history a stored plan comes back with: edits :meth:`undo` can take back
        (oldest first) and edits :meth:`redo` can replay (the last one first).

    Notes
    -----
    A plan is not thread-safe: give each browser session its own plan (they
    may share the :class:`~geo.plan.base.PlanBase`).
    """  # noqa: E501

    def __init__(
        self,
        base: PlanBase,
        *,
        name: str = "current",
        streets: Sequence[Street] | None = None,
        assignment: npt.ArrayLike | None = None,
        done: Sequence[Edit] = (),
        undone: Sequence[Edit] = (),
    ) -> None:
        self.name = str(name)
        self._base = base
        self._streets: list[Street] = list(base.streets if streets is None else streets)
        self._pos = {s.code: k for k, s in enumerate(self._streets)}
        if len(self._pos) != len(self._streets):
            raise PlanError.worded(
                N_("Two streets of the plan share a code; street codes must be unique."))
        raw = base.initial if assignment is None else assignment
        a = np.array(raw, dtype=np.int64)
        if a.shape != (base.n_blocks,) or (
            len(a) and (a.min() < 0 or a.max() >= len(self._streets))
        ):
            raise PlanError.worded(
                N_("The assignment must give one street position (0 to {last}) for each of the "
                   "{n} {nouns}."),
                last=len(self._streets) - 1, n=base.n_blocks, nouns=Word(base.nouns),
            )
        self._assignment = a
        self._undo: list[Edit] = list(done)
        self._redo: list[Edit] = list(undone)
        self._pieces = {}
        self._geoms = {}
        self._touched: tuple[str, ...] = ()
        self._revision = next(_REVISIONS)
        self._digest: tuple[int, str] | None = None
        self._recount()
        self._prev_area = self._area.copy()
        self._prev_pop = self._pop.copy()

    # ---------------------------------------------------------------- construction

    @classmethod
    def from_district(
        cls,
        district: District,
        *,
        name: str = "current",
        min_shared_m: float | None = None,
        barriers: Barriers | None = None,
    ) -> Plan:
        """Start a plan from a district's own assignment of blocks to streets.

        Parameters
        ----------
        district : District
            A district with a street level and communities (or grids).
        name : str
            The plan's name.
        min_shared_m, barriers : optional
            See :meth:`~geo.plan.base.PlanBase.from_district`.

        Returns
        -------
        Plan

        Raises
        ------
        InputError
            If the district has no street level or blocks without a street.
        """
        base = PlanBase.from_district(district, min_shared_m=min_shared_m, barriers=barriers)
        return cls(base, name=name)

    def copy(self, *, name: str) -> Plan:
        """Return an independent plan with the same streets and assignment and no history."""
        other = Plan(self._base, name=name, streets=self._streets, assignment=self._assignment)
        other._geoms = dict(self._geoms)
        other._pieces = dict(self._pieces)
        return other

    # ---------------------------------------------------------------- state

    @property
    def base(self) -> PlanBase:
        """The district's shared arrays."""
        return self._base

    @property
    def streets(self) -> list[Street]:
        """The streets, in order (a copy; change them through edits)."""
        return list(self._streets)

    @property
    def assignment(self) -> IntArray:
        """Street position per block (a read-only view)."""
        view = self._assignment.view()
        view.setflags(write=False)
        return view

    @property
    def revision(self) -> int:
        """A number that changes with every change of the plan, unique within the process.

        Every edit, undo and redo and every refresh from the store takes a new
        number (never one used before, by this plan or another), so a result
        cached under ``(plan, revision)`` can never be served for another state.
        """
        return self._revision

    def state_digest(self) -> str:
        """Return a digest of what the plan holds: streets (codes, names, kinds, locks), assignment.

        Two plans with equal digests hold the same streets and assignment, whatever
        their histories (rename, undo, rename again to the same name gives the
        digest it had). Computed once per :attr:`revision`.
        """
        if self._digest is None or self._digest[0] != self._revision:
            h = hashlib.blake2b(digest_size=16)
            h.update(self._base.district_key.encode())
            h.update(json.dumps([dataclasses.astuple(s) for s in self._streets]).encode())
            h.update(np.ascontiguousarray(self._assignment).tobytes())
            self._digest = (self._revision, h.hexdigest())
        return self._digest[1]

    @property
    def undo_stack(self) -> tuple[Edit, ...]:
        """Edits that :meth:`undo` can take back, oldest first."""
        return tuple(self._undo)

    @property
    def redo_stack(self) -> tuple[Edit, ...]:
        """Edits that :meth:`redo` can replay; the last one is replayed first."""
        return tuple(self._redo)

    @property
    def last_edit(self) -> Edit | None:
        """The edit the last step made (e.g. by :meth:`new_street`, which returns the street)."""
        return self._undo[-1] if self._undo else None

    @property
    def can_undo(self) -> bool:
        """Whether there is an edit to undo."""
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        """Whether there is an undone edit to redo."""
        return bool(self._redo)

    def has_street(self, code: str) -> bool:
        """Return whether the plan has a street of that code."""
        return code in self._pos

    def street_position(self, code: str) -> int:
        """Return a street's position in :attr:`streets` (see :meth:`_street_pos`)."""
        return self._street_pos(code)

    def street_of_position(self, block: int) -> Street:
        """Return the street the block at position ``block`` (of ``base.codes``) is in."""
        return self._streets[int(self._assignment[block])]

    def adopt(self, fresh: Plan) -> None:
        """Become ``fresh`` in place (an object others hold takes the stored state).

        Every attribute is replaced, caches included, so nothing of the old state lingers.
        """
        self.__dict__.clear()
        self.__dict__.update(fresh.__dict__)

    def street(self, code: str) -> Street:
        """Return a street by code (see :meth:`_street_pos` for the error)."""
        return self._streets[self._street_pos(code)]

    def street_of(self, block: str) -> str:
        """Return the code of the street a block is in."""
        return self._streets[int(self._assignment[self._base.positions([block])[0]])].code

    def blocks_of(self, street: str) -> list[str]:
        """Return the codes of a street's blocks."""
        k = self._street_pos(street)
        return [str(c) for c in self._base.codes[self._assignment == k]]

    def _street_pos(self, code: str) -> int:
        pos = self._pos.get(str(code))
        if pos is None:
            known = ", ".join(s.code for s in self._streets[:12])
            if len(self._streets) <= 12:
                raise PlanError.worded(
                    N_("Unknown street {street}: the plan's streets are {known}. Pick one of "
                       "them, or create a street with new_street first."),
                    street=repr(code), known=known,
                )
            raise PlanError.worded(
                N_("Unknown street {street}: the plan's streets are {known} and {more} more. "
                   "Pick one of them, or create a street with new_street first."),
                street=repr(code), known=known, more=len(self._streets) - 12,
            )
        return pos

    # ---------------------------------------------------------------- totals

    def _recount(self) -> None:
        base, a, m = self._base, self._assignment, len(self._streets)
        self._count = np.bincount(a, minlength=m).astype(np.int64)
        self._area = np.bincount(a, weights=base.area_m2, minlength=m)
        self._pop = np.bincount(a, weights=base.population, minlength=m)
        self._hh = np.bincount(a, weights=base.households, minlength=m)
        missing = (base.population_missing | base.households_missing).astype(float)
        self._missing = np.bincount(a, weights=missing, minlength=m).astype(np.int64)
        self._pop_missing = np.bincount(
            a, weights=base.population_missing.astype(float), minlength=m
        ).astype(np.int64)
        self._hh_missing = np.bincount(
            a, weights=base.households_missing.astype(float), minlength=m
        ).astype(np.int64)
        rows = np.repeat(np.arange(base.n_blocks), np.diff(base.indptr))
        same = a[rows] == a[base.indices]
        internal = np.bincount(a[rows][same], weights=base.shared_m[same], minlength=m)
        # each shared edge appears twice in the symmetric CSR, so `internal` is 2 × shared
        self._perim = np.bincount(a, weights=base.perimeter_m, minlength=m) - internal

    def _move_block(self, b: int, t: int) -> None:
        a, base = self._assignment, self._base
        s = int(a[b])
        if s == t:
            return
        lo, hi = base.indptr[b], base.indptr[b + 1]
        nb_street = a[base.indices[lo:hi]]
        shared = base.shared_m[lo:hi]
        in_s = float(shared[nb_street == s].sum())
        in_t = float(shared[nb_street == t].sum())
        self._perim[s] -= base.perimeter_m[b] - 2.0 * in_s
        self._perim[t] += base.perimeter_m[b] - 2.0 * in_t
        for arr, values in (
            (self._area, base.area_m2),
            (self._pop, base.population),
            (self._hh, base.households),
        ):
            arr[s] -= values[b]
            arr[t] += values[b]
        flag = int(base.population_missing[b] or base.households_missing[b])
        self._missing[s] -= flag
        self._missing[t] += flag
        for counts, missing in (
            (self._pop_missing, base.population_missing),
            (self._hh_missing, base.households_missing),
        ):
            counts[s] -= int(missing[b])
            counts[t] += int(missing[b])
        self._count[s] -= 1
        self._count[t] += 1
        a[b] = t
        if self._count[s] == 0:  # no rounding residue on an emptied street
            for arr in (self._area, self._pop, self._hh, self._perim):
                arr[s] = 0.0

    def totals(self) -> pd.DataFrame:
        """Return the raw live totals per street: blocks, area_m2, perimeter_m, population, households."""  # noqa: E501
        return pd.DataFrame(
            {
                "code": [s.code for s in self._streets],
                "blocks": self._count.copy(),
                "area_m2": self._area.copy(),
                "perimeter_m": self._perim.copy(),
                "population": self._pop.copy(),
                "households": self._hh.copy(),
            }
        )

    # ---------------------------------------------------------------- edits

    def move(self, blocks: Sequence[str] | str, to_street: str) -> Edit:
        """Move whole blocks (communities) to a street.

        Parameters
        ----------
        blocks : sequence of str
            Block codes (a single code is accepted too).
        to_street : str
            Code of the street they move to.

        Returns
        -------
        Edit
            The recorded edit, listing only the blocks that changed street.
            Moving blocks to the street they are already in returns an edit
            with ``noop=True`` that is not recorded.

        Raises
        ------
        PlanError
            For an unknown block or street code, or when a block would leave
            or enter a locked street (the message names the street).
        """
        codes = [blocks] if isinstance(blocks, str) else [str(b) for b in blocks]
        pos = self._base.positions(codes)
        t = self._street_pos(to_street)
        target = self._streets[t]
        if len(pos):
            _, first = np.unique(pos, return_index=True)
            pos = pos[np.sort(first)]
        moving = pos[self._assignment[pos] != t]
        if len(moving) == 0:
            return Edit(op="move", street=target.code, noop=True)
        nouns = self._base.nouns
        if target.locked:
            raise PlanError.worded(
                N_("Street {street} is locked: no {nouns} can move into it. Unlock it first, or "
                   "choose another street."),
                street=target.label, nouns=Word(nouns),
            )
        sources = self._assignment[moving]
        for k in dict.fromkeys(int(x) for x in sources):
            if self._streets[k].locked:
                raise PlanError.worded(
                    N_("Street {street} is locked: its {nouns} cannot move out. Unlock it first, "
                       "or leave its communities out of the selection."),
                    street=self._streets[k].label, nouns=Word(nouns),
                )
        edit = Edit(
            op="move",
            street=target.code,
            blocks=tuple(str(c) for c in self._base.codes[moving]),
            sources=tuple(self._streets[int(k)].code for k in sources),
        )
        self._do(edit)
        return edit

    def new_street(self, *, name: str, code: str | None = None, kind: str = "street") -> Street:
        """Add an empty street (recorded as an edit, so it can be undone).

        Parameters
        ----------
        name : str
            Its name, e.g. ``新街道``.
        code : str, optional
            Its code. Without one, the next free township number within the
            county prefix of the streets' 12-digit codes is used, in the range
            of its kind (street 001-099, town 100-199, township 200-399), e.g.
            ``370299011000``.
        kind : {"street", "town", "township"}
            Rulebooks apply rules by kind.

        Returns
        -------
        Street

        Raises
        ------
        PlanError
            If the code is taken, the kind unknown, or no code can be derived.
        """
        if kind not in STREET_KIND_NUMBERS:
            raise PlanError.worded(
                N_("Unknown street kind {kind}; use one of {kinds}."),
                kind=repr(kind), kinds=", ".join(STREET_KIND_NUMBERS),
            )
        name = str(name).strip()
        if not name:
            raise PlanError.worded(N_("A new street needs a name, e.g. name='新街道'."))
        if code is None:
            code = self._next_code(kind)
        code = str(code).strip()
        if not code:
            raise PlanError.worded(
                N_("A street code cannot be empty; leave code out to derive one."))
        if code in self._pos:
            raise PlanError.worded(
                N_("Street code {code} is already used by {street}. Choose another code, or "
                   "leave code out to derive a free one."),
                code=code, street=self._streets[self._pos[code]].label,
            )
        edit = Edit(op="new_street", street=code, name=name, kind=kind)
        self._do(edit)
        return self._streets[-1]

    def _next_code(self, kind: str) -> str:
        twelve = [s.code for s in self._streets if _TWELVE.match(s.code)]
        if not twelve:
            raise PlanError.worded(
                N_("The streets have no 12-digit statistical codes to derive a new code from. "
                   "Give the new street a code, e.g. new_street(name=..., code='S11')."))
        prefix = pd.Series([c[:6] for c in twelve]).mode().iloc[0]
        lo, hi = STREET_KIND_NUMBERS[kind]
        used = {int(c[6:9]) for c in twelve if c[:6] == prefix}
        in_range = [u for u in used if lo <= u <= hi]
        start = max(in_range) + 1 if in_range else lo
        for number in [*range(start, hi + 1), *range(lo, start)]:
            if number not in used and f"{prefix}{number:03d}000" not in self._pos:
                return f"{prefix}{number:03d}000"
        raise PlanError.worded(
            N_("No free {kind} number is left in county {prefix} ({lo:03d}-{hi:03d}). Give the "
               "new street a code."),
            kind=Word(KIND_WORDS.get(kind, kind)), prefix=prefix, lo=lo, hi=hi,
        )

    def set_locked(self, street: str, locked: bool) -> Edit:
        """Lock or unlock a street (recorded, undoable); locked streets refuse moves in and out."""
        k = self._street_pos(street)
        st = self._streets[k]
        if st.locked == bool(locked):
            return Edit(op="lock", street=st.code, locked=bool(locked), noop=True)
        edit = Edit(op="lock", street=st.code, locked=bool(locked))
        self._do(edit)
        return edit

    def rename_street(self, street: str, name: str) -> Edit:
        """Rename a street (recorded, undoable)."""
        k = self._street_pos(street)
        name = str(name).strip()
        if not name:
            raise PlanError.worded(N_("A street name cannot be empty."))
        st = self._streets[k]
        if st.name == name:
            return Edit(op="rename", street=st.code, name=name, old_name=name, noop=True)
        edit = Edit(op="rename", street=st.code, name=name, old_name=st.name)
        self._do(edit)
        return edit

    def undo(self) -> Edit | None:
        """Take back the last edit; return it, or ``None`` when there is nothing to undo."""
        if not self._undo:
            return None
        edit = self._undo.pop()
        self._snapshot()
        self._apply(edit, forward=False)
        self._redo.append(edit)
        return edit

    def redo(self) -> Edit | None:
        """Replay the last undone edit; return it, or ``None`` when there is nothing to redo."""
        if not self._redo:
            return None
        edit = self._redo.pop()
        self._snapshot()
        self._apply(edit, forward=True)
        self._undo.append(edit)
        return edit

    def _do(self, edit: Edit) -> None:
        self._snapshot()
        self._apply(edit, forward=True)
        self._undo.append(edit)
        self._redo.clear()
        logger.debug("plan %s: %s", self.name, edit.describe(self._base.noun, self._base.nouns))

    def _snapshot(self) -> None:
        self._prev_area = self._area.copy()
        self._prev_pop = self._pop.copy()

    def _apply(self, edit: Edit, *, forward: bool) -> None:
        self._revision = next(_REVISIONS)
        if edit.op == "move":
            pos = self._base.positions(edit.blocks)
            if forward:
                t = self._street_pos(edit.street)
                for b in pos:
                    self._move_block(int(b), t)
            else:
                for b, src in zip(pos, edit.sources, strict=True):
                    self._move_block(int(b), self._street_pos(src))
            touched = tuple(dict.fromkeys((edit.street, *edit.sources)))
            for code in touched:
                self._pieces.pop(code, None)
                self._geoms.pop(code, None)
            self._touched = touched
            return
        k = None if edit.op == "new_street" else self._street_pos(edit.street)
        if edit.op == "new_street":
            if forward:
                self._streets.append(
                    Street(
                        code=edit.street, name=edit.name or edit.street, kind=edit.kind or "street"
                    )
                )
                self._pos[edit.street] = len(self._streets) - 1
                for name in ("_count", "_missing", "_pop_missing", "_hh_missing"):
                    setattr(self, name, np.append(getattr(self, name), 0))
                for name in ("_area", "_pop", "_hh", "_perim"):
                    setattr(self, name, np.append(getattr(self, name), 0.0))
            else:
                k = self._street_pos(edit.street)
                if k != len(self._streets) - 1 or self._count[k]:
                    raise PlanError.worded(  # pragma: no cover - the stack order rules this out
                        N_("Cannot take back new street {street}: it is not the last, empty "
                           "street."),
                        street=edit.street,
                    )
                self._streets.pop()
                del self._pos[edit.street]
                for name in ("_count", "_missing", "_pop_missing", "_hh_missing", "_area",
                             "_pop", "_hh", "_perim"):
                    setattr(self, name, getattr(self, name)[:-1].copy())
                self._pieces.pop(edit.street, None)
                self._geoms.pop(edit.street, None)
        elif edit.op == "lock":
            assert k is not None
            locked = bool(edit.locked) if forward else not bool(edit.locked)
            self._streets[k] = dataclasses.replace(self._streets[k], locked=locked)
        elif edit.op == "rename":
            assert k is not None
            new = edit.name if forward else edit.old_name
            self._streets[k] = dataclasses.replace(self._streets[k], name=new or edit.street)
        self._touched = (edit.street,)

    # ---------------------------------------------------------------- contiguity

    def pieces(self, street: str) -> int:
        """Return the number of contiguous pieces of a street's blocks (0 for an empty street)."""
        return self._pieces_of(self._street_pos(street)).count


__all__ = [
    "EDIT_OPS",
    "Edit",
    "Plan",
]
