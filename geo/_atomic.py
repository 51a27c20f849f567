"""The one way wangge writes a file or a folder: build it beside the target, then swap it in.

Every export, report, saved network, map page and sample file goes through
:func:`atomic_path`: the new file or folder is written under a hidden
temporary name in the target's own folder (same file system, so the final
rename is atomic), and only a complete result replaces the target. A failed
or interrupted write leaves the previous target untouched, and every
temporary file and folder is removed on every failure path that Python sees.

A folder that already exists is exchanged with the new one in a single
``renameat2(RENAME_EXCHANGE)`` system call on Linux, so readers see either
the old folder or the new one, never a mix of old and new files. Where the
kernel or file system lacks that call, the old folder is first renamed aside
(two renames; a crash between them leaves the old folder under the hidden
name beside the target, never a half-written one).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import glob
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from geo.errors import WriteError
from geo.findings import Word
from geo.i18n import N_

logger = logging.getLogger(__name__)

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one system call; return False where the call is unavailable."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    renameat2.restype = ctypes.c_int
    rc = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


_REASONS = {
    errno.ENOSPC: N_("the disk is full"),
    errno.EDQUOT: N_("the disk quota is used up"),
    errno.EFBIG: N_("the file grew past the size this system allows (a file-size limit such as "
                    "`ulimit -f`, or the file system's own)"),
    errno.EACCES: N_("there is no permission to write there"),
    errno.EPERM: N_("there is no permission to write there"),
    errno.EROFS: N_("the disk is read-only"),
}
"""Why a write failed, in words, for the errors a planner meets most."""

SYSTEM_REASONS = (
    N_("Is a directory"),
    N_("Not a directory"),
    N_("No such file or directory"),
    N_("File name too long"),
    N_("File exists"),
    N_("Directory not empty"),
    N_("Input/output error"),
    N_("Invalid cross-device link"),
    N_("Device or resource busy"),
    N_("Text file busy"),
    N_("Too many open files"),
    N_("Invalid argument"),
    N_("Stale file handle"),
)
"""The system's own reasons (``strerror``) for other failed writes, as words to translate."""


def write_error(target: str | os.PathLike[str], reason: str | BaseException) -> WriteError:
    """Return the :class:`~geo.errors.WriteError` for a failed write to ``target``.

    ``reason`` is an :class:`OSError` (its ``errno`` is turned into words)
    or a library's own text (such as GDAL's).
    """
    why: str
    if isinstance(reason, OSError):
        known = _REASONS.get(reason.errno or 0)
        why = Word(known) if known else (reason.strerror or str(reason))
        if why in SYSTEM_REASONS:
            why = Word(why)
    else:
        why = str(reason).strip() or type(reason).__name__
    name = Path(target).name  # the name alone: the app never shows a server path
    exc = WriteError.worded(
        N_("Could not write {name}: {reason}. Free some space, check that you may write there, "
           "or write to another folder or disk. Nothing was replaced: an earlier {name}, if any, "
           "is unchanged."),
        name=name, reason=why,
    )
    if isinstance(reason, OSError):
        exc.errno = reason.errno
    return exc


def _swap_in(tmp: Path, target: Path, scratch: Path) -> None:
    """Move ``tmp`` onto ``target``; an existing folder is exchanged whole."""
    if tmp.is_dir() and target.is_dir() and not target.is_symlink():
        if _exchange(tmp, target):
            return  # tmp now holds the old folder; the caller removes scratch
        aside = scratch / ".old"
        os.rename(target, aside)
        try:
            os.rename(tmp, target)
        except BaseException:
            os.rename(aside, target)
            raise
        return
    os.replace(tmp, target)


def _publish_new(tmp: Path, target: Path) -> None:
    """Put ``tmp`` at ``target`` only if nothing is there yet (FileExistsError otherwise)."""
    try:
        os.link(tmp, target)  # atomic create-if-absent: never replaces a file others hold open
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV):
            raise
        # No hard links here (some network or FAT drives): claim the name, then fill it.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "wb") as out, open(tmp, "rb") as src:
            shutil.copyfileobj(src, out)
            out.flush()
            os.fsync(out.fileno())


STALE_AFTER_S = 3600.0
"""A temporary folder beside a target is left over from a killed writer when its process is
gone and it is older than this (seconds); the next write to that target removes it."""


def _remove_stale_scratch(target: Path) -> None:
    """Remove what a killed writer (SIGKILL, power cut) left beside ``target``."""
    prefix = f".{target.name}."
    now = time.time()
    for path in target.parent.glob(glob.escape(prefix) + "*"):
        pid_text = path.name[len(prefix) :].split(".", 1)[0]
        if not path.is_dir() or not pid_text.isdigit():
            continue
        try:
            if now - path.stat().st_mtime < STALE_AFTER_S:
                continue
            os.kill(int(pid_text), 0)
            continue  # its writer still runs
        except ProcessLookupError:
            pass
        except OSError:  # gone meanwhile, or a process of another user
            continue
        shutil.rmtree(path, ignore_errors=True)
        logger.info("removed %s, left by an interrupted write", path)


@contextlib.contextmanager
def atomic_path(
    target: str | os.PathLike[str], *, mode: int | None = 0o644, exclusive: bool = False
) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; swap it into place when the block succeeds.

    Write a file or build a folder at the yielded path. On success it
    replaces ``target`` (an existing folder is exchanged whole, see the
    module notes); if the block raises, the target is left as it was. The
    hidden temporary folder holding the yielded path is removed either way.

    Parameters
    ----------
    target : path-like
        The file or folder to write. Its parent folder is created if missing.
    mode : int or None
        Permission bits given to a new file (``0o644``: readable by others,
        as a plain write would leave it); ``None`` keeps the temporary
        file's own. Folders keep their own.
    exclusive : bool
        Create ``target`` only if it does not exist yet (a file, published
        with a hard link): when another process got there first, the new
        file is dropped and :class:`FileExistsError` raised, so a file that
        others may already hold open is never swapped out from under them.

    Raises
    ------
    geo.errors.WriteError
        If writing or the final rename fails with an :class:`OSError` (a
        full disk, a file-size limit, no permission); it names the target
        and the fix.

    Yields
    ------
    pathlib.Path
        Where to write; it has the target's file name, so libraries that
        pick a format from the suffix still do.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_scratch(target)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.{os.getpid()}.", dir=target.parent))
    tmp = scratch / target.name
    try:
        yield tmp
        if mode is not None and tmp.is_file():
            os.chmod(tmp, mode)
        if exclusive:
            _publish_new(tmp, target)
        else:
            _swap_in(tmp, target, scratch)
    except (WriteError, FileExistsError):
        raise
    except OSError as exc:
        raise write_error(target, exc) from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if scratch.exists():  # pragma: no cover - e.g. a file held open on Windows
            logger.warning("could not remove the temporary folder %s", scratch)


def write_text_atomic(
    target: str | os.PathLike[str], text: str, *, encoding: str = "utf-8"
) -> Path:
    """Write ``text`` to ``target`` atomically with Unix line ends; return the path."""
    target = Path(target)
    with atomic_path(target) as tmp:
        with open(tmp, "w", encoding=encoding, newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    return target


__all__ = ["atomic_path", "write_error", "write_text_atomic"]
