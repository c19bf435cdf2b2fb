#!/bin/sh
# The tests with everything they need, on a fresh machine: Debian's chromium and chromium-driver (the
# static site is tested in headless Chromium), git (publishing is tested against local bare
# repositories) and postgresql (the store is tested on a server the tests start: tests/postgres.py;
# Debian puts its initdb off PATH, beside pg_ctlcluster, which is on it), installed with apt-get only when missing; then the project with its test extra; then
# pytest (arguments are passed on). `.ci/run` calls exactly this.
set -eu
cd "$(dirname "$0")/.."
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v chromedriver >/dev/null 2>&1 || missing="$missing chromium-driver"
command -v git >/dev/null 2>&1 || missing="$missing git"
command -v initdb >/dev/null 2>&1 || command -v pg_ctlcluster >/dev/null 2>&1 || missing="$missing postgresql"
if [ -n "$missing" ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "the tests need these Debian/Ubuntu packages or their equivalents:$missing; install them, then run this again" >&2
    exit 1
  fi
  as_root=""
  [ "$(id -u)" = 0 ] || as_root="sudo"
  echo "installing$missing with apt-get" >&2
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # shellcheck disable=SC2086  # one word per package
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
python3 -m pip install -q -U pip
python3 -m pip install -q ".[test]"
exec python3 -m pytest "$@"
