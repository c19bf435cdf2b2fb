"""The git commands newsmirror needs, run as subprocesses (git is the publishing medium).

Everything here has a timeout and raises GitError with git's own message.
"""

from __future__ import annotations

import os
import subprocess
from collections import defaultdict
from pathlib import Path

TIMEOUT = 300


class GitError(Exception):
    """A git command failed; the message is git's reason, `output` all it said."""

    def __init__(self, message: str, output: str = ""):
        super().__init__(message)
        self.output = output or message


def run(root: Path, *args: str, input: bytes | None = None, timeout: float = TIMEOUT, check: bool = True) -> bytes:
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], input=input, capture_output=True, timeout=timeout,
                              env={**os.environ, **_QUIET})
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} timed out after {timeout:g} s") from None
    except FileNotFoundError:
        raise GitError("git is not installed") from None
    if check and proc.returncode != 0:
        output = (proc.stderr + proc.stdout).decode("utf-8", "replace")
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        # git's reason is on its "fatal:"/"error:"/"! [rejected]" line, not on the hints after it.
        reason = next((line for line in lines if line.startswith(("fatal:", "error:", "!"))), lines[-1] if lines else "")
        raise GitError(f"git {args[0]}: {reason or f'exit {proc.returncode}'}", output)
    return proc.stdout


# No pager, no prompt for credentials (a scheduled run must fail, not hang), stable output.
_QUIET = {"GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "LC_ALL": "C", "GIT_ASKPASS": "echo", "SSH_ASKPASS": "echo"}


def succeeds(root: Path, *args: str) -> bool:
    """Whether a git command exits 0 (for questions like `merge-base --is-ancestor`)."""
    try:
        run(root, *args)
    except GitError:
        return False
    return True


def is_repository(root: Path) -> bool:
    try:
        return run(root, "rev-parse", "--is-inside-work-tree", check=True).strip() == b"true"
    except GitError:
        return False


def file_versions(root: Path, folder: str) -> dict[str, list[tuple[int, str]]]:
    """For each file under `folder` that more than one commit touched: its contents at each of
    those commits, oldest first, as (commit time in ms, text). Paths are relative to `root`."""
    if not succeeds(root, "rev-parse", "--verify", "-q", "HEAD"):
        return {}  # a repository without commits yet
    log = run(root, "log", "--reverse", "--no-renames", "--relative", "--format=%x00%H %ct", "--name-only",
              "--", folder).decode("utf-8", "replace")
    touched: defaultdict[str, list[tuple[str, int]]] = defaultdict(list)
    for block in log.split("\x00")[1:]:
        head, *names = block.strip().splitlines()
        commit, stamp = head.split()
        for name in names:
            if name.strip():
                touched[name.strip()].append((commit, int(stamp) * 1000))
    wanted = [(path, commit, when) for path, commits in touched.items() if len(commits) > 1 for commit, when in commits]
    if not wanted:
        return {}
    prefix = run(root, "rev-parse", "--show-prefix").decode().strip()
    request = "".join(f"{commit}:{prefix}{path}\n" for path, commit, _ in wanted).encode("utf-8")
    blobs = _cat_file_batch(root, request)
    versions: defaultdict[str, list[tuple[int, str]]] = defaultdict(list)
    for (path, _, when), blob in zip(wanted, blobs):
        if blob is not None:  # None: the file was deleted in that commit
            versions[path].append((when, blob.decode("utf-8", "replace")))
    return dict(versions)


def _cat_file_batch(root: Path, request: bytes) -> list[bytes | None]:
    """Many blobs in one `git cat-file --batch` (one process, not one per file and commit)."""
    out = run(root, "cat-file", "--batch", input=request)
    blobs: list[bytes | None] = []
    pos = 0
    while pos < len(out):
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if header[-1] == b"missing":
            blobs.append(None)
            continue
        size = int(header[2])
        blobs.append(out[pos:pos + size])
        pos += size + 1
    return blobs
