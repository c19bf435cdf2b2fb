"""newsmirror: mirror and archive news feeds as Markdown, for readers behind censorship."""

import sys

__version__ = "0.1.0"

# httpx (fetch.py) imports its own command-line tool, `httpx._main` (click, rich's progress bars,
# pygments), whenever those happen to be installed: 0.1 s of every start of a newsmirror command,
# which never runs it. None in sys.modules makes that import fail, and httpx then does without.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
