"""The `newsmirror` command line: a thin layer over the services (no business logic here).

Exit status: 0 when the command did its job (a pass that completed, even with failed feeds);
1 when `--strict` saw a failed feed, or another pass holds the folder; 2 for usage or
configuration errors, naming the bad argument, or the key with its file and line.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import shlex
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from . import __version__, failures, urls
from . import archive as files
from . import config as configuration
from .archive import Archive, ArchiveLocked
from .config import Config, ConfigError
from .dates import display, iso
from .store import Store, open_store

if TYPE_CHECKING:
    import threading

    from .discover import Found
    from .history import Version
    from .pipeline import FeedResult
    from .store import EntryRow

class _Commands(TyperGroup):
    """Every command: a failure of this machine (a full disk, a read-only folder, a damaged
    state database) is one line saying what to do, and exit status 1, never a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except failures.LOCAL_ERRORS as exc:
            err.print(f"newsmirror: {failures.advice(exc, _state.current or _archive(None).root)}", markup=False)
            raise typer.Exit(1) from None


app = typer.Typer(cls=_Commands, add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Mirror and archive news feeds as Markdown files, ready to publish.")
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

ArchiveOption = Annotated[Path | None, typer.Option(
    "--archive", "-a", help="The mirror folder (default: $NEWSMIRROR_ARCHIVE or ./archive).", show_default=False)]


class _State:
    archive: Path | None = None
    current: Path | None = None  # the mirror folder the command works on, for error messages


_state = _State()


def _archive(local: Path | None) -> Archive:
    path = local or _state.archive or Path(os.environ.get("NEWSMIRROR_ARCHIVE") or "archive")
    _state.current = path
    return Archive(path)


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"newsmirror: {message}", markup=False)
    return typer.Exit(code)


def _has_config(archive: Archive) -> bool:
    """Whether the folder holds its configuration file yet. A usage error when the folder, or
    the file's name, is something else (a directory named newsmirror.toml): every command
    tripped over it, and `run` tried to write the default configuration over it."""
    if archive.root.exists() and not archive.root.is_dir():
        raise _fail(f"{archive.root} is not a folder")
    path = archive.config_path
    if path.is_file():
        return True
    if path.exists() or path.is_symlink():  # a link to nowhere: writing through it lands elsewhere
        raise _fail(f"{path} is {'a directory' if path.is_dir() else 'not a regular file'}; "
                    "move it away to let newsmirror write its configuration there")
    return False


def _load(archive: Archive) -> Config:
    if not _has_config(archive):
        raise _fail(f"{archive.root} is not a mirror folder (no {configuration.CONFIG_NAME}); "
                    f"create one with `newsmirror --archive {archive.root} init`")
    try:
        return configuration.load(archive.config_path)
    except ConfigError as exc:
        raise _fail(str(exc)) from None


def _store(archive: Archive, config: Config | None = None) -> Store:
    """The state database (a damaged one is reported by _Commands, with the fix): the embedded
    SQLite, or the PostgreSQL database the configuration names ([store] url)."""
    archive.prepare()
    if config is None and _has_config(archive):
        config = _load(archive)
    return open_store(archive.state_dir, config.store.url if config else None)


def _version(value: bool) -> None:
    if value:
        out.print(f"newsmirror {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    archive: ArchiveOption = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
) -> None:
    _state.archive = archive


@app.command()
def init(
    ci: Annotated[str | None, typer.Option(metavar="KIND", help="Also write a scheduled-runner workflow: github.")] = None,
    install: Annotated[str | None, typer.Option(
        metavar="SPEC", help="What the workflow pip-installs, pinned (required with --ci).")] = None,
    archive: ArchiveOption = None,
) -> None:
    """Create a mirror folder with a commented configuration holding the default feeds."""
    from .ci import EXAMPLE, TEMPLATES, install_problem, template

    arch = _archive(archive)
    if ci is not None and ci not in TEMPLATES:
        raise _fail(f"--ci: unknown kind {ci!r} (known: {', '.join(TEMPLATES)})")
    if ci is not None and install is None:
        raise _fail(f'--install: required with --ci (newsmirror is not on the package index), e.g. --install "{EXAMPLE}"')
    if install is not None and (problem := "only with --ci" if ci is None else install_problem(install)):
        raise _fail(f"--install: {problem}")
    exists = _has_config(arch)
    if exists and ci is None:
        raise _fail(f"{arch.config_path} already exists; edit it, or use `add` and `remove`")
    arch.root.mkdir(parents=True, exist_ok=True)
    if not exists:
        configuration.write_default(arch.config_path)
        out.print(f"Created {arch.config_path} with {len(configuration.DEFAULT_FEEDS)} feeds.", markup=False)
    arch.prepare()
    if ci is not None and install is not None:
        path, text = template(ci, install)
        files.write(arch.root / path, text)
        out.print(f"Wrote {arch.root / path}: hourly run and publish of {install}, the state kept in the Actions cache.", markup=False)
    out.print(f"Next: newsmirror --archive {arch.root} run", markup=False)


@app.command()
def add(
    url: Annotated[str, typer.Argument(help="The feed's URL (RSS, Atom or JSON Feed), or a page that names its feed.")],
    feed_id: Annotated[str | None, typer.Option("--id", help="Folder id (default: a slug of the host).")] = None,
    title: Annotated[str | None, typer.Option(help="List title (default: the feed's own title).")] = None,
    force: Annotated[bool, typer.Option(help="Add the URL even when it is no feed or cannot be read now.")] = False,
    archive: ArchiveOption = None,
) -> None:
    """Add a feed (creating the mirror folder when there is none)."""
    arch = _archive(archive)
    if problem := configuration.url_problem(url):
        raise _fail(f"URL: {problem}")
    if title is not None and (problem := configuration.title_problem(title)):
        raise _fail(f"--title: {problem}")
    existing = _load(arch) if _has_config(arch) else Config()
    ids = _FeedIds(f.id for f in existing.feeds)
    if feed_id is not None and (problem := ids.problem(feed_id)):
        raise _fail(f"--id: {problem}")
    _not_present(url, existing)
    given = url
    url, own_title = _feed_url(url, existing, force)
    if url != given:
        _not_present(url, existing)
    if feed_id is None:
        feed_id = ids.new(url)
    if title is None:
        title = configuration.clean_title(own_title)  # the feed's own: anything at all
    arch.root.mkdir(parents=True, exist_ok=True)
    try:
        configuration.add_feed(arch.config_path, feed_id, url, title)
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    arch.prepare()
    out.print(f"Added {feed_id}" + (f" ({title})" if title else "") + f": {url}", markup=False)


def _not_present(url: str, config: Config) -> None:
    canonical = urls.canonical(url)
    if any(canonical == urls.canonical(f.url) for f in config.feeds):
        raise _fail(f"URL: {url} is already in the mirror")


def _feed_url(url: str, config: Config, force: bool) -> tuple[str, str | None]:
    """The URL to add and the feed's own title: URL when it is a feed, the feed a web page
    names when it names one. Anything else is refused (with --force, added all the same with a
    warning): a mistyped or dead URL would only fail every pass."""
    found, subject = _examined(url, config), "URL"
    if len(found.feeds) == 1:
        url = subject = found.feeds[0]
        out.print(f"found the feed {url} on the page; adding it", markup=False)
        found = _examined(url, config)
    if found.feed:
        return url, found.title
    if force:
        err.print(f"warning: {subject} {found.problem}; added anyway (--force)", markup=False)
        return url, None
    if found.feeds:
        for n, feed in enumerate(found.feeds, 1):
            err.print(f"  {n}. {feed}", markup=False)
        raise _fail(f"{subject} {found.problem} (above); pass one of them to `add`", 1)
    raise _fail(f"{subject} {found.problem}; not added (--force to add anyway)", 1)


def _examined(url: str, config: Config) -> Found:
    """What `url` is, fetched once, bounded like every fetch of a pass."""
    from .discover import Found, examine
    from .fetch import FEED_ACCEPT, Fetcher, FetchError

    async def fetch() -> Found:
        async with Fetcher(config.fetch) as fetcher:
            response = await fetcher.get(url, config.fetch.max_feed_bytes, accept=FEED_ACCEPT)
        return examine(response.content, response.url, response.content_type)

    try:
        return asyncio.run(fetch())
    except FetchError as exc:
        return Found(problem=f"answered {exc}" if exc.status else f"cannot be read now: {exc}")


class _FeedIds:
    """The ids in use, and new ones made from a host: `voachinese-com`, then `voachinese-com-2`...

    Compared without case (`voa` and `VOA` are one folder on Windows and macOS); never a Windows
    device name. Each host's count goes on where it stopped: an OPML file of 50,000 feeds of one
    host took minutes when every feed counted up from 2 again.
    """

    def __init__(self, taken: Iterable[str]):
        self.taken = {feed_id.lower(): feed_id for feed_id in taken}
        self.next: dict[str, int] = {}

    def problem(self, feed_id: str) -> str | None:
        """Why `feed_id` cannot be a new feed's id, or None."""
        other = self.taken.get(feed_id.lower())
        if other is None:
            return configuration.feed_id_problem(feed_id)
        if other == feed_id:
            return f"a feed with id {feed_id!r} already exists"
        return f"{feed_id!r} differs from the id {other!r} only in case: one folder on Windows and macOS"

    def new(self, url: str) -> str:
        """A free id made from the host of `url`, taken from now on."""
        base = urls.slug(url)
        n = self.next.get(base, 1)
        while True:
            suffix = f"-{n}" if n > 1 else ""
            feed_id = base[:64 - len(suffix)] + suffix
            n += 1
            if self.problem(feed_id) is None:
                break
        self.next[base] = n
        self.taken[feed_id.lower()] = feed_id
        return feed_id


_SHOWN = 10  # refused outlines named one by one: an OPML file of thousands names the first few


@app.command("import-opml")
def import_opml(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="An OPML file exported by a feed reader.")],
    archive: ArchiveOption = None,
) -> None:
    """Add every feed of an OPML file (those already in the mirror are skipped)."""
    from .opml import NotOPML, read

    arch = _archive(archive)
    try:
        outlines = read(file.read_bytes())
    except OSError as exc:
        raise _fail(f"FILE: cannot read {file}: {exc.strerror}") from None
    except NotOPML as exc:
        raise _fail(f"FILE: {file}: {exc}") from None
    existing = _load(arch) if _has_config(arch) else Config()
    added, present, refused = _new_feeds(outlines, existing)
    arch.root.mkdir(parents=True, exist_ok=True)
    try:
        configuration.add_feeds(arch.config_path, added)
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    arch.prepare()
    for problem in refused[:_SHOWN]:
        err.print(f"skipped an outline: xmlUrl {problem}", markup=False)
    if len(refused) > _SHOWN:
        err.print(f"skipped {len(refused) - _SHOWN} more outlines whose xmlUrl cannot be used", markup=False)
    out.print(f"Added {len(added)} feeds to {arch.config_path}; skipped {present + len(refused)} "
              f"({present} already in the mirror, {len(refused)} not a usable http(s) URL)", markup=False)


def _new_feeds(outlines: Iterable[tuple[str, str | None]], existing: Config,
               ) -> tuple[list[tuple[str, str, str | None]], int, list[str]]:
    """(id, url, title) of the outlines to add, how many are in the mirror already, and why
    each refused one was refused: a URL that is no usable http(s) URL (a line break in it
    would have been written into the configuration) is skipped, so that one bad outline
    among thousands does not stop the import."""
    ids = _FeedIds(f.id for f in existing.feeds)
    known = {urls.canonical(f.url) for f in existing.feeds}
    added, present, refused = [], 0, []
    for url, title in outlines:
        if problem := configuration.url_problem(url):
            refused.append(problem)
        elif (canonical := urls.canonical(url)) in known:
            present += 1
        else:
            known.add(canonical)
            added.append((ids.new(url), url, title))
    return added, present, refused


@app.command("export-opml")
def export_opml(archive: ArchiveOption = None) -> None:
    """Print the mirror's feeds as OPML (for a feed reader, or another mirror)."""
    from .opml import write

    config = _load(_archive(archive))
    sys.stdout.write(write(config.feeds).decode("utf-8"))


@app.command()
def remove(feed_id: Annotated[str, typer.Argument(metavar="ID")], archive: ArchiveOption = None) -> None:
    """Stop mirroring a feed: it leaves the configuration; its articles stay, listed as no longer mirrored."""
    arch = _archive(archive)
    feed = next((f for f in _load(arch).feeds if f.id == feed_id), None)
    if feed is None:
        raise _fail(f"ID: no feed {feed_id!r} in {arch.config_path}")
    if not (arch.root / "README.md").is_file():  # no pass wrote the folder: no record to keep listed
        configuration.remove_feed(arch.config_path, feed_id)
        out.print(f"Removed {feed_id}: no longer mirrored", markup=False)
        return
    out.print(f"Removed {feed_id}: no longer mirrored{_keep_listed(arch, feed)}", markup=False)


def _keep_listed(arch: Archive, feed: configuration.FeedConfig) -> str:
    """Take the feed out of the configuration and rewrite README.md at once, listing its articles
    as no longer mirrored; what `remove` adds to its line."""
    from dataclasses import replace

    from .output import refresh_readme
    from .render.markdown import NOT_MIRRORED

    store = _store(arch)
    try:
        state = store.feed(feed.id)
        title = feed.title or state.title or feed.id
        store.save_feeds([replace(state, title=title)])  # the title its list has: the list keeps its name
        configuration.remove_feed(arch.config_path, feed.id)
        later = ""
        try:
            with arch.lock():
                refresh_readme(arch, _load(arch), store)
        except ArchiveLocked:
            later = " in README.md after the next pass"
        return f"; its articles stay, listed as {title}{NOT_MIRRORED}{later}" if store.entries(feed.id, 1) else ""
    finally:
        store.close()


@app.command("list")
def list_feeds(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    archive: ArchiveOption = None,
) -> None:
    """Show every feed with its last attempt, last success, articles (revised, removed) and last error."""
    arch = _archive(archive)
    config = _load(arch)
    from .dates import now_ms
    from .health import problems

    store = _store(arch, config)
    try:
        states, counts, changes, now = store.feeds(), store.counts(), store.feed_changes(), now_ms()
        rows: list[dict[str, Any]] = []
        for f in config.feeds:
            s = states.get(f.id)
            revised, removed = changes.get(f.id, (0, 0))
            rows.append({
                "id": f.id, "title": f.title or (s.title if s else None), "url": f.url,
                "last_attempt": iso(s.last_attempt) if s else None, "last_success": iso(s.last_success) if s else None,
                "articles": counts.get(f.id, 0),
                "revised": revised, "removed": removed,
                "enabled": f.enabled,
                "last_error": (s.disabled and f"disabled: {s.disabled}") or s.last_error if s else None,
                "problems": problems(s, store.published(f.id), now),
            })
    finally:
        store.close()
    if as_json:
        out.print(json.dumps(rows, ensure_ascii=False, indent=2), markup=False)
        return
    table = Table(box=None, pad_edge=False)
    for column in ("", "id", "title", "articles", "revised", "removed", "last attempt", "last success",
                   "last error / health"):
        table.add_column(column, overflow="fold")
    for r in rows:
        flag = "!" if r["problems"] else ""
        detail = "; ".join(r["problems"]) or r["last_error"] or ("" if r["enabled"] else "disabled in the configuration")
        s = states.get(r["id"])
        table.add_row(flag, r["id"], r["title"] or "", str(r["articles"]), str(r["revised"]), str(r["removed"]),
                      _when(s.last_attempt if s else None, config), _when(s.last_success if s else None, config), detail,
                      style="red" if flag else None)
    Console(width=None if sys.stdout.isatty() else 200, highlight=False).print(table)


def _when(ms: int | None, config: Config) -> str:
    """A time as people read it (`[display] timezone`, labelled), or "never"."""
    return display(ms, config.display.zone) if ms else "never"


@app.command()
def run(
    feed: Annotated[list[str] | None, typer.Option("--feed", metavar="ID", help="Only this feed (repeatable).")] = None,
    strict: Annotated[bool, typer.Option(help="Exit 1 when any feed failed.")] = False,
    wait: Annotated[float, typer.Option(metavar="SECONDS", help="Wait this long for another pass to finish.")] = 0,
    force: Annotated[bool, typer.Option(help="Fetch feeds that are backing off after failures too.")] = False,
    archive: ArchiveOption = None,
) -> None:
    """One pass: fetch every feed, store new entries, write articles, lists and README."""
    from .pipeline import run_pass
    from .tombstones import TombstoneError

    arch = _archive(archive)
    if not _has_config(arch):
        arch.root.mkdir(parents=True, exist_ok=True)
        configuration.write_default(arch.config_path)
        out.print(f"No mirror at {arch.root}: created one with the default feeds ({arch.config_path}).", markup=False)
    config = _load(arch)
    known = {f.id for f in config.feeds}
    unknown = [f for f in feed or [] if f not in known]
    if unknown:
        raise _fail(f"--feed: no feed {unknown[0]!r} in {arch.config_path} (known: {', '.join(sorted(known))})")
    total = len([f for f in config.feeds if f.enabled and (not feed or f.id in feed)])
    if not total:  # a pass would do nothing: say why instead of printing an empty total
        raise _fail(f"no enabled feed{' of --feed' if feed else ''} in {arch.config_path}: "
                    "`newsmirror add URL`, or `enabled = true` on a feed", 1)
    arch.prepare()
    try:
        with arch.lock(wait), _progress(total) as on_result:
            report = run_pass(arch, config, feed or (), on_result=on_result, force=force)
    except ArchiveLocked as exc:
        raise _fail(str(exc), 1) from None
    except TombstoneError as exc:  # never archive against a record of redactions half-read
        raise _fail(str(exc), 1) from None
    for note in report.notes:
        out.print(note, markup=False)
    out.print(report.total(config.display.zone), markup=False)
    if report.all_failed:
        for line in _unreachable(arch, bool(report.deferred)):
            out.print(line, markup=False)
    if report.indexed:
        out.print(f"search index: {report.indexed} articles, {report.index_seconds:.2f} s after the pass", markup=False)
    for problem in report.problems:  # this machine's failures: what was stored is kept for the next pass
        err.print(f"newsmirror: {problem}", markup=False)
    if config.publish.remotes:
        _publish(arch, config.publish, report.message())
    if report.problems or (strict and (report.failed or report.deferred)):  # deferred: failed before
        raise typer.Exit(1)


def _unreachable(arch: Archive, deferred: bool) -> list[str]:
    """What to try when every feed a pass tried failed: most likely this machine cannot reach
    them (no network, a block), which no feed's own error message says."""
    folder = shlex.quote(str(arch.root))
    lines = ["Every feed tried failed. If this machine cannot reach them (no network, a block), try:",
             f'  a proxy: [fetch] proxy = "socks5://127.0.0.1:1080" in {arch.config_path}',
             f"  newsmirror --archive {folder} doctor (checks the network, each feed and the configuration)",
             "  newsmirror demo (mirrors bundled sample feeds, with no network)"]
    if deferred:
        lines.append(f"  newsmirror --archive {folder} run --force (tries the deferred feeds now too)")
    return lines


def _publish(arch: Archive, settings: configuration.PublishSettings, message: str) -> int:
    """Commit and push; prints a line per remote; returns how many remotes failed."""
    from .publish import publish_locked

    report = publish_locked(arch, settings, message)
    for line in report.lines():
        out.print(line, markup=False)
    return len(report.failed)


@app.command()
def publish(
    remote: Annotated[list[str] | None, typer.Option(metavar="REMOTE", help="Also push here (repeatable).")] = None,
    author_name: Annotated[str | None, typer.Option(help="Commit author name.")] = None,
    author_email: Annotated[str | None, typer.Option(help="Commit author email.")] = None,
    archive: ArchiveOption = None,
) -> None:
    """Commit what changed and push to every remote (a failing remote never blocks the others)."""
    from dataclasses import replace

    from .publish import unread

    arch = _archive(archive)
    config = _load(arch)
    with closing(_store(arch, config)) as store:
        if unread(arch, store):  # a commit now would record a folder no pass has numbered against
            raise _fail(f"{arch.root} holds articles the state has not read (no state, or a rebuild not finished): "
                        f"run `newsmirror --archive {arch.root} reindex` first", 1)
    settings = replace(config.publish, remotes=(*config.publish.remotes, *(remote or [])),
                       author_name=author_name or config.publish.author_name,
                       author_email=author_email or config.publish.author_email)
    if _publish(arch, settings, "newsmirror: publish"):
        raise typer.Exit(1)


@contextmanager
def _progress(total: int) -> Iterator[Callable[[FeedResult], None]]:
    """On a terminal: a progress bar (feeds done of total, articles written) above the lines;
    otherwise plain lines, one per feed."""
    if not out.is_terminal:
        yield lambda r: out.print(r.line(), markup=False)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[articles]} articles"),
                  TimeElapsedColumn(), console=out, transient=True) as bar:
        task = bar.add_task("feeds", total=total, articles=0)
        written = 0

        def advance(result: FeedResult) -> None:
            nonlocal written
            written += result.new + result.updated
            bar.console.print(result.line(), markup=False)
            bar.update(task, advance=1, articles=written)

        yield advance


def _until_signalled() -> threading.Event:
    """An event set by SIGTERM or SIGINT: a long-running command ends its work in hand, then stops."""
    import signal
    import threading

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def say(line: str) -> None:
    """A line of a long-running command's log, out at once."""
    print(line, flush=True)


@app.command()
def daemon(
    log_json: Annotated[bool, typer.Option("--log-json", help="One JSON object per log line.")] = False,
    archive: ArchiveOption = None,
) -> None:
    """Run passes on a schedule until SIGTERM or SIGINT (each feed when it is due)."""
    from . import daemon as scheduler

    arch = _archive(archive)
    _load(arch)
    arch.prepare()
    stop = _until_signalled()
    if not log_json:
        say(f"newsmirror {__version__} daemon on {arch.root} (pid {os.getpid()})")
    scheduler.run(arch, stop, say, log_json)
    if not log_json:
        say("stopped")


def _shared_state(arch: Archive, command: str) -> Config:
    """The configuration of a `worker` or `writer`: they share the [store] url's PostgreSQL."""
    config = _load(arch)
    if config.store.url is None:
        raise _fail(f"{command} shares its state through PostgreSQL: set [store] url in {arch.config_path}"
                    " (`newsmirror run` or `daemon` mirror alone with the embedded state)")
    try:
        import procrastinate  # noqa: F401
    except ImportError:
        raise _fail(f"{command} needs the job queue: pip install 'newsmirror[postgres]'") from None
    return config


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, metavar="N", help="Feeds worked on at once.")] = 10,
    archive: ArchiveOption = None,
) -> None:
    """Claim due feeds from the [store] url's job queue; fetch, parse, extract, clean, store (needs only newsmirror.toml)."""
    from . import queueing

    arch = _archive(archive)
    config = _shared_state(arch, "worker")
    arch.state_dir.mkdir(parents=True, exist_ok=True)  # no articles, no git: the CPU workers' scratch only
    say(f"newsmirror {__version__} worker (pid {os.getpid()}, {concurrency} at once)")
    queueing.work(arch, config, concurrency, say)
    say("stopped")


@app.command()
def writer(
    once: Annotated[bool, typer.Option("--once", help="Write what is stored once, then exit.")] = False,
    archive: ArchiveOption = None,
) -> None:
    """Write the articles workers stored, lists, feeds out, site and index; publish when configured; until SIGTERM or SIGINT."""
    from . import queueing

    arch = _archive(archive)
    _shared_state(arch, "writer")
    arch.prepare()
    stop = _until_signalled()
    try:
        queueing.write(arch, stop, say, once)
    except ArchiveLocked as exc:
        raise _fail(str(exc), 1) from None


@app.command()
def doctor(archive: ArchiveOption = None) -> None:
    """Check configuration, state, every feed (through its proxy), remotes, mirrors (warnings only) and disk; exit 1 if anything fails."""
    from .dates import now_ms
    from .doctor import Check, checks
    from .publish import check_remote
    from .years import year_of

    arch = _archive(archive)
    config = _load(arch)
    arch.prepare()
    remotes = []
    for each in config.publish.remotes:
        remote = each.replace("{year}", str(year_of(now_ms(), config.display.zone)))  # split = "year": this year's
        problem = check_remote(arch.root, remote)
        remotes.append(Check(f"remote {remote}", "FAIL" if problem else "ok", problem or "reachable"))
    found = checks(arch, config, remotes)
    table = Table(box=None, pad_edge=False)
    for column in ("check", "status", "detail"):
        table.add_column(column, overflow="fold")
    for c in found:
        table.add_row(c.name, c.status, c.detail, style={"FAIL": "red", "warn": "yellow"}.get(c.status))
    Console(width=None if sys.stdout.isatty() else 200, highlight=False).print(table)
    failed = sum(c.status == "FAIL" for c in found)
    out.print(f"{failed} failed, {sum(c.status == 'warn' for c in found)} warnings, {len(found)} checks", markup=False)
    if failed:
        raise typer.Exit(1)


def _versions(archive: Path | None, item: str) -> tuple[EntryRow, list[Version], dict[str, int], Config]:
    """The article ITEM names, its versions (oldest first), the changes not kept as versions
    (by reason) and the configuration; a usage error when there is none."""
    from .history import NoSuchItem, resolve, suppressed, versions

    arch = _archive(archive)
    config = _load(arch)
    store = _store(arch)
    try:
        row = resolve(store, item)
        return row, versions(store, row), suppressed(store, row), config
    except NoSuchItem as exc:
        raise _fail(f"ITEM: {exc}") from None
    finally:
        store.close()


_SUPPRESSED = {"volatile": "volatile (counters, relative times, boxes of links)",
               "flip": "back to an earlier version", "limit": "over the revisions a day"}


@app.command()
def history(
    item: Annotated[str, typer.Argument(metavar="ITEM", help="feed/number (e.g. voa/1048574) or the article's link.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of lines.")] = False,
    archive: ArchiveOption = None,
) -> None:
    """List an article's versions (when each was first seen, how its size changed) and the
    changes not kept as versions."""
    row, found, suppressed, config = _versions(archive, item)
    if as_json:
        out.print(json.dumps({
            "feed": row.feed_id, "number": row.number, "link": row.link,
            "removed_at": iso(row.removed_at) if row.removed_at else None,
            "versions": [{"number": v.number, "seen_at": iso(v.seen_at), "title": v.title, "chars": len(v.text)}
                         for v in found],
            "suppressed": suppressed,
        }, ensure_ascii=False, indent=2), markup=False)
        return
    out.print(f"{row.feed_id}/{row.number} {row.link}", markup=False)
    if row.removed_at:
        out.print(f"removed at the source: {_when(row.removed_at, config)}", markup=False)
    previous = None
    for v in found:
        size = len(v.text)
        change = "" if previous is None else f" ({size - previous:+,} chars)"
        out.print(f"{v.number:>3}  {_when(v.seen_at, config)}  {size:,} chars{change}  {v.title}", markup=False)
        previous = size
    if any(suppressed.values()):
        counts = ", ".join(f"{n:,} {_SUPPRESSED[reason]}" for reason, n in suppressed.items() if n)
        out.print(f"changes not kept as versions: {counts}", markup=False)


@app.command()
def redact(
    item: Annotated[str, typer.Argument(metavar="ITEM", help="feed/number (e.g. voa/1048574) or the article's link.")],
    reason: Annotated[str, typer.Option(help="Why (the notice), recorded in redactions.json.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    archive: ArchiveOption = None,
) -> None:
    """Remove an article after a takedown notice: its files, lists, feeds out, site, search, state
    and every commit's copy; then force-push (with lease) to every remote. It is never archived again."""
    from .history import NoSuchItem, resolve
    from .redact import redact as remove
    from .tombstones import TombstoneError

    arch = _archive(archive)
    config = _load(arch)
    if not reason.strip():
        raise _fail('--reason: say why, e.g. --reason "DMCA notice of 2025-02-03"')
    with closing(_store(arch)) as store:
        try:
            row = resolve(store, item)
        except NoSuchItem as exc:
            raise _fail(f"ITEM: {exc}") from None
        remotes = len(config.publish.remotes)
        question = (f"Remove {row.feed_id}/{row.number} ({row.link}) everywhere, rewrite the history of {arch.root} "
                    f"and force-push it to {remotes} remotes?")
        try:
            confirmed = yes or typer.confirm(question)
        except typer.Abort:  # no answer (end of input)
            confirmed = False
        if not confirmed:
            raise _fail("not confirmed: nothing changed (--yes to skip the question)", 1)
        try:
            with arch.lock():
                report = remove(arch, config, store, row, reason)
        except ArchiveLocked as exc:
            raise _fail(str(exc), 1) from None
        except TombstoneError as exc:
            raise _fail(str(exc), 1) from None
    for line in report.lines():
        out.print(line, markup=False)
    if report.failed:
        raise typer.Exit(1)


@app.command()
def diff(
    item: Annotated[str, typer.Argument(metavar="ITEM", help="feed/number or the article's link.")],
    a: Annotated[int | None, typer.Argument(metavar="[A", help="Older version (default: the one before B).")] = None,
    b: Annotated[int | None, typer.Argument(metavar="B]", help="Newer version (default: the current one).")] = None,
    archive: ArchiveOption = None,
) -> None:
    """Show what changed between two versions (by characters for Chinese, by words otherwise)."""
    from .history import diff as changes
    from .history import plain, shorten

    _, found, _, config = _versions(archive, item)
    b = b or len(found)
    a = a or b - 1
    if a < 1 or not 1 <= b <= len(found) or a >= b:
        raise _fail(f"A B: give two versions 1 <= A < B <= {len(found)} (this article has {len(found)})"
                    if len(found) > 1 else "A B: this article has one version only; nothing to compare")
    old, new = found[a - 1], found[b - 1]
    out.print(f"version {a} ({_when(old.seen_at, config)}) -> version {b} ({_when(new.seen_at, config)})", markup=False)
    segments = changes(old.text, new.text)
    if not out.is_terminal:
        out.print(plain(segments), markup=False)
        return
    from rich.text import Text

    text = Text()
    for op, part in segments:
        text.append(shorten(part, 40) if op == "=" else part,
                    style={"-": "red strike", "+": "green underline"}.get(op))
    out.print(text)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Words to find (Chinese: any length; Traditional finds Simplified).")],
    feed: Annotated[str | None, typer.Option("--feed", metavar="ID", help="Only this feed.")] = None,
    since: Annotated[str | None, typer.Option(metavar="DATE", help="Published on or after (2024-05-07).")] = None,
    until: Annotated[str | None, typer.Option(metavar="DATE", help="Published before (2024-05-08).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many results.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    archive: ArchiveOption = None,
) -> None:
    """Search the archive: ranked by relevance and recency, with highlighted snippets."""
    from .dates import parse_date
    from .search import TOTAL_MAX, SearchError, format_hit, open_search, query_terms

    arch = _archive(archive)
    config = _load(arch)
    try:
        query_terms(query)
    except SearchError as exc:
        raise _fail(f"QUERY: {exc}") from None
    bounds = {}
    for name, value in (("--since", since), ("--until", until)):
        if value is not None:
            ms = parse_date(value, config.timezone)
            if ms is None:
                raise _fail(f"{name}: {value!r} is not a date (e.g. 2024-05-07 or 2024-05-07T12:00+08:00)")
            bounds[name] = ms
    arch.prepare()
    if feed is not None and feed not in (known := {f.id for f in config.feeds}):
        _search_feed_known(arch, feed, known)
    try:
        with open_search(arch.state_dir, config.store.url) as index:
            if index.count() == 0:
                from .pipeline import index as build_index

                build_index(arch, [], url=config.store.url)
            first, last = bounds.get("--since"), bounds.get("--until")
            hits = index.search(query, feed=feed, since=first, until=last, limit=limit)
            # all of them, or as many as asked for: then count the rest
            total = index.total(query, feed=feed, since=first, until=last) if len(hits) == limit else len(hits)
    except SearchError as exc:
        raise _fail(f"QUERY: {exc}") from None
    if as_json:
        out.print(json.dumps([{"feed": h.feed_id, "number": h.number, "title": h.title, "link": h.link,
                               "published": iso(h.published), "path": f"articles/{h.feed_id}/{h.number}.md",
                               "snippet": h.snippet, "highlights": h.highlights, "score": h.score,
                               # past TOTAL_MAX matches the count stops: "total_exact" false says so
                               "total": min(total, TOTAL_MAX), "total_exact": total <= TOTAL_MAX}
                              for h in hits], ensure_ascii=False, indent=2), markup=False)
        return
    for h in hits:
        out.print(format_hit(h, tz=config.display.zone, color=out.is_terminal), markup=False, highlight=False)
        out.print(f"    {arch.root / 'articles' / h.feed_id / f'{h.number}.md'}", markup=False)
    shown = f"{len(hits)} of {total:,}" if total > len(hits) else f"{len(hits)}"
    if total > TOTAL_MAX:
        shown = f"{len(hits)} of more than {TOTAL_MAX:,}"
    out.print(f"{shown} result{'s' if total != 1 else ''}", markup=False)


_KNOWN_SHOWN = 10  # feed ids a message about an unknown one names


def _search_feed_known(arch: Archive, feed: str, configured: set[str]) -> None:
    """A usage error for a feed id neither configured nor holding articles in the state (a feed
    removed from the configuration keeps its articles, and they stay searchable)."""
    store = _store(arch)
    try:
        known = sorted(configured | set(store.feed_ids_with_entries()))
    finally:
        store.close()
    if feed not in known:
        named = ", ".join(known[:_KNOWN_SHOWN]) + ("…" if len(known) > _KNOWN_SHOWN else "")
        raise _fail(f"--feed: no feed {feed!r} (known: {named or 'none'})")


def _build_site(arch: Archive, wait: float = 0, full: bool = False) -> int:
    """Build DIR/site/ holding the folder (`full`: every page); returns how many files changed."""
    from .render.site import build

    config = _load(arch)
    store = _store(arch, config)
    try:
        with arch.lock(wait):
            return build(arch, config, store, full)
    except ArchiveLocked as exc:
        raise _fail(str(exc), 1) from None
    finally:
        store.close()


@app.command()
def site(
    archive: ArchiveOption = None,
    full: Annotated[bool, typer.Option("--full", help="Build every page again (a page deleted or edited by hand).")] = False,
) -> None:
    """Build the static HTML site under DIR/site/ (works from file:// and any sub-path)."""
    arch = _archive(archive)
    changed = _build_site(arch, full=full)
    out.print(f"Site: {arch.root / 'site' / 'index.html'} ({changed} files written)", markup=False)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (anything but 127.0.0.1 exposes the archive).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8080,
    archive: ArchiveOption = None,
) -> None:
    """Read the archive in a browser: the static site, its files and feeds, with ranked server-side
    search; the site is built again after every pass."""
    from .web import create_app, server
    from .web.current import SiteKeeper

    arch = _archive(archive)
    config = _load(arch)
    try:
        sock = server.listen(host, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise _fail(f"port {port} is in use (try --port {server.free_port(host, port)})", 1) from None
        raise _fail(f"--host, --port: cannot listen on {host} port {port}: {exc.strerror or exc}") from None
    with sock:
        arch.prepare()
        keeper = SiteKeeper(arch)
        try:
            keeper.build(wait=60)
        except ArchiveLocked as exc:
            raise _fail(str(exc), 1) from None
        with keeper.kept(lambda line: err.print(f"newsmirror: {line}", markup=False)):
            out.print(f"Reading {arch.root} at http://{host}:{port}/ (Ctrl-C to stop)", markup=False)
            server.serve(create_app(arch, config.display.zone, config.store.url), sock)


@app.command()
def digest(
    day: Annotated[str | None, typer.Option("--date", metavar="D", show_default=False,
                                           help="The day, YYYY-MM-DD, in [display] timezone (default: yesterday).")] = None,
    archive: ArchiveOption = None,
) -> None:
    """Write the day's articles to digests/D.md and D.html, and mail them when [digest] names a server."""
    from . import digest as daily
    from .dates import now_ms

    arch = _archive(archive)
    config = _load(arch)
    try:
        when = daily.parse_day(day) if day is not None else daily.yesterday(now_ms(), config.display.zone)
    except ValueError as exc:
        raise _fail(f"--date: {exc}") from None
    store = _store(arch)
    try:
        made = daily.build(config, store, when)
    finally:
        store.close()
    text, page = daily.write(arch, made)
    folder = arch.root / daily.FOLDER
    out.print(f"Digest of {when.isoformat()}: {made.count} articles ({made.full} in full): "
              f"{folder / f'{when.isoformat()}.md'}, {folder / f'{when.isoformat()}.html'}", markup=False)
    settings = config.digest
    if settings.smtp:
        try:
            daily.send(settings, daily.message(settings, made, text, page))
        except daily.MailError as exc:
            raise _fail(str(exc), 1) from None
        out.print(f"Mailed to {', '.join(settings.to)} through {settings.smtp}", markup=False)


_SKIPPED_SHOWN = 20  # files reindex skipped, named one by one on the terminal; a longer list goes to a file


@app.command()
def migrate(archive: ArchiveOption = None) -> None:
    """Create or upgrade the state's schema: the SQLite under DIR/.newsmirror/, or the [store] url's PostgreSQL."""
    from .store import DB_NAME
    from .store import migrate as upgrade

    arch = _archive(archive)
    url = _load(arch).store.url  # a fetching machine's folder may hold only newsmirror.toml
    before, after = upgrade(arch.state_dir, url)
    where = "PostgreSQL database " + url.rpartition("/")[2].partition("?")[0] if url else str(arch.state_dir / DB_NAME)
    out.print(f"{where}: schema {after}" + (", up to date" if before == after else f", upgraded from {before}"), markup=False)
    if url:
        try:
            from .queueing import migrate as queue_tables
        except ImportError:  # psycopg alone: state in PostgreSQL, no workers
            return
        out.print(f"job queue: {'created' if queue_tables(url) else 'up to date'}", markup=False)


@app.command()
def reindex(archive: ArchiveOption = None) -> None:
    """Rebuild the state database from the files under articles/ (adopts an existing mirror)."""
    from .reindex import open_state
    from .reindex import reindex as rebuild

    arch = _archive(archive)
    config = _load(arch)
    arch.prepare()
    try:
        with arch.lock():
            store, moved = open_state(arch, config.store.url)
            try:
                report = rebuild(arch, store)
            finally:
                store.close()
    except ArchiveLocked as exc:
        raise _fail(str(exc), 1) from None
    if moved:
        err.print(f"the state database was damaged: moved to {moved}; rebuilt from the files", markup=False)
    for feed_id, count in report.articles.items():
        out.print(f"{feed_id}: {count} articles", markup=False)
    listing = arch.state_dir / "reindex-skipped.txt"
    listing.unlink(missing_ok=True)
    if len(report.skipped) > _SKIPPED_SHOWN:  # a whole repository of odd files: the first ones, and where the rest are
        files.write(listing, "".join(f"{line}\n" for line in report.skipped))
        err.print(f"skipped {len(report.skipped)} files; the first {_SKIPPED_SHOWN} below, all of them in {listing}",
                  markup=False)
    for skipped in report.skipped[:_SKIPPED_SHOWN]:
        err.print(f"skipped {skipped}", markup=False)
    if report.history:
        out.print(f"revisions from git history: not available ({report.history})", markup=False)
    out.print(f"{sum(report.articles.values())} articles indexed"
              + (f", {report.revisions} earlier versions from git history" if report.revisions else ""), markup=False)


@app.command()
def demo(directory: Annotated[Path | None, typer.Argument(
              metavar="DIR", help="Where to build the demo mirror (else --archive, else ./newsmirror-demo).",
              show_default=False)] = None,
         archive: ArchiveOption = None) -> None:
    """Mirror bundled sample feeds served on 127.0.0.1: works with no network."""
    from .demo import run_demo

    directory = directory or archive or _state.archive or Path("newsmirror-demo")
    _state.current = directory
    try:
        run_demo(directory, lambda line: out.print(line, markup=False))
    except FileExistsError as exc:
        raise _fail(f"DIR: {exc}") from None


def main() -> None:
    app(prog_name="newsmirror")
