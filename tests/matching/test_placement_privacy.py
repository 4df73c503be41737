"""Placement never tells organisers about a member's private needs, yet still matches on them."""

from __future__ import annotations

import dataclasses
import json
import random

import pytest

from belonging.matching.groups import SupportGroup
from belonging.matching.placement import PlacementOptions, propose_placement
from belonging.matching.placement.explain import MemberView, organiser_view
from belonging.matching.profiles import MemberProfile


def group(group_id: str, *topics: str, capacity: int = 8, **fields: object) -> SupportGroup:
    fields.setdefault("format", "online")
    return SupportGroup(group_id, group_id.title(), topics, capacity, **fields)  # type: ignore[arg-type]


def shown(placement: object) -> str:
    return json.dumps(placement.to_dict())  # type: ignore[attr-defined]


def test_private_need_still_matches_a_member_to_an_existing_group() -> None:
    ana = MemberProfile("ana", private_needs=("gambling",))
    placement = propose_placement([ana], [group("circle", "gambling")])
    assert [(a.member_id, a.group_id) for a in placement.assignments] == [("ana", "circle")]
    assert "gambling" not in json.dumps([r.to_dict() for r in placement.assignments[0].reasons])


def test_no_group_is_proposed_for_a_private_need() -> None:
    members = [MemberProfile(f"m{i}", private_needs=("gambling",)) for i in range(5)]
    placement = propose_placement(members, [])
    assert placement.proposed_groups == ()
    assert "gambling" not in shown(placement)


def test_proposed_groups_use_only_the_public_needs_of_members_who_also_have_private_ones() -> None:
    members = [
        MemberProfile(f"m{i}", needs=("grief",), private_needs=("gambling",), formats=("online",))
        for i in range(4)
    ]
    placement = propose_placement(members, [], options=PlacementOptions(max_new_groups_per_member=2))
    assert [(g.name, g.topics) for g in placement.proposed_groups] == [("Grief circle (online)", ("grief",))]
    assert "gambling" not in shown(placement)


def test_unplaced_reason_names_only_public_needs_and_does_not_hint_at_others() -> None:
    ana = MemberProfile("ana", needs=("grief",), private_needs=("gambling",))
    placement = propose_placement([ana], [group("circle", "caring"), group("bets", "gambling", status="closed")])
    assert [(u.reason, u.kind) for u in placement.unplaced] == [("no group serves grief", "no_group")]
    assert "private" not in shown(placement) and "gambling" not in shown(placement)


def test_member_with_only_private_needs_is_not_listed_as_unplaced() -> None:
    ana = MemberProfile("ana", private_needs=("gambling",))
    assert propose_placement([ana], []).unplaced == ()


def test_requested_member_with_only_private_needs_has_nothing_to_place_for_the_organiser() -> None:
    ana = MemberProfile("ana", private_needs=("gambling",))
    placement = propose_placement([ana], [], member_ids=["ana"])
    assert [(u.reason, u.kind) for u in placement.unplaced] == [("no need to place: no needs listed", "no_need")]


def test_explain_lists_no_group_that_only_a_private_need_makes_eligible() -> None:
    ana = MemberProfile("ana", needs=("grief",), private_needs=("gambling",))
    groups = [group("grief", "grief"), group("bets", "gambling")]
    placement = propose_placement([ana], groups, options=PlacementOptions(explain=True))
    assignment = placement.assignments[0]
    assert {c.group_id for c in assignment.candidates or ()} == {"grief", assignment.group_id}


def test_organiser_view_holds_no_private_need() -> None:
    ana = MemberProfile("ana", needs=("grief",), private_needs=("gambling",))
    view = organiser_view(ana, ana.all_needs, ties=0)
    assert view.needs == ("grief",)
    assert "gambling" not in repr(view)
    assert not any("private" in f.name for f in dataclasses.fields(MemberView))


@pytest.mark.parametrize("seed", range(6))
def test_no_placement_output_mentions_a_private_need(seed: int) -> None:
    rng = random.Random(seed)
    public = ["grief", "anxiety", "caring", "loneliness"]
    secret = [f"privneed-{rng.getrandbits(32):08x}" for _ in range(3)]
    members = []
    for i in range(60):
        private = tuple(rng.sample(secret, rng.randint(0, 2)))
        needs = tuple(rng.sample(public, rng.randint(0 if private else 1, 2)))
        members.append(
            MemberProfile(
                f"m{i}",
                needs=needs,
                private_needs=private,
                formats=rng.choice([("online",), ("in_person",), ("online", "in_person")]),
                languages=rng.choice([(), ("en",), ("nl",)]),
                attributes={"cohort": rng.choice("abc")},
            )
        )
    # Existing groups serve private needs too: members are matched to them, never told about.
    groups = [
        SupportGroup(
            f"g{k}",
            f"Group {k}",
            tuple(rng.sample(public + secret, rng.randint(1, 2))),
            rng.randint(1, 5),
            rng.choice(["online", "in_person"]),
            rng.choice([None, "en", "nl"]),
            status=rng.choice(["open", "open", "closed"]),
        )
        for k in range(6)
    ]
    ids = [m.member_id for m in members]
    blocks = {frozenset(rng.sample(ids, 2)) for _ in range(20)}
    options = PlacementOptions(explain=True, spread_attribute="cohort", min_new_group_size=2)
    for member_ids in (None, rng.sample(ids, 30)):
        placement = propose_placement(members, groups, blocks=blocks, member_ids=member_ids, options=options)
        text = shown(placement)
        assert "private" not in text
        for need in secret:
            assert need not in text
