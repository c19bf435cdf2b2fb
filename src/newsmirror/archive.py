"""The mirror folder on disk: its layout, atomic writes, and the lock that serializes passes.

Layout (compatible with the original mirror's repositories):
    newsmirror.toml  README.md  articles/<feed id>/<n>.md  lists/<feed title>.md  .newsmirror/
Nothing from the network becomes part of a path: feed ids are validated by the configuration,
article names are numbers, and list names come from `list_names`. Readers clone the folder on
Windows and macOS too: no two paths may differ only in case, and none may be a Windows device.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import itertools
import os
import re
import threading
import time
import unicodedata
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

from . import identity_index
from .config import CONFIG_NAME, windows_reserved

STATE_DIR = ".newsmirror"
FIRST_NUMBER = 0xFFFFF - 1  # 1048574: numbers count down so the newest file sorts first
# The original mirror also wrote "<n>_<title>.md" (titles with line breaks included): <n> is the number.
_ARTICLE = re.compile(r"(\d+)(?:_.*)?\.md", re.DOTALL)
MAX_NUMBER = 2**63 - 1  # SQLite's INTEGER
_TMP_PREFIX = ".nm-tmp-"
WRITERS = 2  # threads writing files; each holds the GIL between its system calls: more mostly contend for it
NAME_BYTES = 200  # a list file's name before ".md": file systems allow 255 bytes, and room is left for a suffix


def article_number(name: str) -> int | None:
    """The number an article file's name gives (`1048574.md`, `1048574_标题.md`), or None."""
    m = _ARTICLE.fullmatch(name)
    return int(m.group(1)) if m and int(m.group(1)) <= MAX_NUMBER else None


class ArchiveLocked(Exception):
    """Another pass holds the folder."""


class Archive:
    """Paths and file operations of one mirror folder."""

    def __init__(self, root: Path):
        self.root = root
        self._folders: dict[str, Path] = {}  # a pass asks for a feed's folder once per article

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    def exists(self) -> bool:
        return self.config_path.is_file()

    def article_path(self, feed_id: str, number: int) -> Path:
        return self.feed_folder(feed_id) / f"{number}.md"

    def feed_folder(self, feed_id: str) -> Path:
        if feed_id not in self._folders:
            self._folders[feed_id] = self.root / "articles" / feed_id
        return self._folders[feed_id]

    def list_path(self, name: str) -> Path:
        """lists/<name>.md, for a name from `list_names` (never a title as it is)."""
        return self.root / "lists" / f"{name}.md"

    def prepare(self) -> None:
        """Create the folder with its state directory; git ignores that and files being written."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        ignore = self.root / ".gitignore"
        lines = ignore.read_text(encoding="utf-8").splitlines() if ignore.exists() else []
        if missing := [line for line in (f"{STATE_DIR}/", f"{_TMP_PREFIX}*") if line not in lines]:
            write(ignore, "\n".join([*lines, *missing]) + "\n")

    def numbers_on_disk(self, feed_id: str) -> dict[int, Path]:
        """Article numbers present in `articles/<feed_id>/` (and stale temporary files removed)."""
        return self.scan(feed_id)[0]

    def scan(self, feed_id: str) -> tuple[dict[int, Path], list[tuple[Path, str]]]:
        """The article files of `articles/<feed_id>/` by number, and everything else there with
        why it is not one (stale temporary files removed). Of two files with one number (`5.md`
        and `5_标题.md`), `<n>.md` is the article, as it is where newsmirror writes it; else the
        first name in order: the choice never depends on the order of the directory."""
        folder = self.feed_folder(feed_id)
        found: dict[int, Path] = {}
        others: list[tuple[Path, str]] = []
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            return found, others
        for entry in entries:
            if entry.name.startswith(_TMP_PREFIX):
                _sweep(entry)
                continue
            if entry.name == identity_index.NAME:  # newsmirror's own, beside the articles
                continue
            path = Path(entry.path)
            m = _ARTICLE.fullmatch(entry.name)
            if m is None or entry.is_dir():
                others.append((path, "a folder" if entry.is_dir() else "not named <n>.md or <n>_<title>.md"))
            elif (number := int(m.group(1))) > MAX_NUMBER:
                others.append((path, "its number is too large"))
            elif number not in found:
                found[number] = path
            else:
                first, second = sorted((found[number], path), key=lambda p: (p.name != f"{number}.md", p.name))
                found[number] = first
                others.append((second, f"article {number} is {first.name}"))
        return found, others

    def sweep(self) -> None:
        """Remove the temporary files a killed pass left beside the lists, feeds out and README
        (those in article folders go as each folder is read)."""
        for folder in (self.root, self.root / "lists", self.root / "feeds"):
            try:
                entries = list(os.scandir(folder))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for entry in entries:
                if entry.name.startswith(_TMP_PREFIX):
                    _sweep(entry)

    def has_articles(self) -> bool:
        """Whether any `articles/<feed>/` holds an article file (a folder whose state may be lost)."""
        folder = self.root / "articles"
        if not folder.is_dir():
            return False
        for feed in os.scandir(folder):
            if feed.is_dir() and any(_ARTICLE.fullmatch(f.name) for f in os.scandir(feed.path)):
                return True
        return False

    def feed_folders(self) -> list[str]:
        folder = self.root / "articles"
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []

    @contextmanager
    def lock(self, wait: float = 0) -> Iterator[None]:
        """Hold the folder for one pass; ArchiveLocked if another pass still holds it after `wait` s.

        An flock on `.newsmirror/lock`, which names its holder. Forked children (workers) close
        their copy at once, so the lock ends with the pass that took it; a lock that outlived
        its holder all the same (held by processes an older version left behind) is taken over.
        """
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path = self.state_dir / "lock"
        fh: IO[str] = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held across the pass; closed below)
        try:
            deadline = time.monotonic() + wait
            while not _try_lock(fh):
                holder = _holder(fh)
                if holder is not None and not _alive(holder) and (fresh := _take_over(path, fh, holder)):
                    fh.close()
                    fh = fresh
                    break
                if _replaced(path, fh):  # another pass took a stale lock over: the lock is the new file
                    fh.close()
                    fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (the lock's new file, closed below)
                    continue
                if time.monotonic() >= deadline:
                    fh.seek(0)
                    text = fh.read().strip() or "another process"
                    raise ArchiveLocked(f"{self.root} is in use by {text}; try again later or pass --wait SECONDS")
                time.sleep(0.2)
            _held.add(fh.fileno())
            fh.seek(0)
            fh.truncate()
            fh.write(f"newsmirror pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}")
            fh.flush()
            try:
                yield
            finally:
                _held.discard(fh.fileno())
                fh.seek(0)
                fh.truncate()
                fcntl.flock(fh, fcntl.LOCK_UN)
        finally:
            fh.close()


_held: set[int] = set()  # descriptors of the locks this process holds


def _sweep(entry: os.DirEntry[str]) -> None:
    """Remove a temporary file a killed pass left (this process's own are being written now)."""
    if not entry.name.startswith(f"{_TMP_PREFIX}{os.getpid()}-"):
        Path(entry.path).unlink(missing_ok=True)


def _close_held_locks() -> None:
    """In a forked child: let go of the parent's locks (an flock belongs to the open file, which
    a child shares; a worker left running would hold the archive for good)."""
    for fd in list(_held):
        with suppress(OSError):
            os.close(fd)
    _held.clear()


os.register_at_fork(after_in_child=_close_held_locks)


def _try_lock(fh: IO[str]) -> bool:
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in (errno.EAGAIN, errno.EACCES):
            raise
        return False
    return True


def _holder(fh: IO[str]) -> int | None:
    """The pid the lock file names (None while a new holder has not written it yet)."""
    fh.seek(0)
    m = re.match(r"newsmirror pid (\d+)", fh.read())
    return int(m.group(1)) if m else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _replaced(path: Path, fh: IO[str]) -> bool:
    """Whether `path` is no longer the file `fh` has open (a stale lock was taken over)."""
    try:
        return os.stat(path).st_ino != os.fstat(fh.fileno()).st_ino
    except FileNotFoundError:
        return True


def _take_over(path: Path, fh: IO[str], holder: int) -> IO[str] | None:
    """A fresh lock file in place of one whose holder is gone but which leftover processes
    still hold; None when someone else took it over first. A second lock serializes takers."""
    with open(path.with_name("lock.takeover"), "a+", encoding="utf-8") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        try:
            if os.stat(path).st_ino != os.fstat(fh.fileno()).st_ino or _holder(fh) != holder:
                return None
            path.unlink()  # the leftover processes keep the old file; the lock is a new one
            fresh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (returned: the caller holds it)
            if _try_lock(fresh):
                return fresh
            fresh.close()
            return None
        except FileNotFoundError:
            return None
        finally:
            fcntl.flock(guard, fcntl.LOCK_UN)


def safe_name(title: str) -> str:
    """A file name from a title that every reader's system takes: no separators or control
    characters, no leading dot, no trailing dot or space (Windows drops them), no Windows device
    name, bounded. An ordinary title is kept as it is (the original mirror's lists/美国之音.md)."""
    name = re.sub(r"\A[\s.]+", "", re.sub(r"[\x00-\x1f\x7f-\x9f/\\:*?\"<>|]", "_", title))
    name = _cut(name, NAME_BYTES)
    return f"_{name}" if windows_reserved(name) else name or "feed"


def _cut(name: str, size: int) -> str:
    """`name` within `size` UTF-8 bytes, without trailing white space or dots."""
    return re.sub(r"[\s.]+\Z", "", name.encode("utf-8")[:size].decode("utf-8", "ignore"))


def _fold(name: str) -> str:
    """The name as a file system that ignores case and Unicode normalization sees it (macOS,
    Windows); folding more than either only costs a suffix, never a collision."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def list_names(feeds: Sequence[tuple[str, str, bool]]) -> dict[str, str]:
    """Feed id -> the name of its list file, from (id, title, the title is configured).

    Two feeds never share a file, nor two names that Windows or macOS take for one. Configured
    titles claim their names first, then titles that came from feeds (anyone's to choose); within
    each, titles that `safe_name` keeps as they are before those it changed (`a_b` before `a/b`),
    then configuration order. A name already claimed gets the feed's id: `美国之音-voa2`.
    """
    bases = [safe_name(title) for _, title, _ in feeds]
    order = sorted(range(len(feeds)), key=lambda i: (not feeds[i][2], bases[i] != feeds[i][1], i))
    taken: set[str] = set()
    return {feeds[i][0]: _claim(bases[i], feeds[i][0], taken) for i in order}


def _claim(base: str, feed_id: str, taken: set[str]) -> str:
    """`base`, else `base-<id>` (then `-2`, `-3`... when titles were made to collide), now taken."""
    suffixes = (f"-{feed_id}" + (f"-{n}" if n > 1 else "") for n in itertools.count(1))
    candidates = itertools.chain([base], (_cut(base, NAME_BYTES - len(s)) + s for s in suffixes))
    name = next(c for c in candidates if _fold(c) not in taken)
    taken.add(_fold(name))
    return name


class ListNames:
    """`list_names` through a pass: a feed whose title changes (its first fetch names it) takes
    a name no other feed holds; the others keep theirs until the next pass works them out again,
    so that no list file is ever written for two feeds."""

    def __init__(self, feeds: Sequence[tuple[str, str, bool]]):
        self.titles = {feed_id: title for feed_id, title, _ in feeds}
        self.names = list_names(feeds)
        self.taken = {_fold(name) for name in self.names.values()}

    def name(self, feed_id: str, title: str) -> str:
        """The name of the feed's list file, for the title it has now."""
        if self.titles.get(feed_id) != title:
            if feed_id in self.names:
                self.taken.discard(_fold(self.names[feed_id]))
            self.names[feed_id] = _claim(safe_name(title), feed_id, self.taken)
            self.titles[feed_id] = title
        return self.names[feed_id]


def write(path: Path, text: str) -> bool:
    """Write `text` (UTF-8) atomically; False when the file already held it."""
    return write_bytes(path, text.encode("utf-8"))


def write_bytes(path: Path, data: bytes) -> bool:
    """Write `data` atomically (temporary file + rename); False when the file already held it.

    Unchanged files are not touched, so their mtime stays and git sees nothing. There is no
    fsync per file: the pass settles durability once at its end (`sync`). Plain `os` calls:
    a Python file object would add three system calls a file (fstat, isatty, lseek).
    """
    try:
        if os.stat(path).st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    tmp = os.path.join(path.parent, f"{_TMP_PREFIX}{os.getpid()}-{next(_serial)}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    try:
        try:
            fd = os.open(tmp, flags, 0o644)
        except FileNotFoundError:  # a new folder: made once, when its first file is written
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, flags, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _unsynced.set()
    return True


_serial = itertools.count()  # with the pid, a temporary name no other writer uses
_unsynced = threading.Event()  # a file was written since the last sync


def write_later(groups: list[list[tuple[Path, bytes]]]) -> Future[list[OSError | None]]:
    """Write groups of files on a writer thread; the future gives, for each group, the error
    that stopped it (a full disk) or None. Creating a file is kernel work that threads do on
    every core while the caller goes on (the GIL is released in the system calls): on some
    disks it costs more than rendering the article."""
    return _writers().submit(lambda: [_write_group(files) for files in groups])


def _write_group(files: list[tuple[Path, bytes]]) -> OSError | None:
    try:
        for path, data in files:
            write_bytes(path, data)
    except OSError as exc:
        return exc
    return None


@functools.cache
def _writers() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(WRITERS, thread_name_prefix="newsmirror-write")


def sync() -> None:
    """Make this pass's writes durable, once (a pass that wrote nothing waits for nothing)."""
    if _unsynced.is_set():
        _unsynced.clear()
        os.sync()
