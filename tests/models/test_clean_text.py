"""Offsets survive every kind of cleaning: the cleaned text maps back exactly."""

import unicodedata

import pytest
from newsevents.models.clean_text import clean_text, looks_like_html
from newsevents.models.sentences import make_chunks


def _roundtrip(original, is_html=False):
    c = clean_text(original, is_html)
    return c, [(c.text[i], original[slice(*c.to_original(i, i + 1))]) for i in range(len(c.text))]


def test_clean_text_is_identity_for_clean_text():
    c = clean_text("Plain text, nothing to do.\nSecond line.")
    assert c.starts is None and c.text == "Plain text, nothing to do.\nSecond line."


@pytest.mark.parametrize(
    "original, word",
    [
        ("Zoe\u0308 Mu\u0308ller visited.", "Zoë Müller"),  # NFD -> NFC
        ("Tele\u200bgram\u00ad blocked", "Telegram"),  # zero-width space, soft hyphen
        ("NUL\x00 inside\x07 Durov", "Durov"),
        ("\ufeffBOM then Paris", "Paris"),
        ("مرحبا \u202eKyiv\u202c said", "Kyiv"),  # bidi override marks
    ],
)
def test_control_and_format_characters_removed_offsets_kept(original, word):
    c = clean_text(original)
    assert unicodedata.is_normalized("NFC", c.text)
    at = c.text.index(word)
    start, end = c.to_original(at, at + len(word))
    assert unicodedata.normalize("NFC", original[start:end]).replace("\u200b", "").replace("\u00ad", "") == word


def test_html_to_text_with_entities_and_inline_tags():
    html = "<html><head><style>p{}</style><script>var a='<p>';</script></head><body><p>Pa<b>ris</b> &amp; Lyon&#8217;s mayor</p><p>Next</p></body></html>"
    assert looks_like_html(html)
    c = clean_text(html, is_html=True)
    assert "Paris & Lyon’s mayor" in c.text and "var a" not in c.text and "p{}" not in c.text
    at = c.text.index("Paris")
    assert html[slice(*c.to_original(at, at + 5))] == "Pa<b>ris"
    at = c.text.index("&")
    assert html[slice(*c.to_original(at, at + 1))] == "&amp;"


def test_prose_with_angle_brackets_is_not_html():
    assert not looks_like_html("If x < 3 and y > 2 then <b> is bold")


def test_chunk_offsets_point_into_the_original_on_tricky_text():
    original = "<p>Zoe\u0308 Mu\u0308ller\u200b met O&#39;Brien in São Paulo 🙂.</p><p>Then עברית and 東京.</p>"
    c = clean_text(original, is_html=True)
    chunks, n = make_chunks("d", original, c)
    assert n == 2
    words = [w for ch in chunks for w in ch.words]
    assert words[:4] == ["Zoë", "Müller", "met", "O'Brien"]
    for ch in chunks:
        assert ch.surface == original[ch.char_start : ch.char_end]
        for (s, e), w in zip(ch.word_spans, ch.words):
            assert 0 <= s < e <= len(original)
            assert unicodedata.normalize("NFC", original[s:e]).replace("\u200b", "").replace("&#39;", "'") == w


def test_very_long_sentence_is_cut_into_owned_overlapping_windows():
    original = " ".join(f"word{i}" for i in range(1000))  # no punctuation at all
    chunks, n = make_chunks("d", original, clean_text(original), max_words=100, overlap=20)
    assert n == 1 and len(chunks) == 13
    assert all(len(c.words) <= 100 for c in chunks)
    # Ownership tiles the sentence: every character belongs to exactly one chunk.
    assert chunks[0].own_start == 0 and chunks[-1].own_end == len(original)
    for a, b in zip(chunks, chunks[1:]):
        assert a.own_end == b.own_start and a.char_end > b.char_start
