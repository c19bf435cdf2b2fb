"""Scheduled-runner templates (`newsmirror init --ci github`)."""

from __future__ import annotations

import re
from importlib import resources

from .. import __version__

TEMPLATES = {"github": (".github/workflows/newsmirror.yml", "github.yml")}

# newsmirror is not on the package index yet: the workflow installs from the repository, at a tag.
EXAMPLE = f"git+https://github.com/newsmirror/newsmirror@v{__version__}"

_PINNED = (
    re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,-]*\])?===?[A-Za-z0-9._+!-]+"),  # name==1.2.0
    re.compile(r"git\+(https|ssh)://([^@/]+@)?[^@/]+(/[^/@#]+)+@[^@/#]+(#\S*)?"),  # git URL at a tag or commit
    re.compile(r"https://\S+\.(whl|tar\.gz|zip)"),  # one release file
)
_UNSAFE = re.compile(r"[\s\"'`$\\]")  # the spec is written inside a double-quoted shell word


def install_problem(spec: str) -> str | None:
    """Why `spec` cannot be what the workflow installs, or None. Only pinned specs: an hourly
    job that installs whatever is newest changes how the archive is written (and reads a state
    a newer newsmirror wrote) without anyone deciding to upgrade."""
    if _UNSAFE.search(spec):
        return f"{spec!r} holds white space, a quote, `$` or `\\`"
    if not any(pattern.fullmatch(spec) for pattern in _PINNED):
        return (f"{spec!r} does not pin a version: give NAME==VERSION, a git URL ending in @TAG "
                f"or @COMMIT (e.g. {EXAMPLE}), or the URL of one release file")
    return None


def template(kind: str, install: str) -> tuple[str, str]:
    """(path inside the mirror, text) of the workflow for `kind`, installing `install` (pinned:
    install_problem(install) is None)."""
    path, name = TEMPLATES[kind]
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    return path, text.replace("{install}", install)
