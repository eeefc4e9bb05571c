import pytest
from newsevents.schemas.ontology import EVENT_TYPES, TYPE_NAMES, QuadClass, event_type


def test_sixteen_plover_types_in_fixed_order():
    assert TYPE_NAMES == ("AGREE", "CONSULT", "SUPPORT", "CONCEDE", "COOPERATE", "AID", "RETREAT", "REQUEST",
                          "ACCUSE", "REJECT", "THREATEN", "PROTEST", "SANCTION", "MOBILIZE", "COERCE", "ASSAULT")
    assert all(t.definition.endswith(".") and t.triggers for t in EVENT_TYPES)


def test_quad_classes_split_cooperation_and_conflict():
    counts = {q: sum(t.quad_class is q for t in EVENT_TYPES) for q in QuadClass}
    assert counts == {QuadClass.VERBAL_COOPERATION: 3, QuadClass.MATERIAL_COOPERATION: 4,
                      QuadClass.VERBAL_CONFLICT: 4, QuadClass.MATERIAL_CONFLICT: 5}


def test_lookup_is_case_insensitive_and_errors_list_the_types():
    assert event_type("coerce").name == "COERCE"
    with pytest.raises(KeyError, match="ASSAULT"):
        event_type("BOMBING")
