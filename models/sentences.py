"""Sentences and model-sized chunks, with offsets into the original text.

Sentence boundaries come from pySBD (rule-based "Golden Rules" segmenter that
handles abbreviations such as "U.S." and "Dr."); line structure decides
headlines and paragraphs first, so a title line without a full stop does not
swallow the next sentence.
"""

from __future__ import annotations

import re
from functools import lru_cache

from newsevents.models.clean_text import CleanText
from newsevents.models.features import split_words
from newsevents.schemas.records import Chunk

__all__ = ["CHUNK_OVERLAP", "MAX_WORDS_PER_CHUNK", "make_chunks", "split_sentences"]

#: The chunking defaults (``--max-words-per-chunk``, ``--chunk-overlap``): the models were trained on them.
MAX_WORDS_PER_CHUNK = 120
CHUNK_OVERLAP = 24

_LINE = re.compile(r"[^\n]+")
# A line break inside a sentence (hard-wrapped text): previous line ends mid-clause
# and the next starts in lower case.
_WRAP_END = re.compile(r"[\w,;:\-–]\s*$")
_WRAP_START = re.compile(r"^\s*[a-z(]")


@lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


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


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of ``text`` (stripped of surrounding whitespace).

    >>> t = "Talks resume\\nThe U.S. and Dr. Lee met. They agreed."
    >>> [t[s:e] for s, e in split_sentences(t)]
    ['Talks resume', 'The U.S. and Dr. Lee met.', 'They agreed.']
    """
    spans: list[tuple[int, int]] = []
    for b_start, b_end in _blocks(text):
        block = text[b_start:b_end]
        cursor = 0
        for seg in _segmenter().segment(block):
            piece = seg.strip()
            if not piece:
                continue
            at = block.find(piece, cursor)
            if at < 0:  # pySBD altered the text: fall back to the rest of the block
                rest = block[cursor:].strip()
                if rest:
                    at = block.index(rest, cursor)
                    spans.append((b_start + at, b_start + at + len(rest)))
                cursor = len(block)
                break
            spans.append((b_start + at, b_start + at + len(piece)))
            cursor = at + len(piece)
        tail = block[cursor:].strip()
        if tail:
            at = block.index(tail, cursor)
            spans.append((b_start + at, b_start + at + len(tail)))
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
