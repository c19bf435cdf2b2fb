"""newsmirror: mirror and archive news feeds as Markdown, for readers behind censorship."""

__version__ = "0.1.0"
