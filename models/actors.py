"""Actor normalisation within an article (pure functions, tested without a model).

- A person is named by the fullest form the article uses: "Durov", "Durov's" and
  "CEO Pavel Durov" all become "Pavel Durov" when the article names "Pavel Durov"
  (the mention's words, titles dropped, in order inside exactly one fuller name:
  "Daniel Mwangi" becomes "Daniel Mwangi Otieno").
- Generic actors (common nouns, no named entity under them) are case-folded and
  lose their determiner: "Police" and "the police" are both "police".
- A pronoun ("he", "it") is kept and flagged (``is_pronoun``): replacing it by the
  nearest unambiguous named actor was measured and lowered the actor scores.
- Other actors keep their text, tidied: "the Kremlin" stays "the Kremlin".
- An actor that names a country, or is described by its demonym ("French
  prosecutors", "the Russian army", "Israelis"), gets the country's ISO 3166
  alpha-3 code: names through ``country_converter`` (``place_time.country_code``),
  demonyms from the ``countryinfo`` data, not a hand-kept list.
"""

from __future__ import annotations

import functools
import re
from typing import Sequence

from newsevents.models.place_time import country_code

__all__ = ["PRONOUNS", "actor_country", "canonical_actor", "demonyms", "is_pronoun"]

_POSSESSIVE = re.compile(r"(?:['’]s|['’])$")
_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*", re.UNICODE)


@functools.lru_cache(maxsize=1)
def demonyms() -> dict[str, str]:
    """Demonym (lower case, singular and plural) -> ISO 3166 alpha-3.

    A demonym shared by several countries and territories ("French", "American",
    "Chinese") goes to the most populous of them: France, the United States, China.
    """
    from countryinfo import all_countries

    found: dict[str, tuple[int, str]] = {}
    for country in all_countries():
        try:
            demonym, iso3, population = country.demonym(), country.iso(3), country.population() or 0
        except Exception:  # noqa: BLE001 - a few territories lack one of the fields
            continue
        if not demonym or not iso3:
            continue
        for form in {demonym.lower(), demonym.lower() + "s"}:
            if form not in found or population > found[form][0]:
                found[form] = (population, iso3)
    return {form: iso3 for form, (_, iso3) in found.items()}


def _tidy(text: str) -> str:
    return _POSSESSIVE.sub("", " ".join(text.split())).strip()


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text)


_TITLES = {"mr", "mrs", "ms", "miss", "dr", "sir", "lord", "lady", "dame", "president", "prime", "minister",
           "secretary", "chancellor", "senator", "sen", "rep", "representative", "governor", "mayor", "judge",
           "ceo", "chief", "executive", "general", "gen", "colonel", "col", "captain", "king", "queen", "prince",
           "princess", "pope", "foreign", "defence", "defense", "interior", "home", "justice", "finance", "leader",
           "chairman", "chairwoman", "spokesman", "spokeswoman", "founder", "former", "deputy", "vice", "opposition",
           "mp", "mep", "officer", "detective", "inspector", "sheriff", "attorney", "prosecutor", "director"}
_DETERMINERS = {"the", "a", "an", "this", "that", "these", "those", "its", "their", "his", "her", "our", "some",
                "several", "many"}
#: Pronouns that can stand for an actor: such actors are flagged in the events table.
PRONOUNS = frozenset({"he", "him", "she", "her", "it", "they", "them", "we", "us", "i", "me", "you"})


def _subsequence(short: list[str], long: list[str]) -> bool:
    it = iter(long)
    return all(any(w == x for x in it) for w in short)


def _fullest(tokens: list[str], names: Sequence[str]) -> str | None:
    # The one fullest name of the article whose tokens contain ``tokens`` in order
    # ("Daniel Mwangi" -> "Daniel Mwangi Otieno"); None when two different people fit.
    fits = [n for n in names if _subsequence(tokens, _tokens(n))]
    widest = [n for n in fits if not any(m != n and _subsequence(_tokens(n), _tokens(m)) for m in fits)]
    return widest[0] if len(set(widest)) == 1 else None


def is_pronoun(text: str | None) -> bool:
    """Whether an actor span is a bare pronoun ("He", "it", "them")."""
    return bool(text) and text.strip().lower() in PRONOUNS


# Common nouns that head generic actors and start sentences capitalised ("Police said ...");
# a capitalised word outside this list may be a name ("Telegram"), so it keeps its case.
_GENERIC_HEADS = {"police", "protesters", "demonstrators", "officials", "authorities", "troops", "soldiers",
                  "militants", "rebels", "insurgents", "gunmen", "attackers", "government", "prosecutors",
                  "investigators", "judges", "court", "courts", "army", "military", "residents", "activists",
                  "workers", "students", "lawmakers", "legislators", "ministers", "critics", "opponents",
                  "supporters", "campaigners", "unions", "doctors", "nurses", "teachers", "voters", "citizens",
                  "farmers", "officers", "regulators", "diplomats", "leaders", "scientists", "researchers",
                  "analysts", "employees", "staff", "fans", "villagers", "locals", "refugees", "migrants",
                  "witnesses", "paramedics", "firefighters", "rescuers", "councillors", "mps", "senators"}


def _generic(tidy: str) -> str | None:
    # A common-noun actor ("Police", "the police", "Protesters"): case-folded, determiner dropped,
    # so an analyst's GROUP BY counts it once. Capitalised words after the first mean a name.
    words = tidy.split()
    if words and words[0].lower() in _DETERMINERS:
        words = words[1:]
    if not words or any(w[:1].isupper() for w in words[1:]):
        return None
    first = words[0]
    if first[:1].isupper():
        if first.lower() in demonyms() or country_code(first, countries_only=True):
            return " ".join(words)  # "French prosecutors" keeps its demonym
        if not (len(words) > 1 or first.lower() in _GENERIC_HEADS):
            return None  # one capitalised word may be a name ("Telegram")
    return " ".join([first.lower(), *words[1:]])


def canonical_actor(text: str | None, people: Sequence[str], label: str | None = None) -> str | None:
    """The article's canonical name for an actor span.

    - A person the article names is named by the fullest form it uses: the
      mention's words, titles dropped, in order inside one fuller name
      ("Durov", "Mr Durov", "CEO Pavel Durov" -> "Pavel Durov"; "Daniel Mwangi" ->
      "Daniel Mwangi Otieno"); when two people fit, the text is kept.
    - An actor that is not a named entity (``label`` None: no NER mention under it)
      and has no capitalised word after its first is generic: case-folded and
      without its determiner ("the police", "Police" -> "police").
    - Anything else keeps its tidied text ("the Kremlin").

    Args:
        text: the actor as the event model found it.
        people: the texts of the article's PER mentions.
        label: the NER label under the span, if any.

    >>> canonical_actor("Durov's", ["Pavel Durov", "Durov"])
    'Pavel Durov'
    >>> canonical_actor("Daniel Mwangi", ["Daniel Mwangi Otieno"], "PER")
    'Daniel Mwangi Otieno'
    >>> canonical_actor("the police", []), canonical_actor("Police", []), canonical_actor("the Kremlin", [], "LOC")
    ('police', 'police', 'the Kremlin')
    """
    if not text:
        return None
    tidy = _tidy(text)
    if label is None and (generic := _generic(tidy)) is not None and not any(
            re.search(rf"(?<!\w){re.escape(_tidy(p))}(?!\w)", tidy) for p in people if p and p.strip()):
        return generic
    names = sorted({_tidy(p) for p in people if p and p.strip()}, key=len, reverse=True)
    tokens = [t for t in _tokens(tidy) if t.lower() not in _TITLES]
    if not tokens:
        return tidy
    # The longest run of the phrase's last words that sits, in order, in exactly one fullest name.
    for k in range(len(tokens), 0, -1):
        fuller = _fullest(tokens[-k:], names)
        if fuller:
            return fuller
        if any(_subsequence(tokens[-k:], _tokens(n)) for n in names):
            return tidy  # ambiguous ("Durov" with both Pavel and Nikolai Durov named): keep the text
    return tidy


def actor_country(text: str | None) -> str | None:
    """ISO 3166 alpha-3 code of the country an actor names or is described by, if any.

    >>> actor_country("French prosecutors"), actor_country("the Russian army"), actor_country("Kenya")
    ('FRA', 'RUS', 'KEN')
    >>> actor_country("Telegram") is None
    True
    """
    if not text:
        return None
    tidy = _tidy(text)
    code = country_code(tidy, countries_only=True)
    if code:
        return code
    for word in tidy.split():  # abbreviations keep their dots: "U.S. officials", "UK ministers"
        code = country_code(word.strip(",;:()\"'"), countries_only=True) if word[:1].isupper() else None
        if code:
            return code
    words = _tokens(tidy)
    table = demonyms()
    for size in (3, 2, 1):  # longest first: "South Korean" before "Korean"
        for i in range(len(words) - size + 1):
            phrase = " ".join(words[i : i + size])
            if not phrase[:1].isupper():
                continue  # names and demonyms are capitalised; "turkey" the bird is not a country
            code = table.get(phrase.lower()) or country_code(phrase, countries_only=True)
            if code:
                return code
    return None
