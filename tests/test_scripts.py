"""`scripts/test.sh`, the README's test command: on a fresh machine it installs what the tests need
(only what is missing), then the project, then runs pytest. Run here with stand-ins for apt-get,
sudo and python3 that only record how they were called."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).parents[1] / "scripts" / "test.sh"
RECORDER = '#!/bin/sh\necho "$(basename "$0") $*" >> "$CALLS"\n'


def machine(tmp_path: Path, *have: str, uid: int = 0) -> Path:
    """A PATH holding the shell's basic tools, recording stand-ins, and the named commands."""
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for tool in ("sh", "dirname", "env", "basename"):
        os.symlink(shutil.which(tool), bin_ / tool)
    (bin_ / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    for name in ("python3", *have):
        (bin_ / name).write_text(RECORDER)
    (bin_ / "sudo").write_text(RECORDER + 'exec "$@"\n')  # runs what follows it, as the real one does
    for path in bin_.iterdir():
        if not path.is_symlink():
            path.chmod(0o755)
    return bin_


def run(tmp_path: Path, bin_: Path) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    calls = tmp_path / "calls"
    calls.touch()
    proc = subprocess.run([str(bin_ / "sh"), str(SCRIPT), "-q", "tests/test_cli.py"], capture_output=True, text=True,
                          env={"PATH": str(bin_), "CALLS": str(calls)})
    return proc, calls.read_text().splitlines()


def test_a_fresh_debian_machine_gets_chromium_its_driver_git_and_postgresql_then_the_project_then_the_tests(tmp_path):
    proc, calls = run(tmp_path, machine(tmp_path, "apt-get"))
    assert proc.returncode == 0, proc.stderr
    assert calls == [
        "apt-get update -qq",
        "apt-get install -y -qq chromium chromium-driver git postgresql",
        "python3 -m pip install -q -U pip",
        "python3 -m pip install -q .[test]",
        "python3 -m pytest -q tests/test_cli.py",
    ]


def test_as_another_user_it_installs_through_sudo(tmp_path):
    proc, calls = run(tmp_path, machine(tmp_path, "apt-get", "git", "initdb", uid=1000))
    assert proc.returncode == 0, proc.stderr
    assert calls[:4] == ["sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq", "apt-get update -qq",
                         "sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver",
                         "apt-get install -y -qq chromium chromium-driver"]


def test_debians_postgresql_counts_as_there_though_its_initdb_is_off_path(tmp_path):
    proc, calls = run(tmp_path, machine(tmp_path, "apt-get", "chromium", "chromedriver", "git", "pg_ctlcluster"))
    assert proc.returncode == 0, proc.stderr
    assert not [c for c in calls if c.startswith(("apt-get", "sudo"))]


def test_nothing_is_installed_when_everything_is_there(tmp_path):
    proc, calls = run(tmp_path, machine(tmp_path, "apt-get", "chromium", "chromedriver", "git", "initdb"))
    assert proc.returncode == 0, proc.stderr
    assert not [c for c in calls if c.startswith(("apt-get", "sudo"))]
    assert calls[-1] == "python3 -m pytest -q tests/test_cli.py"


def test_without_apt_it_names_what_to_install_and_runs_nothing(tmp_path):
    proc, calls = run(tmp_path, machine(tmp_path, "git", "pg_ctlcluster"))
    assert proc.returncode == 1
    assert proc.stderr.strip() == ("the tests need these Debian/Ubuntu packages or their equivalents: chromium chromium-driver; "
                                   "install them, then run this again")
    assert calls == []


def test_ci_and_the_readme_run_exactly_this_command():
    root = SCRIPT.parents[1]
    readme = (root / "README.md").read_text()
    assert "\nsh scripts/test.sh " in readme
    ci = (root / ".ci" / "run").read_text().splitlines()
    assert "sh scripts/test.sh" in ci
