"""Text normalisation that never loses track of the original offsets.

The models see cleaned text (HTML reduced to its text, NFC, control and
zero-width characters removed), but every offset the pipeline writes must point
into the article's *original* ``text`` (issue #2, "Preparing"). ``clean_text``
therefore returns, beside the cleaned string, the original span each cleaned
character came from.
"""

from __future__ import annotations

import html
import re
import unicodedata
from array import array
from dataclasses import dataclass

__all__ = ["CleanText", "clean_text", "looks_like_html"]

_HTML_HINT = re.compile(
    r"<(?:html|body|p|div|br|span|a|h[1-6]|article|section|ul|ol|li|table|tr|td|b|i|em|strong|script|style)\b[^>]{0,500}>",
    re.IGNORECASE,
)
_HTML_TOKEN = re.compile(
    r"<!--.*?(?:-->|\Z)|<(script|style)\b.*?(?:</\1\s*>|\Z)|<[A-Za-z/!?][^<>]{0,2000}>|&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});",
    re.DOTALL | re.IGNORECASE,
)
_BLOCK_TAG = re.compile(
    r"</?(?:p|div|br|h[1-6]|li|ul|ol|tr|table|article|section|header|footer|blockquote|title|hr|pre|figcaption)\b",
    re.IGNORECASE,
)
_KEEP_CONTROL = {"\n": "\n", "\t": " ", "\r": "\n", "\u2028": "\n", "\u2029": "\n", "\x0b": "\n", "\x0c": "\n"}


def looks_like_html(text: str) -> bool:
    """Whether ``text`` is HTML markup rather than prose (at least two known tags)."""
    hits = 0
    for _ in _HTML_HINT.finditer(text):
        hits += 1
        if hits >= 2:
            return True
    return False


@dataclass(frozen=True)
class CleanText:
    """Cleaned text and, per cleaned character, its span in the original.

    ``starts``/``ends`` are ``None`` when cleaning changed nothing (the common
    case), which keeps memory flat for long clean articles.
    """

    text: str
    starts: array | None
    ends: array | None

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a non-empty cleaned span ``[start, end)`` to the original text."""
        if self.starts is None or self.ends is None:
            return start, end
        return self.starts[start], self.ends[end - 1]


def _html_units(text: str):
    # Yields (replacement, orig_start, orig_end); plain text passes through.
    pos = 0
    for m in _HTML_TOKEN.finditer(text):
        if m.start() > pos:
            yield text[pos : m.start()], pos, None
        tok = m.group(0)
        if tok.startswith("&"):
            yield html.unescape(tok), m.start(), m.end()
        elif _BLOCK_TAG.match(tok):
            yield "\n", m.start(), m.end()
        elif m.group(1):  # script/style bodies are not text
            yield "\n", m.start(), m.end()
        # inline tags (<a>, <b>, ...) vanish so "Pa<b>ris</b>" stays one word
        pos = m.end()
    if pos < len(text):
        yield text[pos:], pos, None


def _needs_cleaning(text: str, is_html: bool) -> bool:
    if is_html or not unicodedata.is_normalized("NFC", text):
        return True
    return any(unicodedata.category(c)[0] == "C" and c != "\n" for c in text)


def clean_text(text: str, is_html: bool = False) -> CleanText:
    """Normalise ``text`` for the models, keeping a map back to the original.

    Steps: HTML to text (tags dropped, block tags become line breaks, entities
    decoded), Unicode NFC, control/format characters (NUL, zero-width, bidi
    marks, BOM, lone surrogates) removed, tabs and odd line breaks made plain.

    >>> c = clean_text("<p>Caf\\u0065\\u0301 &amp; Co</p>", is_html=True)
    >>> c.text
    '\\nCafé & Co\\n'
    >>> c.to_original(1, 5)
    (3, 8)
    """
    if not _needs_cleaning(text, is_html):
        return CleanText(text, None, None)
    out: list[str] = []
    starts = array("q")
    ends = array("q")
    units = _html_units(text) if is_html else [(text, 0, None)]
    for piece, p_start, p_end in units:
        if p_end is not None:  # an entity or tag: one replacement for the whole span
            for ch in unicodedata.normalize("NFC", piece):
                out.append(ch)
                starts.append(p_start)
                ends.append(p_end)
            continue
        i, n = 0, len(piece)
        while i < n:
            # A cluster is a starter and its combining marks: NFC never crosses clusters.
            # A control or space composes with nothing: a mark after it is its own cluster, else
            # "\x1b\u0300" kept the ESC and gave two words one original span (issue #14).
            j = i + 1
            starter = piece[i]
            if not (starter.isspace() or unicodedata.category(starter)[0] == "C"):
                while j < n and unicodedata.combining(piece[j]):
                    j += 1
            cluster = piece[i:j]
            o_start, o_end = p_start + i, p_start + j
            if len(cluster) == 1:
                ch = cluster
                if ch in _KEEP_CONTROL:
                    ch = _KEEP_CONTROL[ch]
                elif unicodedata.category(ch)[0] == "C" and unicodedata.category(ch) != "Co":
                    ch = ""  # NUL, zero-width, BOM, bidi marks, lone surrogates
                normalized = ch
            else:
                normalized = unicodedata.normalize("NFC", cluster)
            for ch in normalized:
                out.append(ch)
                starts.append(o_start)
                ends.append(o_end)
            i = j
    return CleanText("".join(out), starts, ends)
