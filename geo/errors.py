"""All exceptions raised by wangge, in one place.

Every exception subclasses a builtin so callers can catch either, and every
message says what was wrong and how to fix it. The CLI and the app print the
message alone, never a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self


class WanggeError(Exception):
    """Base class for every error wangge raises on purpose.

    Raised with :meth:`worded`, an error also carries its message as an English
    template and the values that fill it, so that the app can show it in
    another language (as findings do, see :func:`geo.findings.worded`).
    """

    template: str = ""
    fields: Mapping[str, Any] = {}

    @classmethod
    def worded(cls, template: str, /, **fields: Any) -> Self:
        """Return the error with the message ``template`` filled in with ``fields``.

        Mark ``template`` with ``N_`` where it is written: ``raise
        InputError.worded(N_("{file} has no CRS."), file=name)``.

        Examples
        --------
        >>> err = InputError.worded("{n} rows", n=3)
        >>> str(err), err.template, dict(err.fields)
        ('3 rows', '{n} rows', {'n': 3})
        """
        err = cls(template.format(**fields))
        err.template, err.fields = template, fields
        return err


class InputError(WanggeError, ValueError):
    """An input file or table cannot be used as it is."""


class NotGeodataError(InputError):
    """A file that cannot be read as geodata at all."""


class EmptyInputError(InputError):
    """A file or layer with no features."""


class GeometryTypeError(InputError):
    """Geometries of the wrong kind, such as points where polygons are expected."""


class CRSError(InputError):
    """A missing, unlikely or unsupported coordinate reference system."""


class ColumnError(InputError):
    """A missing or unusable attribute column."""


class UnsafeArchiveError(InputError):
    """A zip archive that points outside itself or expands past the size cap."""


class RulebookError(WanggeError, ValueError):
    """A rulebook (TOML) that is malformed or contradicts itself."""


class LevelError(InputError):
    """A layer whose level (street, community, grid) cannot be told."""


class PlanError(WanggeError, ValueError):
    """An edit a plan cannot make (locked or unknown street, unknown unit) or a plan store clash."""


class WriteError(WanggeError, OSError):
    """An output that could not be written (disk full, no permission, a file-size limit).

    The message names the target, the reason and the fix; the previous
    target is left unchanged (see :func:`geo._atomic.atomic_path`).
    """
