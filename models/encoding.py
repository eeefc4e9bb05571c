"""Turn batches of words into model inputs (pre-processing for both models).

Shared by the trainers, the evaluator and the Beam handlers, so a model always
sees its inputs built the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from newsevents.models.features import MAX_WORD_CHARS, casing_ids, char_ids

__all__ = ["EncodedBatch", "encode_words"]


@dataclass
class EncodedBatch:
    """Tensors for one forward pass and the token -> word map of each row."""

    tensors: dict[str, torch.Tensor]
    word_ids: list[list[int | None]]


def encode_words(
    tokenizer,
    batch: Sequence[Sequence[str]],
    max_length: int,
    with_word_features: bool,
    labels: Sequence[Sequence[int]] | None = None,
    label_names: Sequence[str] | None = None,
    prompts: Sequence[Sequence[str]] | None = None,
) -> EncodedBatch:
    """Tokenise pre-split words; add casing/char features and labels when asked.

    Args:
        tokenizer: a fast Hugging Face tokenizer.
        batch: one list of words per row.
        max_length: sub-word limit per row (longer rows are truncated; callers
            chunk sentences beforehand so this is a safety net).
        with_word_features: add ``char_ids``/``casing_ids`` (models of type
            ``newsevents_cased_bert``).
        labels: per-word label ids, for training.
        label_names: the label list, to turn a word's ``B-X`` into ``I-X`` on its
            continuation sub-words.
        prompts: optional first segment per row (``[CLS] prompt [SEP] words [SEP]``);
            its tokens get word id ``None`` so only ``batch`` words are decoded.
    """
    if prompts is None:
        enc = tokenizer([list(w) for w in batch], is_split_into_words=True, truncation=True,
                        max_length=max_length, padding=True, return_tensors="pt")
    else:
        enc = tokenizer([list(p) for p in prompts], [list(w) for w in batch], is_split_into_words=True,
                        truncation="only_second", max_length=max_length, padding=True, return_tensors="pt")
    word_ids, prompt_ids = [], []
    for i in range(len(batch)):
        wids = enc.word_ids(i)
        if prompts is None:
            word_ids.append(wids)
            prompt_ids.append([None] * len(wids))
        else:
            seq = enc.sequence_ids(i)
            word_ids.append([w if s == 1 else None for w, s in zip(wids, seq)])
            prompt_ids.append([w if s == 0 else None for w, s in zip(wids, seq)])
    tensors = {k: v for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
    n_tok = tensors["input_ids"].shape[1]
    if with_word_features:
        tensors["char_ids"], tensors["casing_ids"] = _word_features(batch, word_ids, prompts, prompt_ids, n_tok)
    if labels is not None:
        assert label_names is not None
        index = {name: i for i, name in enumerate(label_names)}
        lab = np.full((len(batch), n_tok), -100, dtype=np.int64)
        for row, wids in enumerate(word_ids):
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
        tensors["labels"] = torch.from_numpy(lab)
    return EncodedBatch(tensors, word_ids)


def _word_features(batch, word_ids, prompts, prompt_ids, n_tok: int) -> tuple[torch.Tensor, torch.Tensor]:
    # Per row, build one table of per-word features and gather it by the token ->
    # word map in numpy: no Python loop over tokens (the hot path of pre-processing).
    chars = np.zeros((len(batch), n_tok, MAX_WORD_CHARS), dtype=np.int64)
    casing = np.zeros((len(batch), n_tok), dtype=np.int64)
    for row, words in enumerate(batch):
        segments = [(words, word_ids[row])]
        if prompts is not None:
            segments.append((prompts[row], prompt_ids[row]))
        for seg_words, wids in segments:
            tokens = np.fromiter((t for t, w in enumerate(wids) if w is not None), dtype=np.int64)
            if not len(tokens):
                continue
            which = np.fromiter((w for w in wids if w is not None), dtype=np.int64)
            table = np.zeros((len(seg_words), MAX_WORD_CHARS), dtype=np.int64)
            for i, w in enumerate(seg_words):
                ids = char_ids(w)
                table[i, : len(ids)] = ids
            chars[row, tokens] = table[which]
            casing[row, tokens] = np.asarray(casing_ids(seg_words), dtype=np.int64)[which]
    return torch.from_numpy(chars), torch.from_numpy(casing)
