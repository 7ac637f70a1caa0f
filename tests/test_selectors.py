"""Label selector semantics as apimachinery defines them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from premortem.model.selectors import SelectorError, parse_map_selector, parse_selector

LABELS = {"app": "api", "tier": "web"}


@pytest.mark.parametrize(
    ("selector", "labels", "matches"),
    [
        ({}, LABELS, True),  # empty selector: everything
        ({}, {}, True),
        ({"matchLabels": {"app": "api"}}, LABELS, True),
        ({"matchLabels": {"app": "api", "tier": "db"}}, LABELS, False),  # AND
        ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["api", "web"]}]}, LABELS, True),
        ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]}, LABELS, False),
        ({"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}, LABELS, False),
        ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["api"]}]}, LABELS, False),
        ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["db"]}]}, LABELS, True),
        # NotIn matches objects without the key at all
        ({"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]}, LABELS, True),
        ({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, LABELS, True),
        ({"matchExpressions": [{"key": "zone", "operator": "Exists"}]}, LABELS, False),
        ({"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]}, LABELS, True),
        ({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, LABELS, False),
        (
            {
                "matchLabels": {"app": "api"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["db"]}],
            },
            LABELS,
            False,
        ),  # matchLabels AND matchExpressions
        ({"matchLabels": {"enabled": True}}, {"enabled": "true"}, True),  # YAML booleans are label strings
    ],
)
def test_selector_table(selector, labels, matches):
    assert parse_selector(selector).matches(labels) is matches


def test_null_selector_depends_on_the_field():
    # policy/v1 PodDisruptionBudget: null selects nothing; webhook namespaceSelector: null means {}
    assert not parse_selector(None, null_matches=False).matches(LABELS)
    assert parse_selector(None, null_matches=True).matches(LABELS)
    assert parse_selector({}).is_empty


@pytest.mark.parametrize(
    "bad",
    [
        {"matchExpressions": [{"key": "app", "operator": "In"}]},
        {"matchExpressions": [{"key": "app", "operator": "Exists", "values": ["x"]}]},
        {"matchExpressions": [{"key": "app", "operator": "Equals", "values": ["x"]}]},
        {"matchExpressions": [{"operator": "Exists"}]},
        {"matchLabels": ["app"]},
        "app=api",
    ],
)
def test_invalid_selectors_are_rejected(bad):
    with pytest.raises(SelectorError):
        parse_selector(bad)


def test_map_selector_empty_matches_nothing():
    assert not parse_map_selector({}).matches(LABELS)
    assert not parse_map_selector(None).matches(LABELS)
    assert parse_map_selector({"app": "api"}).matches(LABELS)


label = st.text(alphabet="abcxyz", min_size=1, max_size=3)


@given(st.dictionaries(label, label, max_size=4), label, st.lists(label, min_size=1, max_size=3))
def test_in_and_notin_partition_objects_with_the_key(labels, key, values):
    in_ = parse_selector({"matchExpressions": [{"key": key, "operator": "In", "values": values}]})
    not_in = parse_selector({"matchExpressions": [{"key": key, "operator": "NotIn", "values": values}]})
    assert in_.matches(labels) != not_in.matches(labels)


@given(st.dictionaries(label, label, max_size=4), label)
def test_exists_and_does_not_exist_are_complements(labels, key):
    exists = parse_selector({"matchExpressions": [{"key": key, "operator": "Exists"}]})
    absent = parse_selector({"matchExpressions": [{"key": key, "operator": "DoesNotExist"}]})
    assert exists.matches(labels) != absent.matches(labels)
