"""The parameter registry and its validation rules, as tables."""

import pytest

from capture.params import (
    CLICK_ID_PARAMS,
    PARAMS,
    captured_params,
    clean_value,
    find_param,
    is_valid,
)

MSCLKID = "f894f652ea334e739002f7167ab8f8e3"


def test_registry_lists_every_parameter_of_the_spec_once():
    names = [p.name for p in PARAMS]
    assert len(names) == len({n.lower() for n in names})
    assert set(names) == {
        "msclkid", "gclid", "gbraid", "wbraid", "gclsrc", "dclid", "gad_source",
        "gad_campaignid", "fbclid", "ttclid", "twclid", "li_fat_id", "ScCid", "rdt_cid",
        "epik", "qclid", "yclid", "irclickid", "utm_source", "utm_medium", "utm_campaign",
        "utm_term", "utm_content", "utm_id",
    }  # fmt: skip
    assert [(p.name, p.platform) for p in CLICK_ID_PARAMS] == [
        ("msclkid", "microsoft"),
        ("gclid", "google"),
        ("gbraid", "google"),
        ("wbraid", "google"),
    ]


@pytest.mark.parametrize(
    ("name", "canonical"),
    [("msclkid", "msclkid"), ("MSCLKID", "msclkid"), ("sccid", "ScCid"), ("ScCid", "ScCid"),
     (" Gclid ", "gclid"), ("UTM_Source", "utm_source"), ("msclkid2", None), ("", None)],
)  # fmt: skip
def test_names_match_case_insensitively(name, canonical):
    param = find_param(name)
    assert (param.name if param else None) == canonical


@pytest.mark.parametrize(
    ("name", "value", "valid"),
    [
        ("msclkid", MSCLKID, True),
        ("msclkid", MSCLKID.upper(), True),
        ("msclkid", "f894f652-ea33-4e73-9002-f7167ab8f8e3", False),
        ("msclkid", MSCLKID[:-1], False),
        ("msclkid", MSCLKID + "0", False),
        ("msclkid", "g" * 32, False),
        ("msclkid", MSCLKID + "\n", False),
        ("gclid", "Cj0KCQjw-AbC_123", True),
        ("gclid", "-Cj0KCQjw", True),
        ("gclid", "a" * 255, True),
        ("gclid", "a" * 256, False),
        ("gclid", "abc+def", False),
        ("gclid", "abc def", False),
        ("gclid", "abc=", False),
        ("gclid", "abç", False),
        ("gbraid", "0AAAAA-b_c", True),
        ("wbraid", "CjkK.x", False),
        ("utm_source", "spring sale <b>", True),
        ("utm_source", "x" * 500, True),
        ("utm_source", "x" * 501, False),
    ],
)
def test_values_are_validated_per_parameter(name, value, valid):
    assert is_valid(find_param(name), value) is valid


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [(" abc ", "abc"), ("", None), ("   ", None), ("null", None), ("NULL", None),
     ("undefined", None), (None, None), ("Null-ish", "Null-ish"), ("AbC", "AbC")],
)  # fmt: skip
def test_empty_values_are_ignored_and_others_kept_untouched(raw, cleaned):
    assert clean_value(raw) == cleaned


def test_captured_params_keeps_registry_names_and_lets_the_last_win():
    pairs = [("MSCLKID", MSCLKID), ("email", "a@b.c"), ("gclid", "one"), ("GCLID", "two"),
             ("utm_term", "null"), ("sccid", " x ")]  # fmt: skip
    assert captured_params(pairs) == {"msclkid": MSCLKID, "gclid": "two", "ScCid": "x"}
