"""Decoding feeds and pages on their own evidence, never crashing on bad bytes.

Order of evidence: byte-order mark, then the HTTP `charset`, then the document's own
declaration (XML prolog, or `<meta charset>` anywhere in the head, even after the first 1024
bytes), then UTF-8 if it decodes cleanly, then GB18030 (the usual truth of an undeclared
Chinese page). GB2312/GBK are decoded as their superset GB18030 and Big5 as Big5-HKSCS, because
real documents labelled with the narrow names use characters only the wide ones have.
"""

from __future__ import annotations

import codecs
import re

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
# "<?" in a wide encoding without a byte-order mark (XML 1.0, appendix F): no label can be read
# before the encoding is known, so the first bytes decide.
_NO_BOM = ((b"\x3c\x00\x00\x00", "utf-32-le"), (b"\x00\x00\x00\x3c", "utf-32-be"),
           (b"\x3c\x00\x3f\x00", "utf-16-le"), (b"\x00\x3c\x00\x3f", "utf-16-be"))
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "cp936": "gb18030", "hz": "gb18030",
              "big5": "big5hkscs", "cp950": "big5hkscs", "ascii": "utf-8", "latin-1": "cp1252",
              "iso8859-1": "cp1252"}
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
# Within one tag: "[^>]" alone let every "<meta" of a head with no ">" be read to the end of it
# (64 KB of "<meta " took seconds).
_META = re.compile(rb"""<meta[^<>]+?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_HEAD_END = re.compile(rb"</head\s*>|<body[\s>]", re.IGNORECASE)


def normalize(label: str | None) -> str | None:
    """Python codec name for a charset label, widened to its superset; None if unknown."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None
    return _SUPERSETS.get(name, name)


def header_charset(content_type: str | None) -> str | None:
    m = re.search(r"charset\s*=\s*[\"']?([^\s;\"']+)", content_type or "", re.IGNORECASE)
    return m.group(1) if m else None


def detect(data: bytes, content_type: str | None = None, html: bool = False) -> tuple[str, int]:
    """(codec, bytes of BOM to skip) for a document."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name, len(bom)
    for prefix, name in _NO_BOM:
        if data.startswith(prefix):
            return name, 0
    declared: list[str | None] = [header_charset(content_type)]
    if m := _XML_DECL.match(data[:1024]):
        declared.append(m.group(1).decode("ascii"))
    if html:
        head = data[: (m.start() if (m := _HEAD_END.search(data, 0, 65536)) else 65536)]
        declared.extend(m.group(1).decode("ascii") for m in _META.finditer(head))
    for label in declared:
        if (codec := normalize(label)) and not codec.startswith("utf-16") and not codec.startswith("utf-32"):
            if codec == "utf-8" and not _is_utf8(data) and _is_gb(data):
                return "gb18030", 0  # a page labelled UTF-8 that is really GBK: seen on older CMSs
            return codec, 0
    return ("utf-8" if _is_utf8(data) else "gb18030"), 0


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(data) - 3  # cut off in the middle of the last character
    return True


def _is_gb(data: bytes) -> bool:
    try:
        data.decode("gb18030")
    except UnicodeDecodeError:
        return False
    return True


def decode(data: bytes, content_type: str | None = None, html: bool = False) -> str:
    """The document as text; undecodable bytes become U+FFFD."""
    name, skip = detect(data, content_type, html)
    return data[skip:].decode(name, errors="replace")
