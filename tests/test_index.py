"""The label and selector indexes answer exactly what comparing every pair would answer."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from premortem.model.index import LabelSets, SelectorIndex
from premortem.model.selectors import parse_selector

label_keys = st.sampled_from(["app", "tier", "team", "x"])
label_values = st.sampled_from(["a", "b", "c", ""])
label_sets = st.dictionaries(label_keys, label_values, max_size=4)
expressions = st.one_of(
    st.fixed_dictionaries(
        {
            "key": label_keys,
            "operator": st.sampled_from(["In", "NotIn"]),
            "values": st.lists(label_values, min_size=1, max_size=3),
        }
    ),
    st.fixed_dictionaries({"key": label_keys, "operator": st.sampled_from(["Exists", "DoesNotExist"])}),
)
selectors = st.builds(
    lambda labels, exprs, null: None if null else {"matchLabels": labels, "matchExpressions": exprs},
    st.dictionaries(label_keys, label_values, max_size=2),
    st.lists(expressions, max_size=2),
    st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(selector_values=st.lists(selectors, max_size=12), objects=st.lists(label_sets, max_size=12))
def test_selector_index_law(selector_values, objects):
    parsed = [parse_selector(v) for v in selector_values]
    index = SelectorIndex((s, i) for i, s in enumerate(parsed))
    for labels in objects:
        assert index.matching(labels) == [i for i, s in enumerate(parsed) if s.matches(labels)]


@settings(max_examples=150, deadline=None)
@given(selector_values=st.lists(selectors, max_size=12), objects=st.lists(label_sets, max_size=12))
def test_label_sets_law(selector_values, objects):
    sets: LabelSets[int] = LabelSets()
    for i, labels in enumerate(objects):
        sets.add(labels, i)
    for value in selector_values:
        selector = parse_selector(value)
        assert sets.matching(selector) == [i for i, labels in enumerate(objects) if selector.matches(labels)]


def test_selector_index_files_each_selector_under_its_rarest_label():
    selectors = [parse_selector({"matchLabels": {"part-of": "shop", "app": f"a{i}"}}) for i in range(50)]
    index = SelectorIndex((s, i) for i, s in enumerate(selectors))
    assert index.matching({"part-of": "shop", "app": "a7"}) == [7]
    assert max(len(bucket) for bucket in index._by_label.values()) == 1


def test_per_index_builds_once_per_index_and_apart_per_function():
    from premortem.model.index import ObjectIndex, per_index

    calls: list[str] = []

    @per_index
    def first(index: ObjectIndex) -> list[str]:
        calls.append("first")
        return ["a"]

    @per_index
    def second(index: ObjectIndex) -> list[str]:
        calls.append("second")
        return ["b"]

    one, other = ObjectIndex.build([]), ObjectIndex.build([])
    assert first(one) is first(one) and second(one) == ["b"]
    assert first(other) is not first(one)
    assert calls == ["first", "second", "first"]
