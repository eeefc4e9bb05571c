"""The PLOVER event ontology (16 types), defined once.

Used by the event model (label set and order), the events writer (allowed
values) and the docs. PLOVER is the successor of CAMEO used by the POLECAT
dataset; the definitions and triggers below follow the project's coding rules
(``CODING_RULES.md`` in the shared examples). The order of ``EVENT_TYPES`` is part
of the trained event model: append, never reorder.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["EVENT_TYPES", "MODE_LABELS", "MODES", "EventType", "QuadClass", "TYPE_NAMES", "event_type"]


class QuadClass(str, enum.Enum):
    """The four PLOVER/CAMEO summary classes."""

    VERBAL_COOPERATION = "verbal_cooperation"
    MATERIAL_COOPERATION = "material_cooperation"
    VERBAL_CONFLICT = "verbal_conflict"
    MATERIAL_CONFLICT = "material_conflict"


@dataclass(frozen=True)
class EventType:
    """One PLOVER event type."""

    name: str
    quad_class: QuadClass
    definition: str
    triggers: tuple[str, ...]


_VC, _MC = QuadClass.VERBAL_COOPERATION, QuadClass.MATERIAL_COOPERATION
_VX, _MX = QuadClass.VERBAL_CONFLICT, QuadClass.MATERIAL_CONFLICT

EVENT_TYPES: tuple[EventType, ...] = (
    EventType("AGREE", _VC, "Agree to, sign, settle or promise something.",
              ("agree", "sign", "settle", "promise", "accept a deal", "reach an accord")),
    EventType("CONSULT", _VC, "Meet, visit, talk, negotiate, contact or mediate.",
              ("meet", "visit", "talk", "negotiate", "host", "mediate", "phone")),
    EventType("SUPPORT", _VC, "Praise, endorse, defend or express support; welcome.",
              ("praise", "endorse", "back", "defend", "welcome", "express support")),
    EventType("CONCEDE", _MC, "Ease restrictions or sanctions, lift a ban, release, apologise, yield or return property.",
              ("lift", "ease", "release", "free", "apologise", "pardon", "return", "reinstate")),
    EventType("COOPERATE", _MC, "Cooperate, share information, extradite, collaborate or comply with requests.",
              ("cooperate", "share", "extradite", "hand over", "collaborate", "comply")),
    EventType("AID", _MC, "Give economic, military or humanitarian aid; rescue.",
              ("aid", "donate", "deliver aid", "fund", "supply weapons", "rescue")),
    EventType("RETREAT", _MC, "Withdraw forces, evacuate or demobilise.",
              ("withdraw", "pull out", "evacuate", "demobilise", "retreat")),
    EventType("REQUEST", _VX, "Ask for, demand, appeal, call for or urge; an official's 'X should do Y'.",
              ("ask", "demand", "appeal", "call for", "urge", "request", "petition")),
    EventType("ACCUSE", _VX, "Accuse, criticise, denounce, blame, allege, investigate, charge, sue, indict or prosecute.",
              ("accuse", "criticise", "blame", "allege", "investigate", "charge", "sue", "indict")),
    EventType("REJECT", _VX, "Reject, refuse, veto, deny a request or defy.",
              ("reject", "refuse", "veto", "turn down", "defy", "deny a request")),
    EventType("THREATEN", _VX, "Threaten, warn of action or issue an ultimatum; the threat of a strike.",
              ("threaten", "warn", "ultimatum", "vow to retaliate")),
    EventType("PROTEST", _MX, "Demonstrate, rally, strike, riot, hunger strike, civilian boycott or picket.",
              ("protest", "demonstrate", "rally", "strike", "riot", "boycott", "march")),
    EventType("SANCTION", _MX, "Impose sanctions or an embargo, ban, block a service, expel, suspend relations or cut aid.",
              ("sanction", "embargo", "ban", "block", "expel", "suspend", "cut aid")),
    EventType("MOBILIZE", _MX, "Put forces on alert, mobilise or deploy troops or police.",
              ("deploy", "mobilise", "put on alert", "send troops", "mass forces")),
    EventType("COERCE", _MX, "Arrest, detain, jail, sentence, seize property, deport, censor or remove content, curfew, raid.",
              ("arrest", "detain", "jail", "sentence", "seize", "deport", "censor", "raid", "curfew")),
    EventType("ASSAULT", _MX, "Attack, bomb, shoot, kill, abduct, fight, capture territory, massacre or cyber-attack.",
              ("attack", "bomb", "shoot", "kill", "abduct", "shell", "capture", "hack")),
)

#: The 16 type names in model order.
TYPE_NAMES: tuple[str, ...] = tuple(t.name for t in EVENT_TYPES)
_BY_NAME = {t.name: t for t in EVENT_TYPES}


def event_type(name: str) -> EventType:
    """Look up a type by name (case-insensitive).

    Raises:
        KeyError: with the list of valid names.
    """
    try:
        return _BY_NAME[name.upper()]
    except KeyError:
        raise KeyError(f"{name!r} is not a PLOVER event type; expected one of {', '.join(TYPE_NAMES)}.") from None


#: PLOVER modes per type, from the mode tables of the PLOVER manual (draft 0.8).
#: Types without a table (AGREE, SUPPORT, CONCEDE, COOPERATE, AID) take no mode;
#: REQUEST and REJECT share theirs, as the manual says.
_ASK = ("assist", "change", "yield", "meet")
MODES: dict[str, tuple[str, ...]] = {
    "AGREE": (),
    "CONSULT": ("visit", "third-party", "multilateral", "phone"),
    "SUPPORT": (),
    "CONCEDE": (),
    "COOPERATE": (),
    "AID": (),
    "RETREAT": ("withdraw", "release", "disarm", "ceasefire", "access", "resign"),
    "REQUEST": _ASK,
    "ACCUSE": ("disapprove", "investigate", "allege"),
    "REJECT": _ASK,
    "THREATEN": ("restrict", "arrest", "relations", "expel", "territory", "violence"),
    "PROTEST": ("demo", "riot", "strike", "hunger", "boycott", "obstruct", "vandalize"),
    "SANCTION": ("convict", "expel", "withdraw", "discontinue"),
    "MOBILIZE": ("troops", "weapons", "police", "militia"),
    "COERCE": ("seize", "restrict", "censor", "curfew", "martial-law", "arrest", "deport", "withhold",
               "misinformation", "cyber"),
    "ASSAULT": ("abduct", "beat", "torture", "sexual", "targeted", "destroy", "primitive", "firearms",
                "explosives", "suicide-attack", "aerial", "drone", "heavy-weapons", "crowd-control",
                "unconventional"),
}

#: Every mode name once, after "none" (the label of "no mode fits"), in model order:
#: append, never reorder.
MODE_LABELS: tuple[str, ...] = ("none", *dict.fromkeys(m for modes in MODES.values() for m in modes))
