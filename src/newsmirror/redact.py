"""Redaction: comply with a takedown notice without losing the mirror (`newsmirror redact`).

A git host disables the whole repository when a file named in a notice stays in its history for
about a day. So the article goes from everywhere newsmirror put it (its files in every edition,
lists, feeds out, site, search, state), its content from every commit (git-filter-repo), and every
remote is rewritten with `--force-with-lease`: the one place newsmirror ever rewrites a remote,
only on this explicit command. A tombstone (tombstones.py) keeps it from being archived again.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import git, tombstones
from .archive import Archive, article_number
from .config import Config, PublishSettings
from .dates import iso, now_ms
from .git import GitError
from .history import versions
from .store import SEARCH_DB, EntryRow, Store
from .tombstones import Tombstone, Tombstones

FILTER_TIMEOUT = 3600  # seconds: a rewrite of a few GB of history takes minutes, not hours
DERIVED = ("lists", "feeds", "site")  # folders rendered from the articles: only their current versions stay


@dataclass
class RedactReport:
    stone: Tombstone
    removed: list[str] = field(default_factory=list)  # files deleted from the folder
    rewritten: bool = False  # the repository's history was rewritten
    pushed: dict[str, str] = field(default_factory=dict)  # remote -> "rewritten" or why not

    @property
    def failed(self) -> dict[str, str]:
        return {remote: why for remote, why in self.pushed.items() if why != "rewritten"}

    def lines(self) -> list[str]:
        out = [f"redacted {self.stone.feed}/{self.stone.number}: {len(self.removed)} files removed, "
               f"recorded in {tombstones.NAME}"]
        if self.rewritten:
            out.append("history rewritten: the article's content is in no commit")
        return out + [f"push {remote}: {why}" for remote, why in self.pushed.items()]


def redact(archive: Archive, config: Config, store: Store, row: EntryRow, reason: str) -> RedactReport:
    """Remove the article `row` everywhere and rewrite history and remotes; the caller holds the lock."""
    root = archive.root
    repositories = published(archive, config)
    names = article_names(archive, config, row, root in repositories)
    stone = Tombstone(row.feed_id, row.number, row.guid, row.link, row.canonical,
                      tuple(sorted({h for v in versions(store, row) if (h := tombstones.text_hash(v.body))})),
                      row.published, iso(now_ms()) or "", reason.strip(),
                      tuple(sorted(set().union(*(blobs_at(tree, names) for tree in repositories)))))
    report = RedactReport(stone)
    for name in names:
        if (root / name).is_file():
            (root / name).unlink()
            report.removed.append(name)
    feeds = forget(archive, store, [row])
    stones = tombstones.read(root)
    tombstones.write(root, Tombstones([*stones.all, stone]))
    rerender(archive, config, store, feeds)
    if not repositories:
        return report
    from .publish import branch, commit

    message = f"newsmirror: redact {row.feed_id}/{row.number}\n\n{stone.reason}"
    leases: dict[Path, dict[str, str]] = {}
    for tree, settings in repositories.items():
        if tree != root:
            out_of_year(archive, config, tree, names, row.link)
        commit(tree, settings, message)
        leases[tree] = {remote: lease(tree, remote, branch(tree, settings)) for remote in settings.remotes}
    rewrite_history(list(repositories), names + [f"site/articles/{row.feed_id}/{row.number}.html"],
                    [*stone.blobs, *set().union(*(superseded(tree, config) for tree in repositories))])
    report.rewritten = True
    for tree, settings in repositories.items():
        for remote, held in leases[tree].items():
            report.pushed[remote] = force_push(tree, remote, branch(tree, settings), held)
    return report


def published(archive: Archive, config: Config) -> dict[Path, PublishSettings]:
    """The git repositories that may hold the article, with the settings they are published by:
    the folder itself when it is one (it is pushed unless it is split by year), and with
    `split = "year"` every year's repository, closed ones included (the one rewrite a closed year
    ever gets)."""
    from .years import for_year, year_repositories

    settings = config.publish
    split = settings.split == "year"
    found = {archive.root: replace(settings, remotes=()) if split else settings} if git.is_repository(archive.root) else {}
    if split:
        found |= {tree: for_year(settings, year) for year, tree in year_repositories(archive).items()}
    return found


def out_of_year(archive: Archive, config: Config, tree: Path, names: Sequence[str], link: str) -> None:
    """Take the article out of a year's repository (`split = "year"`): its own link to the file,
    and the lists, feeds and site that quote it — brought up to the archive folder's, written
    without it, in this year's open repository; in a closed year's, whose pages cannot be made
    again as they were, removed (the year keeps its articles; its pages that quoted this one go)."""
    from .years import closed, refill, year_repositories

    for name in names:
        (tree / name).unlink(missing_ok=True)
    if not closed(tree):
        years = year_repositories(archive)
        this = next(y for y, t in years.items() if t == tree)
        refill(archive.root, tree, config.publish, {y: t for y, t in years.items() if y < this})
        return
    folders = [f"{prefix}{d}" for prefix in ("", *(f"{e}/" for e in config.editions)) for d in DERIVED]
    quoting = git.run(tree, "grep", "-l", "-z", "-F", "-e", link, "HEAD", "--", *folders, check=False)
    for name in quoting.decode("utf-8", "replace").split("\0"):
        if name:
            (tree / name.removeprefix("HEAD:")).unlink(missing_ok=True)


def article_names(archive: Archive, config: Config, row: EntryRow, repo: bool) -> list[str]:
    """Every path, relative to the archive, that holds or ever held the article: its file in the
    main tree and each edition, now or in any commit (an adopted `<n>_<title>.md` renamed to `<n>.md`)."""
    trees = [archive, *(Archive(archive.root / e) for e in config.editions)]
    folders = [tree.feed_folder(row.feed_id).relative_to(archive.root).as_posix() for tree in trees]
    found = {path.relative_to(archive.root).as_posix() for tree in trees
             if (path := tree.numbers_on_disk(row.feed_id).get(row.number))}
    if repo and git.succeeds(archive.root, "rev-parse", "--verify", "-q", "HEAD"):
        log = git.run(archive.root, "-c", "core.quotepath=off", "log", "--all", "--no-renames", "--format=", "--name-only",
                      "--", *folders)
        for name in log.decode("utf-8", "replace").splitlines():
            folder, _, file = name.rpartition("/")
            if folder in folders and article_number(file) == row.number:
                found.add(name)
    return sorted(found)


def blobs_at(root: Path, paths: Sequence[str], exclude: Iterable[str] = ()) -> set[str]:
    """The ids of every blob any commit held at `paths` (files or folders), but `exclude`."""
    if not paths or not git.succeeds(root, "rev-parse", "--verify", "-q", "HEAD"):
        return set()
    raw = git.run(root, "log", "--all", "--no-renames", "--format=", "--raw", "--no-abbrev", "--", *paths)
    found: set[str] = set()
    for line in raw.decode("utf-8", "replace").splitlines():
        fields = line.split("\t", 1)[0].split()
        found.update(b for b in fields[2:4] if b.strip("0"))  # :mode mode old new status; zeros: no blob
    return found - set(exclude)


def superseded(root: Path, config: Config) -> set[str]:
    """Blobs of the earlier versions of what newsmirror renders from the articles (lists, feeds
    out, site, in every edition): they quote the article; the current versions, written without
    it, stay."""
    folders = [f"{prefix}{d}" for prefix in ("", *(f"{e}/" for e in config.editions)) for d in DERIVED]
    current = git.run(root, "ls-tree", "-r", "HEAD", "--", *folders).decode("utf-8", "replace")
    return blobs_at(root, folders, exclude=(line.split()[2] for line in current.splitlines()))


def forget(archive: Archive, store: Store, rows: Sequence[EntryRow]) -> set[str]:
    """Take articles out of the state (revisions too) and the search index; returns the feeds
    whose lists showed them (their own, and those sharing them)."""
    feeds = store.forget([r.id for r in rows]) | {r.feed_id for r in rows}
    if store.url is not None or (archive.state_dir / SEARCH_DB).exists():
        from .search import open_search

        with open_search(archive.state_dir, store.url) as index:
            for r in rows:
                index.remove(r.feed_id, r.number)
    return feeds


def rerender(archive: Archive, config: Config, store: Store, feeds: Iterable[str]) -> None:
    """Lists, feeds out, README and (when there is one) the site, without what was forgotten."""
    from .output import refresh_feeds

    refresh_feeds(archive, config, store, sorted(feeds))
    if config.site or (archive.root / "site").is_dir():
        from .render.site import build

        build(archive, config, store)


def purge(archive: Archive, config: Config, store: Store, stones: Tombstones) -> str | None:
    """A state restored from before a redaction (a CI cache) forgets what was redacted since;
    a note for the pass, or None when it held nothing redacted."""
    rows = [row for feed, number in sorted(stones.numbers) if (row := store.entry(feed, number)) is not None]
    if not rows:
        return None
    feeds = forget(archive, store, rows)
    store.save_feeds(replace(store.feed(f), rendered=None) for f in sorted(feeds))  # lists rendered again
    return f"state held {len(rows)} redacted articles (restored from before the redaction): forgotten"


def rewrite_history(repositories: Sequence[Path], paths: Sequence[str], blobs: Iterable[str]) -> None:
    """Rewrite every commit of each repository without `paths` and without `blobs` (a copy of
    the article under another name), with git-filter-repo. Its reflogs are expired and the old
    objects pruned; the remotes it drops (`origin`) are configured again."""
    ids = sorted(set(blobs))
    for repo in repositories:
        remotes = _remote_config(repo)
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
            fh.write("".join(f"{b}\n" for b in ids))
        try:
            args = [sys.executable, "-m", "git_filter_repo", "--force", "--quiet", "--invert-paths",
                    *(a for p in paths for a in ("--path", p)), "--strip-blobs-with-ids", fh.name]
            done = subprocess.run(args, cwd=repo, capture_output=True, timeout=FILTER_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise GitError(f"git-filter-repo timed out after {FILTER_TIMEOUT} s") from None
        finally:
            Path(fh.name).unlink()
        if done.returncode:
            output = (done.stderr + done.stdout).decode("utf-8", "replace").strip()
            raise GitError(f"git-filter-repo: {output.splitlines()[-1] if output else f'exit {done.returncode}'}", output)
        for key, value in remotes:
            if not git.succeeds(repo, "config", "--get", key):
                git.run(repo, "config", "--add", key, value)


def _remote_config(repo: Path) -> list[tuple[str, str]]:
    out = git.run(repo, "config", "--get-regexp", r"^remote\.", check=False).decode("utf-8", "replace")
    return [(key, value) for key, _, value in (line.partition(" ") for line in out.splitlines())]


def lease(root: Path, remote: str, branch: str) -> str:
    """The commit the remote's branch is at ("" when it has none), read before the rewrite: the
    forced push replaces that commit only. A remote that cannot be read, or that holds commits
    this mirror lacks (they would be lost, and may hold the article), gets a reason instead."""
    try:
        out = git.run(root, "ls-remote", remote, f"refs/heads/{branch}", timeout=120).decode()
    except GitError as exc:
        return f"not rewritten: {exc}"
    head = out.split()[0] if out.strip() else ""
    if head and not git.succeeds(root, "merge-base", "--is-ancestor", head, "HEAD"):
        return "not rewritten: it holds commits this mirror lacks (publish first, then push with --force-with-lease by hand)"
    return head


def force_push(root: Path, remote: str, branch: str, lease: str) -> str:
    """Push the rewritten branch over the commit the remote had (`lease`), if no one moved it since."""
    if lease.startswith("not rewritten"):
        return lease
    ref = f"refs/heads/{branch}"
    try:
        git.run(root, "push", "--porcelain", f"--force-with-lease={ref}:{lease}", remote, f"HEAD:{ref}", timeout=300)
    except GitError as exc:
        return f"refused the rewritten history ({exc}); it still holds the article: `publish` skips it"
    return "rewritten"


def holds_redacted(root: Path, ref: str, blobs: set[str]) -> bool:
    """Whether the history of `ref` (a fetched remote) holds a redacted article's content."""
    if not blobs:
        return False
    listing = git.run(root, "rev-list", "--objects", ref, timeout=600)
    return any(line.split(b" ", 1)[0].decode() in blobs for line in listing.splitlines())
