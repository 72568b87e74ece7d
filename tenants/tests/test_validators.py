import pytest
from django.core.exceptions import ValidationError

from tenants.validators import merge_patch, normalize_allowed_ips, normalize_phone, normalize_settings


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("+1234567890", "+1234567890"),
        ("+1 (415) 555-0100", "+14155550100"),
        ("+44.20.7946.0958", "+442079460958"),
        ("", ""),
        (None, ""),
        ("  ", ""),
    ],
)
def test_phone_numbers_are_stored_in_e164(raw, stored):
    assert normalize_phone(raw) == stored


@pytest.mark.parametrize(
    "raw", ["4155550100", "+0123456789", "+123456", "+1234567890123456", "+1 415 CALL NOW", "++14155550100"]
)
def test_other_phone_numbers_are_refused(raw):
    with pytest.raises(ValidationError) as caught:
        normalize_phone(raw)
    assert list(caught.value.error_dict) == ["phone"]


def test_allowed_ips_are_canonical_distinct_and_ordered():
    assert normalize_allowed_ips(["10.0.0.1/32", "10.0.0.1", "FE80::1", "192.168.0.0/16", "::/0"]) == [
        "10.0.0.1",
        "fe80::1",
        "192.168.0.0/16",
        "::/0",
    ]
    assert normalize_allowed_ips([]) == []
    assert normalize_allowed_ips(None) is None


def test_each_bad_allowed_ip_is_reported_at_its_index():
    with pytest.raises(ValidationError) as caught:
        normalize_allowed_ips(["10.0.0.1", "10.0.0.256", 7, "192.168.1.1/24"])
    errors = {key: value[0].message for key, value in caught.value.error_dict.items()}
    assert errors == {
        "allowed_ips.1": "'10.0.0.256' is not a valid IP address or CIDR range",
        "allowed_ips.2": "Must be an IP address or CIDR range such as 203.0.113.7 or 10.0.0.0/8",
        "allowed_ips.3": "'192.168.1.1/24' has host bits set; did you mean 192.168.1.0/24?",
    }


def test_merge_patch_follows_rfc_7396():
    # The examples of RFC 7396, section 3 and appendix A.
    assert merge_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert merge_patch({"a": "b"}, {"b": "c"}) == {"a": "b", "b": "c"}
    assert merge_patch({"a": "b"}, {"a": None}) == {}
    assert merge_patch({"a": "b", "b": "c"}, {"a": None}) == {"b": "c"}
    assert merge_patch({"a": ["b"]}, {"a": "c"}) == {"a": "c"}
    assert merge_patch({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}) == {"a": {"b": "d"}}
    assert merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert merge_patch({}, {"a": {"bb": {"ccc": None}}}) == {"a": {"bb": {}}}
    assert merge_patch({"e": None}, {"a": 1}) == {"e": None, "a": 1}


def test_settings_must_be_an_object_with_known_keys_checked():
    assert normalize_settings({"theme": "system", "timezone": "America/New_York", "anything": [1]})["theme"] == "system"
    for bad in ([], "x", None):
        with pytest.raises(ValidationError):
            normalize_settings(bad)
