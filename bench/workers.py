#!/usr/bin/env python3
"""Feeds per second with 1, 2, 4 `newsmirror worker` processes against PostgreSQL, the writer's
articles per second, and the single-process SQLite `run` as the baseline (issue 17).

    python bench/workers.py [--feeds 400] [--items 3] [--latency 0.2] [--concurrency 16]

Feeds are served on 127.0.0.1 with an artificial latency per request (the real internet is
I/O-bound). Every process uses the same [fetch] limits (concurrency = per_host = --concurrency:
one local host stands for many) and a worker works on --concurrency feeds at once, so a
worker process and the baseline keep as many requests in flight. PostgreSQL is the test
suite's own throw-away cluster (tests/postgres.py: the distribution's `postgresql`, fsync off).
  - baseline: `newsmirror run` on the embedded SQLite state, timed whole;
  - workers: a fresh database a row; feeds/s from the first job started to the last job done
    (procrastinate's events: the periodic task's first tick, up to 10 s, is not counted);
  - writer: `newsmirror writer --once` on what the 4 workers stored (its own "wrote N articles in S").
Prints one table, the command line and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import psycopg  # noqa: E402
from postgres import Server  # noqa: E402  (the tests' PostgreSQL cluster)

WORKERS = (1, 2, 4)


def serve(feeds: int, items: int, latency: float) -> ThreadingHTTPServer:
    """RSS documents at /f/<n>.xml, each answered after `latency` seconds."""
    def document(n: int) -> bytes:
        body = "".join(f"<p>第{n}源第{i}篇文章。这是一个完整的句子，足够长的正文。</p>" * 6 for i in range(items))
        entries = "".join(f"<item><title>源{n}文章{i}</title><link>http://example.invalid/{n}/{i}</link><guid>{n}-{i}</guid>"
                          f"<description><![CDATA[{body}]]></description><pubDate>Tue, 07 May 2024 21:39:0{i % 10} GMT</pubDate></item>"
                          for i in range(items))
        return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>源{n}</title>'
                f"<link>http://example.invalid/</link>{entries}</channel></rss>").encode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            time.sleep(latency)
            match = re.fullmatch(r"/f/(\d+)\.xml", self.path)
            body = document(int(match.group(1))) if match else b""
            self.send_response(200 if match else 404)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def folder(path: Path, port: int, feeds: int, concurrency: int, url: str | None) -> Path:
    path.mkdir()
    toml = "".join(f'[[feeds]]\nid = "f{n:04}"\ntitle = "源{n}"\nurl = "http://127.0.0.1:{port}/f/{n}.xml"\n\n' for n in range(feeds))
    toml += f"[fetch]\nconcurrency = {concurrency}\nper_host = {concurrency}\n"
    if url:
        toml += f'\n[store]\nurl = "{url}"\n'
    (path / "newsmirror.toml").write_text(toml, encoding="utf-8")
    return path


def newsmirror(*args: object, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "newsmirror", *map(str, args)], capture_output=True, text=True,
                          check=True, **kwargs)  # type: ignore[call-overload]


def workers(count: int, fetching: Path, url: str, feeds: int, concurrency: int) -> float:
    """feeds/s of `count` worker processes, from the first job started to the last done."""
    newsmirror("--archive", fetching, "migrate")
    procs = [subprocess.Popen([sys.executable, "-m", "newsmirror", "--archive", str(fetching), "worker",
                               "--concurrency", str(concurrency)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(count)]
    try:
        with psycopg.connect(url, autocommit=True) as db:
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                done = db.execute("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'newsmirror.feed'"
                                  " AND status = 'succeeded'").fetchone()[0]  # type: ignore[index]
                if done >= feeds:
                    break
                time.sleep(0.5)
            else:
                raise SystemExit(f"{count} workers: only {done} of {feeds} feeds within 600 s")
            seconds = db.execute("SELECT extract(epoch FROM max(at) FILTER (WHERE type = 'succeeded')"
                                 " - min(at) FILTER (WHERE type = 'started')) FROM procrastinate_events e"
                                 " JOIN procrastinate_jobs j ON j.id = e.job_id WHERE j.task_name = 'newsmirror.feed'").fetchone()[0]  # type: ignore[index]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)
    return feeds / float(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=400)
    parser.add_argument("--items", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    print("command:", shlex.join([sys.executable, *sys.argv]))
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    server = serve(args.feeds, args.items, args.latency)
    port = server.server_address[1]
    postgres = Server()
    rows: list[tuple[str, str, str]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="newsmirror-bench-") as tmp:
            base = folder(Path(tmp) / "sqlite", port, args.feeds, args.concurrency, None)
            started = time.monotonic()
            newsmirror("--archive", base, "run")
            rows.append(("run, SQLite (1 process)", f"{args.feeds / (time.monotonic() - started):.1f}", ""))
            for count in WORKERS:
                url = postgres.create_database()
                fetching = folder(Path(tmp) / f"w{count}", port, args.feeds, args.concurrency, url)
                rate = workers(count, fetching, url, args.feeds, args.concurrency)
                rows.append((f"{count} worker{'s' if count > 1 else ''}, PostgreSQL", f"{rate:.1f}", ""))
            mirror = folder(Path(tmp) / "mirror", port, args.feeds, args.concurrency, url)
            wrote = newsmirror("--archive", mirror, "writer", "--once").stdout
            match = re.search(r"wrote (\d+) articles in ([\d.]+)s", wrote)
            rows.append(("writer --once, PostgreSQL", "", f"{int(match.group(1)) / float(match.group(2)):.0f}" if match else wrote.strip()))
    finally:
        postgres.close()
        server.shutdown()
    print(f"{args.feeds} feeds x {args.items} items, {args.latency * 1000:.0f} ms a request, {args.concurrency} feeds at once a process")
    print(f"{'':32} {'feeds/s':>8} {'articles/s':>11}")
    for name, feeds_s, articles_s in rows:
        print(f"{name:32} {feeds_s:>8} {articles_s:>11}")
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
