"""Scheduled-runner templates (`newsmirror init --ci github`)."""

from __future__ import annotations

from importlib import resources

TEMPLATES = {"github": (".github/workflows/newsmirror.yml", "github.yml")}


def template(kind: str, install: str) -> tuple[str, str]:
    """(path inside the mirror, text) of the workflow for `kind`."""
    path, name = TEMPLATES[kind]
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    return path, text.replace("{install}", install)
