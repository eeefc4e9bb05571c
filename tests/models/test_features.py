from newsevents.models.features import MAX_WORD_CHARS, N_CASING_IDS, N_CHAR_IDS, casing_ids, char_ids, split_words


def _words(text):
    return [text[s:e] for s, e in split_words(text)]


def test_split_words_follows_conll_tokenisation():
    assert _words("The U.S. Dept. said Durov's firm didn't pay $3.5 million on 1996-08-22.") == [
        "The", "U.S.", "Dept", ".", "said", "Durov", "'s", "firm", "did", "n't", "pay", "$", "3.5",
        "million", "on", "1996-08-22", ".",
    ]


def test_split_words_keeps_names_with_apostrophes_and_hyphens_whole():
    assert _words("O'Brien met Jean-Pierre Lefèvre") == ["O'Brien", "met", "Jean-Pierre", "Lefèvre"]


def test_split_words_offsets_slice_the_input_exactly():
    text = "Zoë Müller\u200b — “quoted” São Paulo 🙂 עברית"
    for start, end in split_words(text):
        assert text[start:end].strip() == text[start:end] != ""


def test_casing_ids_distinguish_shapes_and_sentence_facts():
    ids = casing_ids(["EU", "rejects", "German", "call", "iPhone", "3", "a1", ","])
    assert all(0 <= i < N_CASING_IDS for i in ids)
    assert ids[2] != ids[3] != ids[4]  # Title, lower, mixed
    assert ids[0] != casing_ids(["x", "EU"])[1]  # sentence-initial differs
    headline = casing_ids(["EU", "REJECTS", "GERMAN", "CALL"])
    assert headline[2] != ids[2]


def test_char_ids_are_bounded_and_keep_head_and_tail():
    ids = char_ids("Internationalisation-Committee")
    assert len(ids) == MAX_WORD_CHARS
    assert ids[0] == char_ids("I")[0] and ids[-1] == char_ids("e")[0]
    assert all(0 < i < N_CHAR_IDS for i in char_ids("Łódź 東京 🙂"))
