"""Word splitting and casing/character features shared by training and inference.

The default encoder (MiniLM-L6, uncased) lower-cases its input, which throws away
the strongest single cue for English NER. The project's NER model therefore sees
every word's original characters and a casing class beside the uncased sub-words
(issue #2, "consider casing features"). Everything here is pure Python so that the
same function serves the trainer, the Beam stage and the tests.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Sequence

__all__ = [
    "MAX_WORD_CHARS",
    "N_CASING_IDS",
    "N_CHAR_IDS",
    "casing_ids",
    "char_ids",
    "split_words",
]

#: Characters kept per word for the character CNN (head and tail of longer words).
MAX_WORD_CHARS = 20

# Word shapes. Ids are part of the trained model: never renumber, only append.
_PAD, _LOWER, _TITLE, _UPPER, _SINGLE_UPPER, _MIXED, _NUMERIC, _ALNUM, _PUNCT, _OTHER = range(10)
_N_SHAPES = 10
#: Size of the casing embedding table: shape x sentence-initial x all-caps sentence.
N_CASING_IDS = _N_SHAPES * 4

# Character ids: 0 pad, 1..95 printable ASCII, then one bucket per Unicode class.
_ASCII_LO, _ASCII_HI = 32, 126
_BUCKETS = {"Lu": 96, "Ll": 97, "L": 98, "N": 99, "P": 100, "S": 101}
_OTHER_CHAR = 102
#: Size of the character embedding table.
N_CHAR_IDS = 103

# Word tokenisation in the style of CoNLL-2003 (Penn Treebank-like): the model was
# trained on those tokens, so inference must cut raw text the same way. Acronyms
# with dots ("U.S.") stay whole, clitics ("'s", "n't") split off, hyphenated and
# dotted compounds ("Jean-Pierre", "1996-08-22", "3.5") stay whole.
_WORD_RE = re.compile(
    r"""
    (?:[^\W\d_]\.){2,}                     # U.S.  e.g.
  | \w+?(?=n[’']t\b)                      # do|n't
  | n[’']t\b
  | [’'](?:s|re|ve|ll|d|m)\b               # 's 're ...
  | \w+(?:[-–./&@]\w+|[’'](?!(?:s|re|ve|ll|d|m)\b)\w+)*   # words, O'Brien, 1996-08-22
  | \S                                     # any other single character
    """,
    re.VERBOSE | re.IGNORECASE,
)


def split_words(text: str) -> list[tuple[int, int]]:
    """Cut ``text`` into CoNLL-style words.

    Args:
        text: any string.

    Returns:
        ``(start, end)`` character offsets into ``text``, in order, never empty.

    >>> t = "Durov's firm, in the U.S., didn't."
    >>> [t[s:e] for s, e in split_words(t)]
    ['Durov', "'s", 'firm', ',', 'in', 'the', 'U.S.', ',', 'did', "n't", '.']
    """
    return [(m.start(), m.end()) for m in _WORD_RE.finditer(text) if m.end() > m.start()]


def _shape(word: str) -> int:
    if not word:
        return _PAD
    letters = [c for c in word if c.isalpha()]
    if not letters:
        if any(c.isdigit() for c in word):
            return _NUMERIC
        return _PUNCT if all(unicodedata.category(c).startswith("P") for c in word) else _OTHER
    if any(c.isdigit() for c in word):
        return _ALNUM
    if all(c.islower() for c in letters):
        return _LOWER
    if all(c.isupper() for c in letters):
        return _SINGLE_UPPER if len(letters) == 1 else _UPPER
    if letters[0].isupper() and all(c.islower() for c in letters[1:]):
        return _TITLE
    return _MIXED


def _is_caps_sentence(words: Sequence[str]) -> bool:
    # Headlines in CoNLL (and wire copy) are often ALL CAPS, where casing says
    # nothing about names; the model needs to know when that is the case.
    alpha = [w for w in words if any(c.isalpha() for c in w)]
    if len(alpha) < 3:
        return False
    upper = sum(1 for w in alpha if all(c.isupper() for c in w if c.isalpha()))
    return upper / len(alpha) >= 0.6


def casing_ids(words: Sequence[str]) -> list[int]:
    """Casing class of each word, in ``range(N_CASING_IDS)``.

    Combines the word's shape with two sentence facts: whether it opens the
    sentence (a capital there is grammar, not a name) and whether the whole
    sentence is upper case.
    """
    caps = 2 if _is_caps_sentence(words) else 0
    return [_shape(w) + _N_SHAPES * (caps + (1 if i == 0 else 0)) for i, w in enumerate(words)]


def _char_id(c: str) -> int:
    o = ord(c)
    if _ASCII_LO <= o <= _ASCII_HI:
        return o - _ASCII_LO + 1
    cat = unicodedata.category(c)
    return _BUCKETS.get(cat, _BUCKETS.get(cat[0], _OTHER_CHAR))


@functools.lru_cache(maxsize=65536)  # news reuses its words; this runs for every word of every row
def char_ids(word: str) -> tuple[int, ...]:
    """Character ids of ``word``, at most ``MAX_WORD_CHARS`` (head and tail kept)."""
    if len(word) > MAX_WORD_CHARS:
        half = MAX_WORD_CHARS // 2
        word = word[:half] + word[-half:]
    return tuple(_char_id(c) for c in word)
