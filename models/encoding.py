"""Turn batches of words into model inputs (pre-processing for both models).

Shared by the trainers, the evaluator and the Beam handlers, so a model always
sees its inputs built the same way. Two steps, so that nothing is done twice:

1. :func:`tokenize_rows` tokenises each row once, unpadded (one fast-tokenizer
   call). The length sorting of ``models.batching`` reads these lengths, and a
   sentence's encoding is kept in a small per-process cache: the NER pass and
   the event-type pass read the same words with the same tokenizer (issue 18),
   so the second pass finds them there;
2. :func:`pad_rows` pads the rows of one forward pass into tensors and adds the
   word features, gathered from one per-sentence table (cached too: the role
   pass asks for the same sentence once per event type).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np
import torch
from newsevents.models.features import MAX_WORD_CHARS, casing_ids, char_ids

__all__ = ["EncodedBatch", "RowEncoding", "encode_words", "pad_rows", "tokenize_rows"]

#: Sentences whose encodings one process keeps. A RunInference window is 1,024
#: rows and the event stage reads the NER stage's window next, so twice that is
#: enough for every sentence to be found; each entry is a few hundred bytes.
SHARED_ROWS = 4096


@dataclass
class EncodedBatch:
    """Tensors for one forward pass and the token -> word map of each row."""

    tensors: dict[str, torch.Tensor]
    word_ids: list[list[int | None]]


@dataclass(frozen=True)
class RowEncoding:
    """One row tokenised, unpadded: ``[CLS] words [SEP]`` or ``[CLS] prompt [SEP] words [SEP]``.

    ``word_ids`` maps each token to its word of the row (``None`` for special and
    prompt tokens); ``prompt_word_ids`` maps the prompt's tokens to prompt words.
    """

    input_ids: np.ndarray
    token_type_ids: np.ndarray
    word_ids: tuple[int | None, ...]
    prompt_word_ids: tuple[int | None, ...]

    def __len__(self) -> int:
        return len(self.input_ids)


class _SharedRows:
    """A bounded, thread-safe LRU of unprompted row encodings, keyed by tokenizer, length limit and words."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._rows: OrderedDict[tuple, RowEncoding] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> RowEncoding | None:
        with self._lock:
            row = self._rows.get(key)
            if row is not None:
                self._rows.move_to_end(key)
            return row

    def put(self, key: tuple, row: RowEncoding) -> None:
        with self._lock:
            self._rows[key] = row
            self._rows.move_to_end(key)
            while len(self._rows) > self.size:
                self._rows.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()


_SHARED = _SharedRows(SHARED_ROWS)


def _fingerprint(tokenizer) -> str:
    # Two tokenizers encode alike when their vocabulary, normaliser, pre-tokeniser and
    # templates agree: the shipped NER and event models' do (they differ only in the
    # truncation state saved with them, which each call sets anew).
    fp = getattr(tokenizer, "_newsevents_fingerprint", None)
    if fp is None:
        state = json.loads(tokenizer.backend_tokenizer.to_str())
        state.pop("truncation", None)
        state.pop("padding", None)
        fp = hashlib.sha1(json.dumps(state, sort_keys=True).encode()).hexdigest()
        tokenizer._newsevents_fingerprint = fp
    return fp


def _tokenize(tokenizer, batch: Sequence[Sequence[str]], max_length: int,
              prompts: Sequence[Sequence[str]] | None) -> list[RowEncoding]:
    if prompts is None:
        enc = tokenizer([list(w) for w in batch], is_split_into_words=True, truncation=True, max_length=max_length)
    else:
        enc = tokenizer([list(p) for p in prompts], [list(w) for w in batch], is_split_into_words=True,
                        truncation="only_second", max_length=max_length)
    rows = []
    for e in enc.encodings:
        wids = e.word_ids
        if prompts is None:
            words, prompt = tuple(wids), (None,) * len(wids)
        else:
            seq = e.sequence_ids
            words = tuple(w if s == 1 else None for w, s in zip(wids, seq))
            prompt = tuple(w if s == 0 else None for w, s in zip(wids, seq))
        rows.append(RowEncoding(np.asarray(e.ids, dtype=np.int64), np.asarray(e.type_ids, dtype=np.int64),
                                words, prompt))
    return rows


def tokenize_rows(tokenizer, batch: Sequence[Sequence[str]], max_length: int,
                  prompts: Sequence[Sequence[str]] | None = None, share: bool = False) -> list[RowEncoding]:
    """Tokenise pre-split words, one row per word list, unpadded, in one tokenizer call.

    Args:
        tokenizer: a fast Hugging Face tokenizer.
        batch: one list of words per row.
        max_length: sub-word limit per row (longer rows are truncated; callers
            chunk sentences beforehand so this is a safety net).
        prompts: optional first segment per row (``[CLS] prompt [SEP] words [SEP]``);
            its tokens get word id ``None`` so only ``batch`` words are decoded.
        share: look unprompted rows up in, and add them to, the per-process
            cache of sentence encodings (the passes of the Beam handlers).
    """
    if not batch:
        return []
    if not share or prompts is not None:
        return _tokenize(tokenizer, batch, max_length, prompts)
    fp = _fingerprint(tokenizer)
    keys = [(fp, max_length, tuple(words)) for words in batch]
    rows: list[RowEncoding | None] = [_SHARED.get(k) for k in keys]
    missing = [i for i, r in enumerate(rows) if r is None]
    if missing:
        for i, row in zip(missing, _tokenize(tokenizer, [batch[i] for i in missing], max_length, None)):
            rows[i] = row
            _SHARED.put(keys[i], row)
    return rows  # type: ignore[return-value]


@lru_cache(maxsize=SHARED_ROWS)
def _word_table(words: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    # Per-word character ids and casing class of one row's words (read-only: it is shared). As many
    # sentences as the encodings' cache, in int16 (ids < N_CHAR_IDS, N_CASING_IDS): a quarter of int64's
    # memory; the gather into the pass's int64 tensors widens them.
    chars = np.zeros((len(words), MAX_WORD_CHARS), dtype=np.int16)
    for i, w in enumerate(words):
        ids = char_ids(w)
        chars[i, : len(ids)] = ids
    casing = np.asarray(casing_ids(words), dtype=np.int16)
    chars.setflags(write=False)
    casing.setflags(write=False)
    return chars, casing


def _gather(words: Sequence[str], wids: Sequence[int | None], chars: np.ndarray, casing: np.ndarray,
            row: int, offset: int) -> None:
    # Each token takes its word's features; one numpy gather per row, no loop over tokens' features.
    tokens = np.fromiter((t for t, w in enumerate(wids) if w is not None), dtype=np.int64)
    if not len(tokens):
        return
    which = np.fromiter((w for w in wids if w is not None), dtype=np.int64)
    table_chars, table_casing = _word_table(tuple(words))
    chars[row, offset + tokens] = table_chars[which]
    casing[row, offset + tokens] = table_casing[which]


def pad_rows(tokenizer, rows: Sequence[RowEncoding], batch: Sequence[Sequence[str]], with_word_features: bool,
             prompts: Sequence[Sequence[str]] | None = None) -> EncodedBatch:
    """Pad the rows of one forward pass into tensors, as the tokenizer's own padding would.

    ``batch`` (and ``prompts``) are the rows' words, for the word features
    (``char_ids``/``casing_ids``, models of type ``newsevents_cased_bert``).
    """
    n_tok = max(len(r) for r in rows)
    n = len(rows)
    ids = np.full((n, n_tok), tokenizer.pad_token_id or 0, dtype=np.int64)
    types = np.full((n, n_tok), tokenizer.pad_token_type_id, dtype=np.int64)
    mask = np.zeros((n, n_tok), dtype=np.int64)
    left = tokenizer.padding_side == "left"
    word_ids: list[list[int | None]] = []
    chars = np.zeros((n, n_tok, MAX_WORD_CHARS), dtype=np.int64) if with_word_features else None
    casing = np.zeros((n, n_tok), dtype=np.int64) if with_word_features else None
    for b, r in enumerate(rows):
        k = len(r)
        at = n_tok - k if left else 0
        ids[b, at : at + k] = r.input_ids
        types[b, at : at + k] = r.token_type_ids
        mask[b, at : at + k] = 1
        pad = [None] * (n_tok - k)
        word_ids.append(pad + list(r.word_ids) if left else list(r.word_ids) + pad)
        if chars is not None:
            _gather(batch[b], r.word_ids, chars, casing, b, at)
            if prompts is not None:
                _gather(prompts[b], r.prompt_word_ids, chars, casing, b, at)
    made = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    tensors = {k: torch.from_numpy(made[k]) for k in made if k in tokenizer.model_input_names}
    if chars is not None:
        tensors["char_ids"], tensors["casing_ids"] = torch.from_numpy(chars), torch.from_numpy(casing)
    return EncodedBatch(tensors, word_ids)


def encode_words(
    tokenizer,
    batch: Sequence[Sequence[str]],
    max_length: int,
    with_word_features: bool,
    labels: Sequence[Sequence[int]] | None = None,
    label_names: Sequence[str] | None = None,
    prompts: Sequence[Sequence[str]] | None = None,
) -> EncodedBatch:
    """Tokenise pre-split words and pad them into one pass; add casing/char features and labels when asked.

    :func:`tokenize_rows` then :func:`pad_rows`. ``labels`` are per-word label ids,
    for training; ``label_names`` the label list, to turn a word's ``B-X`` into
    ``I-X`` on its continuation sub-words.
    """
    enc = pad_rows(tokenizer, tokenize_rows(tokenizer, batch, max_length, prompts), batch, with_word_features,
                   prompts)
    if labels is not None:
        assert label_names is not None
        index = {name: i for i, name in enumerate(label_names)}
        n_tok = enc.tensors["input_ids"].shape[1]
        lab = np.full((len(batch), n_tok), -100, dtype=np.int64)
        for row, wids in enumerate(enc.word_ids):
            prev = None
            for t, w in enumerate(wids):
                if w is None:
                    continue
                wl = labels[row][w]
                if w == prev:  # continuation sub-word: B-X -> I-X
                    name = label_names[wl]
                    wl = index["I-" + name[2:]] if name.startswith("B-") else wl
                lab[row, t] = wl
                prev = w
        enc.tensors["labels"] = torch.from_numpy(lab)
    return enc
