"""A repository per year (`[publish] split = "year"`), so that no published history outgrows
what git hosts accept (the original mirror's reached 2-3 GB).

Only what is published is split. The archive folder stays whole: every other command (a pass,
state, site, serve, search, history) reads it as before, and article numbers, which come from
the state, keep counting down across years (a number never names two articles). Each year's
repository is a separate git working tree, `.newsmirror/years/<Y>/` (git-ignored with the
state), filled from the archive folder at each publish: every file except the articles and
media that an earlier year's repository already holds. List lines of those link to their
year's address (absolute); the current year's stay relative; the README links every earlier
year, and so does the site's home page. Moving older files out of the archive folder at the
rollover was the other design: it would have made every command that reads articles look in
several places. The folder must therefore be kept whole, `.newsmirror/years/` included (a
lost earlier year's tree would have its articles published again in the current year).

An article belongs to the year of the first publish that carried it, as the trees on disk say
(never the entry's date): one stored at 23:59 on 31 December and published after midnight goes
to the new year, whose repository is the only one still written to. At the first publish of a
new year the earlier trees are no longer filled: they get a final commit (what they still held
uncommitted) and push, and once every remote took it they are closed (a mark in their .git)
and left alone. Articles and media are hard links to the archive's (which replaces them whole,
never rewrites them in place), so a year's tree costs no second copy of them on disk.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, tzinfo
from pathlib import Path

from . import archive as files
from . import config as configuration
from . import git
from .archive import STATE_DIR, Archive
from .config import PublishSettings
from .dates import now_ms
from .publish import NEW_BRANCH, PublishReport, publish
from .render.markdown import link

YEARS = "years"  # under the state folder: one working tree per year
CLOSED = "newsmirror-closed"  # in a year's .git: every remote has its final commit
# Files that belong to the year that first published them: articles (main tree and editions), images.
_PER_YEAR = re.compile(r"(?:[^/]+/)?articles/[^/]+/[^/]+\.md\Z|media/")
_LIST = re.compile(r"(?:[^/]+/)?lists/[^/]+\.md\Z")
_README = re.compile(r"(?:[^/]+/)?README\.md\Z")
SITE_HOME = "site/index.html"
# What newsmirror writes, and removes from a year's repository when gone from the folder; other
# files there (a notice someone pushed to the host, brought in by a rebase) stay.
_OURS = re.compile(r"(?:[^/]+/)?(?:articles|media|lists|feeds)/|site/")
# The link at the end of a list line (markdown.list_page): `](/articles/<id>/<n>.md)`, `](/zh-Hant/articles/...)`.
_LIST_LINK = re.compile(r"\]\(/((?:[^/()\s]+/)?articles/[^/()\s]+/\d+\.md)\)$", re.M)
EARLIER_HEADING = "往年存档\n------\n\n"


def year_of(ms: int, zone: tzinfo) -> int:
    """The year of a moment in the mirror's display zone: the year whose repository it goes to."""
    return datetime.fromtimestamp(ms / 1000, zone).year


def year_repositories(archive: Archive) -> dict[int, Path]:
    """Year -> the folder of that year's repository (a git working tree), oldest first; empty
    without split. For whoever must rewrite every year's history (a redaction)."""
    try:
        entries = list(os.scandir(archive.state_dir / YEARS))
    except FileNotFoundError:
        return {}
    return dict(sorted((int(e.name), Path(e.path)) for e in entries if re.fullmatch(r"\d{4}", e.name) and e.is_dir()))


def for_year(settings: PublishSettings, year: int) -> PublishSettings:
    """The settings of one year's repository: its remotes, `{year}` filled in."""
    return replace(settings, remotes=tuple(r.replace("{year}", str(year)) for r in settings.remotes))


def year_address(settings: PublishSettings, year: int) -> str:
    return (settings.year_url or "").replace("{year}", str(year)).rstrip("/")


def closed(tree: Path) -> bool:
    return (tree / ".git" / CLOSED).exists()


def held(trees: dict[int, Path]) -> dict[str, int]:
    """Per-year file (articles, media) -> the earliest year whose repository holds it."""
    found: dict[str, int] = {}
    for year, tree in sorted(trees.items()):
        for rel in _files(tree):
            if _PER_YEAR.match(rel):
                found.setdefault(rel, year)
    return found


def relink(text: str, earlier: dict[str, int], addresses: dict[int, str]) -> str:
    """A list page whose lines of articles an earlier year holds link to that year's address."""
    def absolute(m: re.Match[str]) -> str:
        year = earlier.get(m.group(1))
        return m.group() if year is None else f"]({addresses[year]}/{m.group(1)})"
    return _LIST_LINK.sub(absolute, text)


def with_years(readme: str, addresses: dict[int, str]) -> str:
    """The README with a link to every earlier year's repository, newest first."""
    if not addresses:
        return readme
    links = "\n\n".join(link(str(year), url) for year, url in sorted(addresses.items(), reverse=True))
    return readme + ("" if readme.endswith("\n") else "\n") + "\n" + EARLIER_HEADING + links + "\n"


def site_with_years(page: str, addresses: dict[int, str]) -> str:
    """The site's home page with a link to every earlier year's repository, newest first, at the
    end of its main part (the site itself spans every year: it is built from the whole folder)."""
    if not addresses or "\n</main>" not in page:
        return page
    links = " · ".join(f'<a href="{html.escape(url)}">{year}</a>' for year, url in sorted(addresses.items(), reverse=True))
    head, _, tail = page.rpartition("\n</main>")
    return f"{head}\n<p class=\"years\">{EARLIER_HEADING.splitlines()[0]}：{links}</p>\n</main>{tail}"


def fill(root: Path, tree: Path, earlier: dict[str, int], addresses: dict[int, str]) -> None:
    """Make `tree` what the archive folder at `root` publishes this year (see the module's doc):
    one pass over each folder's files."""
    wanted: set[str] = set()
    for rel in _files(root):
        if rel in earlier:
            continue
        wanted.add(rel)
        source, target = root / rel, tree / rel
        if _LIST.match(rel):
            files.write(target, relink(source.read_text(encoding="utf-8"), earlier, addresses))
        elif _README.match(rel):
            files.write(target, with_years(source.read_text(encoding="utf-8"), addresses))
        elif rel == SITE_HOME:
            files.write(target, site_with_years(source.read_text(encoding="utf-8"), addresses))
        else:
            _place(source, target, link=bool(_PER_YEAR.match(rel)))
    for rel in _files(tree):
        if rel not in wanted and _OURS.match(rel):
            (tree / rel).unlink()


def _files(root: Path) -> Iterator[str]:
    """Paths (relative, with '/') of the files under `root`, without git's, the state's and files
    being written."""
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git" and not (d == STATE_DIR and folder == str(root))]
        rel = os.path.relpath(folder, root)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        yield from (prefix + n for n in names if not n.startswith(files._TMP_PREFIX))


def _place(source: Path, target: Path, link: bool) -> None:
    """`target` becomes a hard link to `source` (`link`: articles and media, which are only ever
    replaced whole) or a copy (files appended to in place, such as the identity index); untouched
    when it already is one."""
    src = os.stat(source)
    try:
        dst = os.stat(target)
        if dst.st_ino == src.st_ino or (not link and (dst.st_size, dst.st_mtime_ns) == (src.st_size, src.st_mtime_ns)):
            return
    except FileNotFoundError:
        target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{files._TMP_PREFIX}{os.getpid()}-place")
    tmp.unlink(missing_ok=True)
    if not (link and _linked(source, tmp)):
        shutil.copy2(source, tmp)
    os.replace(tmp, target)


def _linked(source: Path, tmp: Path) -> bool:
    try:
        os.link(source, tmp)
    except OSError:  # another file system, or one without hard links
        return False
    return True


def _merge(report: PublishReport, other: PublishReport) -> None:
    report.commit = other.commit or report.commit
    report.pushed.update(other.pushed)


def publish_years(archive: Archive, settings: PublishSettings, text: str, sleep=time.sleep) -> PublishReport:
    """Publish with a repository per year: close the earlier years' repositories (final commit and
    push, once), then fill this year's and publish it. The year is read in the configuration's
    display zone (read here: the callers hold only the publish settings)."""
    zone = configuration.load(archive.config_path).display.zone
    year = year_of(now_ms(), zone)
    trees = year_repositories(archive)
    report = PublishReport()
    earlier = {y: tree for y, tree in trees.items() if y < year}
    for y, tree in earlier.items():
        if not closed(tree):
            last = publish(tree, for_year(settings, y), f"newsmirror: {y} complete", sleep)
            _merge(report, last)
            if not last.failed:
                (tree / ".git" / CLOSED).write_text(f"closed at the first publish of {year}\n", encoding="utf-8")
    tree = trees.get(year) or archive.state_dir / YEARS / str(year)
    if not (tree / ".git").exists():
        tree.mkdir(parents=True, exist_ok=True)
        git.run(tree, "init", "-q", "-b", settings.branch or NEW_BRANCH)
    refill(archive.root, tree, settings, earlier)
    _merge(report, publish(tree, for_year(settings, year), text, sleep))
    return report


def refill(root: Path, tree: Path, settings: PublishSettings, earlier: dict[int, Path]) -> None:
    """Bring a year's open repository up to the archive folder (`fill`), earlier years' articles
    linked to their repositories."""
    fill(root, tree, held(earlier), {y: year_address(settings, y) for y in earlier})
