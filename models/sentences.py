"""Sentences and model-sized chunks, with offsets into the original text.

Line structure decides headlines and paragraphs first, so a title line without a
full stop does not swallow the next sentence. Inside a block, sentence ends come
from blingfire (a compiled finite-state splitter that handles abbreviations such
as "U.S." and "Dr." and gives character offsets), and a quotation runs on until
its quote mark closes: the coding rules treat a quoted passage as one sentence.

Measured on the annotated sentences of the real-news train and dev splits (554
articles, 9,879 sentences; ``/work/notes/i18/sbd_gold.py`` in issue 18's note):
exact sentences P 0.973 R 0.967 in 0.3 ms an article, against pySBD's (the
splitter before issue 18) P 0.948 R 0.926 in 18 ms. blingfire's library is built
for x86-64 Linux, macOS and Windows; where it does not load, pySBD splits instead
(one warning), as before issue 18.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Callable

from newsevents.models.clean_text import CleanText
from newsevents.models.features import split_words
from newsevents.schemas.records import Chunk

__all__ = ["CHUNK_OVERLAP", "MAX_WORDS_PER_CHUNK", "make_chunks", "split_sentences"]

_LOG = logging.getLogger(__name__)

#: The chunking defaults (``--max-words-per-chunk``, ``--chunk-overlap``): the models were trained on them.
MAX_WORDS_PER_CHUNK = 120
CHUNK_OVERLAP = 24

_LINE = re.compile(r"[^\n]+")
# A line break inside a sentence (hard-wrapped text): previous line ends mid-clause
# and the next starts in lower case.
_WRAP_END = re.compile(r"[\w,;:\-–]\s*$")
_WRAP_START = re.compile(r"^\s*[a-z(]")
_OPENING_QUOTES = ('"', "“")
# '"We will appeal." the lawyer said.': a quotation's attribution goes on in lower case.
_CLOSING_QUOTES = ('"', "”", "'", "’")
# Titles before a name: blingfire cuts after one that opens a block ("Dr. | Amara Kesse said").
_TITLE_END = re.compile(r"(?:^|\s)(?:Dr|Mr|Mrs|Ms|Prof|Gen|Lt|Col|Maj|Capt|Sgt|Adm|Sen|Rep|Gov|Rev|St|Hon|Pres)\.$")


def _pysbd_spans(block: str) -> list[tuple[int, int]]:
    # pySBD returns sentence texts; find each in the block, in order (it may alter a text: then the rest is one).
    spans: list[tuple[int, int]] = []
    cursor = 0
    for seg in _pysbd().segment(block):
        piece = seg.strip()
        if not piece:
            continue
        at = block.find(piece, cursor)
        if at < 0:
            break
        spans.append((at, at + len(piece)))
        cursor = at + len(piece)
    return spans


@lru_cache(maxsize=1)
def _pysbd():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


@lru_cache(maxsize=1)
def _segmenter() -> tuple[Callable[[str], list[tuple[int, int]]], bool]:
    # (block -> sentence spans, whether quotations are joined after it): the quotation
    # rule was measured with blingfire; it makes pySBD's sentences no better.
    try:
        import blingfire
    except OSError as exc:  # its shared library is not built for this platform
        _LOG.warning("blingfire does not load here (%s); sentences are split with pySBD, about 20 times slower.",
                     exc)
        return _pysbd_spans, False
    return (lambda block: blingfire.text_to_sentences_and_offsets(block)[1] if block.strip() else []), True


def _quote_open(text: str) -> bool:
    return text.count('"') % 2 == 1 or text.count("“") > text.count("”")


def _rejoin(block: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge sentence spans while a quotation opened in them is still open, after a title ("Dr."),
    and where a closed quotation's attribution goes on in lower case.

    A piece that itself opens with a quote mark starts anew: in news copy a
    quotation often runs to the end of its paragraph without a closing mark.

    >>> b = 'He said: "We won. We will go on." Then he left.'
    >>> [b[s:e] for s, e in _rejoin(b, [(0, 17), (18, 33), (34, 47)])]
    ['He said: "We won. We will go on."', 'Then he left.']
    """
    out: list[tuple[int, int]] = []
    for start, end in spans:
        last = block[out[-1][0] : out[-1][1]] if out else ""
        piece = block[start:end]
        if out and (_TITLE_END.search(last) or _quote_open(last) and not piece.startswith(_OPENING_QUOTES)
                    or last.endswith(_CLOSING_QUOTES) and piece[:1].islower()):
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def _blocks(text: str) -> list[tuple[int, int]]:
    # Lines, re-joined where a line break is only a hard wrap.
    blocks: list[list[int]] = []
    for m in _LINE.finditer(text):
        if not m.group(0).strip():
            continue
        if blocks and text[m.start() - 2 : m.start()] != "\n\n":
            prev = text[blocks[-1][0] : blocks[-1][1]]
            if _WRAP_END.search(prev) and _WRAP_START.match(m.group(0)):
                blocks[-1][1] = m.end()
                continue
        blocks.append([m.start(), m.end()])
    return [(s, e) for s, e in blocks]


def _stripped(text: str, start: int, end: int) -> tuple[int, int] | None:
    piece = text[start:end]
    lead = len(piece) - len(piece.lstrip())
    core = piece.strip()
    return (start + lead, start + lead + len(core)) if core else None


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of ``text`` (stripped of surrounding whitespace), in order, never overlapping.

    >>> t = "Talks resume\\nThe U.S. and Dr. Lee met. They agreed."
    >>> [t[s:e] for s, e in split_sentences(t)]
    ['Talks resume', 'The U.S. and Dr. Lee met.', 'They agreed.']
    """
    spans: list[tuple[int, int]] = []
    for b_start, b_end in _blocks(text):
        block = text[b_start:b_end]
        cursor = 0
        pieces = []
        segment, rejoin = _segmenter()
        for _, end in segment(block):
            # From where the last sentence ended: a character the splitter skips is kept.
            span = _stripped(block, cursor, end)
            if span:
                pieces.append(span)
                cursor = span[1]
        tail = _stripped(block, cursor, len(block))  # whatever the splitter left out is a sentence too
        if tail:
            pieces.append(tail)
        if rejoin:
            pieces = _rejoin(block, pieces)
        spans += [(b_start + s, b_start + e) for s, e in pieces]
    return spans


def _words(sent: str, offset: int, clean: CleanText) -> tuple[list[tuple[int, int]], tuple[tuple[int, int], ...]]:
    # Words of a cleaned sentence and their original spans. A word that shares original characters
    # with the one before joins it, so no two words claim the same characters: cleaning maps a
    # cluster to its whole span, and the tokenizer splits off a mark NFC could not compose
    # (Yoruba "ẹ́" is "ẹ" + U+0301) or the pieces of an entity (issue #14).
    local: list[tuple[int, int]] = []
    spans: list[tuple[int, int]] = []
    for a, b in split_words(sent):
        o_start, o_end = clean.to_original(offset + a, offset + b)
        if spans and o_start < spans[-1][1]:
            local[-1] = (local[-1][0], b)
            spans[-1] = (spans[-1][0], max(spans[-1][1], o_end))
            continue
        local.append((a, b))
        spans.append((o_start, o_end))
    return local, tuple(spans)


def make_chunks(
    doc_id: str, original: str, clean: CleanText, max_words: int = MAX_WORDS_PER_CHUNK,
    overlap: int = CHUNK_OVERLAP,
) -> tuple[list[Chunk], int]:
    """Cut an article into model-sized chunks.

    Args:
        doc_id: the article id.
        original: the article text as given (offsets point into it).
        clean: ``clean_text(original)``.
        max_words: words per chunk; longer sentences become overlapping windows.
        overlap: words shared by consecutive windows (context at the cut).

    Returns:
        The chunks, and the number of sentences (a sentence with no words, e.g.
        a lone "*", still counts as a sentence but yields no chunk).
    """
    if overlap >= max_words:
        raise ValueError(f"overlap ({overlap}) must be smaller than max_words ({max_words}).")
    chunks: list[Chunk] = []
    sentences = split_sentences(clean.text)
    for s_index, (s_start, s_end) in enumerate(sentences):
        sent = clean.text[s_start:s_end]
        local, spans = _words(sent, s_start, clean)
        if not local:
            continue
        words = tuple(sent[a:b] for a, b in local)
        sent_o_start, sent_o_end = spans[0][0], spans[-1][1]
        stride = max_words - overlap
        starts = list(range(0, max(1, len(words) - overlap), stride)) if len(words) > max_words else [0]
        for c_index, w0 in enumerate(starts):
            w1 = min(len(words), w0 + max_words)
            # Each window owns its middle: from half the overlap after its start to
            # half the overlap before the next window's end.
            own_first = w0 + overlap // 2 if c_index > 0 else 0
            last = c_index == len(starts) - 1
            own_last = (starts[c_index + 1] + overlap // 2) if not last else len(words)
            own_start = spans[own_first][0] if c_index > 0 else sent_o_start
            own_end = spans[own_last][0] if not last else sent_o_end
            c_start, c_end = spans[w0][0], spans[w1 - 1][1]
            chunks.append(
                Chunk(
                    doc_id=doc_id,
                    sentence_index=s_index,
                    chunk_index=c_index,
                    char_start=c_start,
                    char_end=c_end,
                    words=words[w0:w1],
                    word_spans=spans[w0:w1],
                    own_start=own_start,
                    own_end=own_end,
                    surface=original[c_start:c_end],
                )
            )
            if w1 == len(words):
                break
    return chunks, len(sentences)
