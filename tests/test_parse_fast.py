"""The fast parser leans on feedparser's private names (its handler table, URL joining, cp1252
repair): a feedparser that renames one must fail here, by name, not somewhere in a pass."""

from __future__ import annotations

import ast
import importlib
import tomllib
from pathlib import Path

import feedparser
from packaging.requirements import Requirement

ROOT = Path(__file__).parents[1]
USERS = [ROOT / "src/newsmirror/parse_fast.py", ROOT / "src/newsmirror/parse.py"]


def feedparser_range() -> str:
    """feedparser's version range in pyproject.toml: the versions the fast parser was tested with."""
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    [requirement] = [Requirement(d) for d in dependencies if Requirement(d).name == "feedparser"]
    return str(requirement.specifier)


def used_names(path: Path) -> list[tuple[str, str, list[str]]]:
    """(module, name, attributes read from it) for every `from feedparser... import name` in `path`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = {alias.asname or alias.name: (node.module, alias.name) for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("feedparser")
                for alias in node.names}
    attributes: dict[str, list[str]] = {local: [] for local in imported}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in imported:
            attributes[node.value.id].append(node.attr)
    return [(module, name, sorted(set(attributes[local]))) for local, (module, name) in imported.items()]


def test_the_installed_feedparser_is_within_the_feedparser_range():
    assert feedparser.__version__ in Requirement(f"feedparser{feedparser_range()}").specifier, (
        f"feedparser {feedparser.__version__} is outside {feedparser_range()}, the range newsmirror's fast parser was "
        "tested with (pyproject.toml): run the tests with it, then move the bound")


def test_every_private_name_the_parsers_use_is_still_there():
    names = [(path.name, *used) for path in USERS for used in used_names(path)]
    assert {name for _, _, name, _ in names} >= {"_FeedParserMixin", "_urljoin", "_cp1252", "_parse_date"}
    missing = []
    for user, module, name, attributes in names:
        found = getattr(importlib.import_module(module), name, None)
        if found is None:
            missing.append(f"{module}.{name} (used by {user})")
        missing += [f"{module}.{name}.{a} (used by {user})" for a in attributes if not hasattr(found, a)]
    handlers = {n for n in dir(importlib.import_module("feedparser.mixin")._FeedParserMixin) if n.startswith("_start_")}
    missing += [f"feedparser.mixin._FeedParserMixin.{h} (parse_fast's table of handled elements)"
                for h in ("_start_item", "_start_entry", "_start_title", "_start_link", "_start_guid") if h not in handlers]
    assert not missing, (f"feedparser {feedparser.__version__} lacks {', '.join(missing)}; newsmirror's fast parser "
                         f"was tested with feedparser{feedparser_range()} (pyproject.toml)")
