"""Input units (model/units.py): the fast membership question agrees with the pairwise definition."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from premortem.model.units import UnitMembers, same_unit

_segment = st.sampled_from(["a", "b", "ab", "deploy", "base", "x"])
_path = st.lists(_segment, min_size=0, max_size=4).map(lambda parts: "/".join([*parts, "f.yaml"]))


@settings(max_examples=300, deadline=None)
@given(members=st.lists(_path, max_size=6), asking=_path)
def test_any_in_unit_of_is_the_pairwise_definition(members, asking):
    assert UnitMembers(members).any_in_unit_of(asking) == any(same_unit(asking, m) for m in members)


def test_sibling_directories_are_other_units():
    members = UnitMembers(["provider/aws/deploy.yaml"])
    assert not members.any_in_unit_of("provider/kind/deploy.yaml")
    assert members.any_in_unit_of("provider/aws/nlb/deploy.yaml")
    assert members.any_in_unit_of("provider/x.yaml")
