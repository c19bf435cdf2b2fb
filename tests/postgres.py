"""A real PostgreSQL for the tests: the distribution's own server (`initdb`, `pg_ctl`) started once a
session in a temporary data directory, reached only through a unix socket in that directory (no
TCP: nothing else on the machine can connect), run as `nobody` when the tests run as root
(PostgreSQL refuses root). Each test gets a database of its own, created empty and left for the
cluster's removal at the end (dropping one forces a checkpoint: a second a test)."""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

SETTINGS = {  # a throw-away cluster: durability costs time and buys nothing here
    "listen_addresses": "", "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "max_connections": "200",
}


def bin_dir() -> Path:
    """Where `initdb` and `pg_ctl` are: on PATH, else Debian's /usr/lib/postgresql/<version>/bin
    (the `postgresql` package does not put them on PATH), the newest version first."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]), reverse=True)
    if not debian:
        raise RuntimeError("PostgreSQL's initdb is neither on PATH nor in /usr/lib/postgresql/*/bin: "
                           "install Debian's `postgresql` package (sh scripts/test.sh does)")
    return Path(debian[0]).parent


def free_port() -> int:
    """A port number no one listens on (it names the unix socket: two clusters must differ)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """One PostgreSQL cluster, started on creation, stopped by `close`."""

    USER = "newsmirror"

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="newsmirror-pg-"))
        self.data, self.port = self.root / "data", free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL will not run as root: the cluster belongs to nobody
            shutil.chown(self.root, "nobody")
            self._as = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]
        bin_ = bin_dir()
        self._run(str(bin_ / "initdb"), "-D", str(self.data), "-U", self.USER, "--auth=trust", "--encoding=UTF8", "--locale=C")
        options = " ".join(f"-c {k}={v!r}" for k, v in SETTINGS.items())
        self._pg_ctl = str(bin_ / "pg_ctl")
        self._run(self._pg_ctl, "start", "-w", "-D", str(self.data), "-l", str(self.root / "log"),
                  "-o", f"-p {self.port} -k {self.root} {options}")
        self._names = itertools.count(1)

    def _run(self, *command: str) -> None:
        proc = subprocess.run([*self._as, *command], capture_output=True, text=True, timeout=120)
        if proc.returncode:
            log = self.root / "log"
            raise RuntimeError(f"{command[0]} failed: {proc.stderr.strip()} {log.read_text() if log.exists() else ''}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.USER}@/{database}?host={self.root}&port={self.port}"

    def create_database(self) -> str:
        """A new empty database; its URL."""
        name = f"test{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as db:
            db.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def close(self) -> None:
        self._run(self._pg_ctl, "stop", "-D", str(self.data), "-m", "immediate")
        shutil.rmtree(self.root, ignore_errors=True)
