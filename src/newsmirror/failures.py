"""Failures of this machine, not of a feed: a full disk, a read-only folder, a damaged state.

They never put a feed into back-off (its server did nothing wrong), and every command reports
them in one line that says what to do, never with a traceback.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from .store import StoreError

LOCAL_ERRORS = (OSError, StoreError, sqlite3.Error)
_DAMAGE = ("malformed", "not a database", "corrupt", "database disk image")


def reason(exc: BaseException) -> str:
    """The failure in one line."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def damaged(exc: BaseException) -> bool:
    """Whether this is SQLite finding a database file damaged (not merely busy or full)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, sqlite3.DatabaseError) and any(word in str(seen) for word in _DAMAGE):
            return True
        seen = seen.__cause__
    return False


def advice(exc: BaseException, archive: Path) -> str:
    """The one line a command prints for a local failure, with the command that fixes it where
    there is one."""
    text = reason(exc)
    if damaged(exc):
        return (f"the state in {archive / '.newsmirror'} is damaged ({text}); "
                f"`newsmirror --archive {archive} reindex` rebuilds it from the files")
    if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or "disk is full" in text:
        return f"the disk is full ({text}); nothing stored was lost: free some space and run again"
    if (isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS)) or "readonly" in text:
        return f"cannot write in {archive} ({text}): the folder is read-only or not yours"
    return text
