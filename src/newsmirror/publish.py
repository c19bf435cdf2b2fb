"""Git mirrors: one commit for what a pass changed, then a push to every remote.

A mirror that vanishes takes its readers with it, so a mirror has several remotes and one
failing remote never blocks the others. Pushes retry with back-off; a push rejected because the
remote moved on (non-fast-forward) fetches, rebases our commit on top, and tries again. Never a
force push: a remote's history is never rewritten (but by `newsmirror redact`, redact.py); a remote
that still holds a redacted article is skipped, never rebased onto.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import git, repo_size
from .archive import Archive, ArchiveLocked
from .config import PublishSettings
from .git import GitError
from .store import Store

_REJECTED = re.compile(r"\[rejected\]|non-fast-forward|fetch first|stale info", re.I)
RETRY_BASE = 2.0  # seconds before the first retry of a failed push


@dataclass
class PublishReport:
    commit: str | None = None  # the new commit's message, if one was made
    pushed: dict[str, str] = field(default_factory=dict)  # remote -> "ok" or the reason it failed
    size: list[str] = field(default_factory=list)  # packed size and largest folder (repo_size.lines)

    @property
    def failed(self) -> dict[str, str]:
        return {remote: why for remote, why in self.pushed.items() if why != "ok"}

    def lines(self) -> list[str]:
        head = [f"committed: {self.commit.splitlines()[0]}"] if self.commit else ["nothing to commit"]
        return head + self.size + [f"push {remote}: {why}" for remote, why in self.pushed.items()]


def message(counts: dict[str, tuple[int, int]]) -> str:
    """`newsmirror: 12 new, 1 updated` and a line per feed that changed."""
    new = sum(n for n, _ in counts.values())
    updated = sum(u for _, u in counts.values())
    summary = f"newsmirror: {new} new" + (f", {updated} updated" if updated else "")
    lines = [f"{feed}: {n} new" + (f", {u} updated" if u else "") for feed, (n, u) in sorted(counts.items()) if n or u]
    return summary + ("\n\n" + "\n".join(lines) if lines else "")


def unread(archive: Archive, store: Store) -> bool:
    """Whether the folder holds article files the state has not read: none read back (a missing
    state, a cold CI cache) or a rebuild that did not finish. A pass rebuilds such a state first;
    `publish` refuses to commit such a folder: no pass has checked its files against the archive
    (articles numbered by a mirror that started empty, copied over these, would be pushed)."""
    return store.incomplete() or (not store.has_entries() and archive.has_articles())


NEW_BRANCH = "main"  # the branch of a repository newsmirror creates


def branch(root: Path, settings: PublishSettings) -> str:
    """The branch published: `[publish] branch`, else the one checked out (a repository of the
    original mirror is on master: pushing another would start the remote's archive afresh)."""
    return settings.branch or _checked_out(root) or NEW_BRANCH


def _checked_out(root: Path) -> str:
    return git.run(root, "symbolic-ref", "--short", "HEAD", check=False).strip().decode()


def commit(root: Path, settings: PublishSettings, text: str) -> bool:
    """Commit everything the mirror changed (the state folder is git-ignored); False if nothing."""
    if not git.is_repository(root):
        git.run(root, "init", "-q", "-b", settings.branch or NEW_BRANCH)
    elif settings.branch and _checked_out(root) != settings.branch:
        git.run(root, "checkout", "-q", "-B", settings.branch)
    git.run(root, "add", "-A", ".")
    if not git.run(root, "status", "--porcelain").strip():
        return False
    git.run(root, "-c", f"user.name={settings.author_name}", "-c", f"user.email={settings.author_email}",
            "commit", "-q", "-m", text)
    return True


def integrate(root: Path, remote: str, settings: PublishSettings) -> str | None:
    """Bring a remote's commits we lack under ours (rebase, never force); None when done, else
    why this remote cannot be pushed to.

    Done for every remote before any push, so that our commits are rewritten at most before
    they reach any remote, and all remotes converge on one history.
    """
    try:
        git.run(root, "fetch", "-q", remote, branch(root, settings), timeout=120)
    except GitError as exc:
        return None if "couldn't find remote ref" in exc.output else str(exc)  # an empty remote
    if not git.succeeds(root, "merge-base", "--is-ancestor", "FETCH_HEAD", "HEAD"):
        if redacted(root, "FETCH_HEAD"):
            return "holds history with a redacted article (it refused the rewrite); skipped, not rebased onto"
        try:
            # Our files win where both sides changed one (lists and README are regenerated anyway).
            git.run(root, "-c", f"user.name={settings.author_name}", "-c", f"user.email={settings.author_email}",
                    "rebase", "-q", "-X", "theirs", "FETCH_HEAD")
        except GitError as exc:
            git.run(root, "rebase", "--abort", check=False)
            return f"diverged and could not be rebased ({exc}); not forced"
    return None


def redacted(root: Path, ref: str) -> bool:
    """Whether `ref` holds a redacted article's content (redactions.json names its blobs):
    rebasing onto it would bring the article back into the mirror's history."""
    from . import tombstones  # read only when a remote diverged

    try:
        blobs = tombstones.read(root).blobs
    except tombstones.TombstoneError as exc:
        raise GitError(f"{exc}; not rebased onto") from None
    if not blobs:
        return False
    from .redact import holds_redacted

    return holds_redacted(root, ref, blobs)


def push(root: Path, remote: str, settings: PublishSettings, sleep=time.sleep) -> str:
    """Push the branch to one remote, retrying with back-off; "ok" or the last reason it failed."""
    reason = "not tried"
    for attempt in range(settings.retries + 1):
        if attempt:
            sleep(RETRY_BASE * 2 ** (attempt - 1))
        try:
            git.run(root, "push", "--porcelain", remote, f"HEAD:refs/heads/{branch(root, settings)}", timeout=120)
            return "ok"
        except GitError as exc:
            reason = str(exc)
            if _REJECTED.search(exc.output) and (problem := integrate(root, remote, settings)):
                return problem  # it moved on again since we looked, and cannot be rebased onto
    return reason


def publish(root: Path, settings: PublishSettings, text: str, sleep=time.sleep) -> PublishReport:
    """Commit what changed (if anything), measure the repository against the hosts' limits,
    bring in what the remotes have that we lack, then push to every remote, each on its own."""
    report = PublishReport()
    if commit(root, settings, text):
        report.commit = text
    report.size = repo_size.lines(repo_size.measure(root), settings)
    if not git.succeeds(root, "rev-parse", "--verify", "-q", "HEAD"):
        return report  # an empty mirror: nothing to push yet
    for remote in settings.remotes:
        try:
            if problem := integrate(root, remote, settings):
                report.pushed[remote] = problem
        except GitError as exc:
            report.pushed[remote] = str(exc)
    for remote in settings.remotes:
        if remote not in report.pushed:
            report.pushed[remote] = push(root, remote, settings, sleep)
    return report


def publish_locked(archive: Archive, settings: PublishSettings, text: str, wait: float = 60) -> PublishReport:
    """`publish` while holding the mirror folder (no pass writes while git reads); an error that
    stops publishing altogether (git missing, folder held) is one line under every remote."""
    try:
        with archive.lock(wait):
            return publish(archive.root, settings, text)
    except (GitError, ArchiveLocked) as exc:
        return PublishReport(pushed={remote: str(exc) for remote in settings.remotes} or {"(publish)": str(exc)})


def check_remote(root: Path, remote: str) -> str | None:
    """None when the remote answers (`git ls-remote`), else why not (for `doctor`)."""
    try:
        git.run(root, "ls-remote", "--heads", remote, timeout=60)
    except GitError as exc:
        return str(exc)
    return None
