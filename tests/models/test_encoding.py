"""Pre-processing: each row tokenised once, padded as the tokenizer pads, shared between passes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from newsevents.models import encoding
from newsevents.models.batching import row_probabilities
from newsevents.models.encoding import encode_words, pad_rows, tokenize_rows
from newsevents.models.features import casing_ids, char_ids
from newsevents.models.registry import DEFAULT_EVENTS, DEFAULT_NER, resolve
from transformers import AutoTokenizer

WORDS = "The U.S. army attacked rebels in Kyiv on Monday , said Dr. Lee . Ẹ́kọ́ naïve 1996-08-22 do n't".split()


@pytest.fixture(scope="module")
def tok():
    return AutoTokenizer.from_pretrained(resolve(DEFAULT_NER)[0])


@pytest.fixture(autouse=True)
def _fresh_cache():
    encoding._SHARED.clear()
    yield
    encoding._SHARED.clear()


class _Counting:
    """The real tokenizer, counting the calls that tokenise (a spy, not a fake)."""

    def __init__(self, tokenizer):
        self._tok, self.calls, self.rows = tokenizer, 0, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        self.rows += len(args[0])
        return self._tok(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._tok, name)


def _reference(tok, batch, prompts, max_length=256):
    # What the tokenizer's own padding builds (the pre-issue-18 code path).
    if prompts is None:
        return tok([list(w) for w in batch], is_split_into_words=True, truncation=True, max_length=max_length,
                   padding=True, return_tensors="pt")
    return tok([list(p) for p in prompts], [list(w) for w in batch], is_split_into_words=True,
               truncation="only_second", max_length=max_length, padding=True, return_tensors="pt")


rows_st = st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=60), min_size=1, max_size=5)


@given(batch=rows_st, prompted=st.booleans(), max_length=st.sampled_from([12, 256]))
def test_padded_tensors_and_word_ids_are_the_tokenizers_own(tok, batch, prompted, max_length):
    prompts = [["attack", "by"]] * len(batch) if prompted else None
    ref = _reference(tok, batch, prompts, max_length)
    enc = encode_words(tok, batch, max_length, False, prompts=prompts)
    assert set(enc.tensors) == {"input_ids", "attention_mask", "token_type_ids"}
    for k in enc.tensors:
        assert torch.equal(enc.tensors[k], ref[k]), k
    for i in range(len(batch)):
        seq = ref.sequence_ids(i)
        want = ref.word_ids(i) if prompts is None else [w if s == 1 else None for w, s in zip(ref.word_ids(i), seq)]
        assert enc.word_ids[i] == want


def test_word_features_follow_each_token_to_its_word(tok):
    batch = [["Kyiv", "attacked", "U.S."], ["do", "n't"]]
    prompts = [["ASSAULT"], ["AID", "x"]]
    enc = encode_words(tok, batch, 256, True, prompts=prompts)
    chars, casing = enc.tensors["char_ids"].numpy(), enc.tensors["casing_ids"].numpy()
    ref = _reference(tok, batch, prompts)
    for row in range(2):
        for t, (w, s) in enumerate(zip(ref.word_ids(row), ref.sequence_ids(row))):
            words = (prompts if s == 0 else batch)[row] if s is not None else None
            if words is None:
                assert not chars[row, t].any() and casing[row, t] == 0
                continue
            ids = char_ids(words[w])
            assert list(chars[row, t, : len(ids)]) == list(ids) and not chars[row, t, len(ids):].any()
            assert casing[row, t] == casing_ids(words)[w]


def test_a_sentence_is_tokenised_once_for_both_passes(tok):
    # The NER pass then the event-type pass over the same sentences: the second tokenises nothing.
    spy = _Counting(tok)
    loaded = type("Loaded", (), {"tokenizer": spy, "model": None, "device": "cpu", "precision": "fp32"})()
    rows = [WORDS[:5], WORDS[3:12], WORDS[:5]]
    seen = []

    def forward(model, tensors, device, precision):
        seen.append(tensors["input_ids"].clone())
        return tensors["input_ids"].numpy()

    import newsevents.models.base as base
    real = base.model_outputs
    base.model_outputs = forward
    try:
        first, wids1 = row_probabilities(loaded, rows, 256, 16, 4096, True, lambda x: x)
        second, wids2 = row_probabilities(loaded, rows, 256, 16, 4096, False, lambda x: x)
    finally:
        base.model_outputs = real
    assert spy.calls == 1 and spy.rows == 3  # one call, every row once (the repeated row too, in that call)
    assert [list(p) for p in first] == [list(p) for p in second] and wids1 == wids2
    # A prompted pass (roles) is its own input: tokenised, not looked up.
    tokenize_rows(spy, rows, 256, prompts=[["AID"]] * 3, share=True)
    assert spy.calls == 2


def test_another_vocabulary_does_not_share_encodings(tok):
    other = AutoTokenizer.from_pretrained(resolve(DEFAULT_NER)[0])
    other.add_tokens(["zqxjvk"])
    a = tokenize_rows(tok, [["zqxjvk", "fell"]], 256, share=True)[0]
    b = tokenize_rows(other, [["zqxjvk", "fell"]], 256, share=True)[0]
    assert list(a.input_ids) != list(b.input_ids)
    # The shipped event model's tokenizer differs from the NER model's only in saved truncation state.
    events_tok = AutoTokenizer.from_pretrained(resolve(DEFAULT_EVENTS)[0])
    assert encoding._fingerprint(events_tok) == encoding._fingerprint(tok)
    # The length limit is part of the key.
    short = tokenize_rows(tok, [WORDS], 8, share=True)[0]
    assert len(short) == 8 and len(tokenize_rows(tok, [WORDS], 256, share=True)[0]) > 8


def test_the_shared_cache_is_bounded(tok, monkeypatch):
    monkeypatch.setattr(encoding._SHARED, "size", 3)
    for i in range(5):
        tokenize_rows(tok, [[WORDS[i]]], 256, share=True)
    assert len(encoding._SHARED._rows) == 3
    spy = _Counting(tok)
    tokenize_rows(spy, [[WORDS[4]], [WORDS[0]]], 256, share=True)  # the newest is kept, the oldest evicted
    assert spy.rows == 1


def test_left_padding_is_honoured(tok):
    left = AutoTokenizer.from_pretrained(resolve(DEFAULT_NER)[0], padding_side="left")
    batch = [["Kyiv"], WORDS[:6]]
    ref = left([list(w) for w in batch], is_split_into_words=True, padding=True, return_tensors="pt")
    enc = pad_rows(left, tokenize_rows(left, batch, 256), batch, False)
    for k in ("input_ids", "attention_mask", "token_type_ids"):
        assert torch.equal(enc.tensors[k], ref[k])
    assert enc.word_ids[0] == ref.word_ids(0)
    assert np.array_equal(enc.tensors["attention_mask"][0].numpy()[: -3], np.zeros(len(ref.word_ids(0)) - 3))
