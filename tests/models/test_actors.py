"""Actor normalisation: canonical names within an article, countries from names and demonyms."""

import pytest
from newsevents.models.actors import actor_country, canonical_actor

PEOPLE = ["Pavel Durov", "Durov", "Emmanuel Macron", "Sergei Lavrov"]


@pytest.mark.parametrize("text,expected", [
    ("Durov", "Pavel Durov"),
    ("Durov's", "Pavel Durov"),
    ("CEO Pavel Durov", "Pavel Durov"),
    ("Mr Durov", "Pavel Durov"),
    ("Foreign Minister Lavrov", "Sergei Lavrov"),
    ("the Kremlin", "the Kremlin"),
    ("French  prosecutors", "French prosecutors"),
    ("Telegram", "Telegram"),
    (None, None),
])
def test_canonical_actor(text, expected):
    assert canonical_actor(text, PEOPLE) == expected


def test_ambiguous_surname_keeps_its_text():
    assert canonical_actor("Durov", ["Pavel Durov", "Nikolai Durov"]) == "Durov"


@pytest.mark.parametrize("text,expected", [
    ("French prosecutors", "FRA"), ("the Russian army", "RUS"), ("Israelis", "ISR"), ("American troops", "USA"),
    ("U.S. officials", "USA"), ("Kenya", "KEN"), ("South Korean police", "KOR"), ("A Nigerian court", "NGA"),
    ("Telegram", None), ("the authorities", None), ("Pavel Durov", None), (None, None),
])
def test_actor_country(text, expected):
    assert actor_country(text) == expected


@pytest.mark.parametrize("text, label, expected", [
    ("Daniel Mwangi", "PER", "Daniel Mwangi Otieno"),   # the README's example: a shorter form of the full name
    ("Mr Otieno", "PER", "Daniel Mwangi Otieno"),
    ("Mwangi", "PER", "Daniel Mwangi Otieno"),
    ("Police", None, "police"),
    ("the police", None, "police"),
    ("Protesters", None, "protesters"),
    ("the striking workers", None, "striking workers"),
    ("French prosecutors", None, "French prosecutors"),  # a demonym keeps its case
    ("Telegram", None, "Telegram"),                      # one capitalised word may be a name
    ("the Kremlin", "LOC", "the Kremlin"),
])
def test_actors_an_analyst_can_group(text, label, expected):
    assert canonical_actor(text, ["Daniel Mwangi Otieno", "Otieno"], label) == expected
