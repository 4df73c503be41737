"""Support-group placement: hard rules, the exact optimum, reasons and proposed groups."""

from __future__ import annotations

import itertools
import json
import random

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from belonging.matching.groups import ProposedGroup, SupportGroup, gather_new_groups
from belonging.matching.placement import (
    Placement,
    PlacementOptions,
    greedy_placement,
    propose_placement,
    suggest_groups_for_member,
)
from belonging.matching.profiles import MemberProfile


def member(member_id: str, *needs: str, **profile: object) -> MemberProfile:
    return MemberProfile(member_id, needs=needs, **profile)  # type: ignore[arg-type]


def group(group_id: str, *topics: str, capacity: int = 8, **fields: object) -> SupportGroup:
    fields.setdefault("format", "online")
    return SupportGroup(group_id, group_id.title(), topics, capacity, **fields)  # type: ignore[arg-type]


def placed(placement: Placement) -> dict[str, str]:
    return {a.member_id: a.group_id for a in placement.assignments}


def reason_of(placement: Placement, member_id: str) -> str:
    return next(u.reason for u in placement.unplaced if u.member_id == member_id)


# --- hard rules --------------------------------------------------------------------------------


def test_capacity_is_never_exceeded() -> None:
    members = [member(f"m{i}", "grief") for i in range(5)]
    groups = [group("circle", "grief", capacity=3, member_ids=("old",))]
    placement = propose_placement(members, groups)
    assert len(placement.assignments) == 2


def test_member_is_never_placed_in_a_group_of_another_format() -> None:
    placement = propose_placement(
        [member("ana", "grief", formats=("in_person",))], [group("circle", "grief")]
    )
    assert placement.assignments == ()


def test_member_is_never_placed_in_a_group_in_another_language() -> None:
    placement = propose_placement(
        [member("ana", "grief", languages=("en",))], [group("circle", "grief", language="nl")]
    )
    assert placement.assignments == ()


def test_member_who_lists_no_language_can_join_a_group_in_any_language() -> None:
    placement = propose_placement([member("ana", "grief")], [group("circle", "grief", language="nl")])
    assert placed(placement) == {"ana": "circle"}


def test_languages_match_whatever_their_case() -> None:
    placement = propose_placement(
        [member("ana", "grief", languages=("NL",))], [group("circle", "grief", language="nl")]
    )
    assert placed(placement) == {"ana": "circle"}


def test_member_is_never_placed_in_a_group_that_serves_none_of_their_needs() -> None:
    placement = propose_placement([member("ana", "grief")], [group("circle", "anxiety")])
    assert placement.assignments == ()


def test_closed_group_takes_nobody() -> None:
    placement = propose_placement([member("ana", "grief")], [group("circle", "grief", status="closed")])
    assert placement.assignments == ()


def test_need_already_served_by_a_current_group_is_not_placed_again() -> None:
    members = [member("ana", "grief", "anxiety")]
    groups = [
        group("grief a", "grief", member_ids=("ana",)),
        group("grief b", "grief"),
        group("calm", "anxiety"),
    ]
    placement = propose_placement(members, groups, options=PlacementOptions(explain=True))
    assert placed(placement) == {"ana": "calm"}
    assert [c.group_id for c in placement.assignments[0].candidates or ()] == ["calm"]


def test_two_members_who_block_each_other_never_share_a_new_group() -> None:
    members = [member("ana", "grief"), member("ben", "grief")]
    placement = propose_placement(
        members, [group("circle", "grief", capacity=2)], blocks={frozenset({"ben", "ana"})}
    )
    assert len(placement.assignments) == 1


def test_member_is_never_placed_with_a_current_member_they_block() -> None:
    placement = propose_placement(
        [member("ana", "grief")],
        [group("circle", "grief", member_ids=("cleo",))],
        blocks=[("cleo", "ana")],
    )
    assert placement.assignments == ()


def test_member_joins_at_most_one_new_group_by_default() -> None:
    placement = propose_placement(
        [member("ana", "grief", "anxiety")], [group("grief", "grief"), group("calm", "anxiety")]
    )
    assert len(placement.assignments) == 1


def test_a_higher_group_limit_still_gives_no_more_groups_than_open_needs() -> None:
    options = PlacementOptions(max_new_groups_per_member=3)
    groups = [group("grief", "grief"), group("calm", "anxiety"), group("calm too", "anxiety")]
    placement = propose_placement([member("ana", "grief", "anxiety")], groups, options=options)
    assert len(placement.assignments) == 2


# --- what is maximised -------------------------------------------------------------------------


def test_fit_follows_the_documented_formula() -> None:
    ana = member(
        "ana",
        "grief",
        "anxiety",
        interests=("chess", "hiking"),
        attributes={"cohort": "2020", "area": "north"},
    )
    current = [
        MemberProfile("p1", interests=("chess",), attributes={"cohort": "2020", "area": "south"}),
        MemberProfile("p2", interests=("hiking", "chess"), attributes={"cohort": "2021"}),
        MemberProfile("p3", attributes={"cohort": "2021"}),
    ]
    options = PlacementOptions(spread_attribute="cohort", avoid_lone_attribute="area")
    groups = [group("circle", "grief", member_ids=("p1", "p2", "p3"))]
    placement = propose_placement([ana, *current], groups, degrees={"ana": 3}, options=options)
    # need 1/2 + interests (1/2 + 2/2 + 0/2) / 3 + priority 1/(1+3)
    # - spread 0.5 * 1/3 of members share 2020 - lone 0.5 (nobody else from the north)
    assert placement.assignments[0].fit == pytest.approx(0.5833, abs=1e-12)


def test_isolated_member_gets_the_last_seat_over_a_well_connected_one() -> None:
    members = [member("busy", "grief"), member("alone", "grief")]
    placement = propose_placement(
        members, [group("circle", "grief", capacity=1)], degrees={"busy": 12, "alone": 0}
    )
    assert placed(placement) == {"alone": "circle"}


def test_objective_is_the_sum_of_the_chosen_fits() -> None:
    members = [member("ana", "grief", "anxiety"), member("ben", "grief"), member("cleo", "anxiety")]
    groups = [group("grief", "grief", capacity=1), group("both", "grief", "anxiety", capacity=1)]
    placement = propose_placement(members, groups, degrees={"ben": 1})
    assert placement.objective == pytest.approx(sum(a.fit for a in placement.assignments))
    assert placement.to_dict()["objective"] == round(placement.objective, 4)


def random_instance(
    seed: int, n_blocks: int = 5
) -> tuple[list[MemberProfile], list[SupportGroup], set[frozenset[str]]]:
    """Seven members to place, four current members, three small groups, some blocks."""
    rng = random.Random(seed)
    needs = ["grief", "anxiety", "caring"]
    hobbies = ["chess", "hiking", "music", "food"]
    members = [
        MemberProfile(
            f"m{i}",
            needs=tuple(rng.sample(needs, rng.randint(1, 2))),
            interests=tuple(rng.sample(hobbies, rng.randint(0, 2))),
            formats=rng.choice([("online",), ("in_person",), ("online", "in_person")]),
        )
        for i in range(7)
    ]
    current = [MemberProfile(f"c{i}", interests=tuple(rng.sample(hobbies, 2))) for i in range(4)]
    groups = [
        SupportGroup(
            f"g{k}",
            f"Group {k}",
            tuple(rng.sample(needs, rng.randint(1, 2))),
            rng.randint(2, 4),
            rng.choice(["online", "in_person"]),
            member_ids=tuple(c.member_id for c in current if rng.random() < 0.3),
        )
        for k in range(3)
    ]
    everyone = [m.member_id for m in members + current]
    blocks = {frozenset(rng.sample(everyone, 2)) for _ in range(n_blocks)}
    return members + current, groups, blocks


def brute_force_optimum(placement: Placement, groups: list[SupportGroup], blocks: set) -> float:
    """Best total fit over every way to give each member one of their candidate groups or none.

    Candidates already leave out groups holding someone the member blocks; blocks between
    members placed together are checked here.
    """
    rows = [*placement.assignments, *placement.unplaced]
    options = [[(None, 0.0)] + [(c.group_id, c.fit) for c in row.candidates or ()] for row in rows]
    seats = {g.group_id: g.seats_free for g in groups}
    best = 0.0
    for choice in itertools.product(*options):
        taken = [g for g, _ in choice if g is not None]
        if any(taken.count(g) > seats[g] for g in set(taken)):
            continue
        together = [
            (a.member_id, b.member_id)
            for (a, (ga, _)), (b, (gb, _)) in itertools.combinations(zip(rows, choice, strict=True), 2)
            if ga is not None and ga == gb
        ]
        if any(frozenset(pair) in blocks for pair in together):
            continue
        best = max(best, sum(fit for _, fit in choice))
    return best


@pytest.mark.parametrize("n_blocks", [5, 20])
@pytest.mark.parametrize("seed", range(8))
def test_objective_equals_the_brute_force_optimum(seed: int, n_blocks: int) -> None:
    members, groups, blocks = random_instance(seed, n_blocks)
    degrees = {m.member_id: seed * i % 4 for i, m in enumerate(members)}
    placement = propose_placement(
        members, groups, blocks=blocks, degrees=degrees, options=PlacementOptions(explain=True)
    )
    assert placement.solver.status == "optimal"
    assert placement.objective == pytest.approx(brute_force_optimum(placement, groups, blocks))


def integer_optimum(placement: Placement, groups: list[SupportGroup], blocks: set) -> float:
    """The optimum over the placement's candidates, as one integer programme for scipy's HiGHS."""
    rows = [*placement.assignments, *placement.unplaced]
    pairs = [(row.member_id, c.group_id, c.fit) for row in rows for c in row.candidates or ()]
    members = {m: r for r, m in enumerate(dict.fromkeys(m for m, _, _ in pairs))}
    group_row = {g.group_id: len(members) + r for r, g in enumerate(groups)}
    upper = [1.0] * len(members) + [float(g.seats_free) for g in groups]
    entries = [(members[m], col) for col, (m, _, _) in enumerate(pairs)]
    entries += [(group_row[g], col) for col, (_, g, _) in enumerate(pairs)]
    for a, b in itertools.combinations(range(len(pairs)), 2):
        if pairs[a][1] == pairs[b][1] and frozenset({pairs[a][0], pairs[b][0]}) in blocks:
            entries += [(len(upper), a), (len(upper), b)]
            upper.append(1.0)
    matrix = np.zeros((len(upper), len(pairs)))
    for row, col in entries:
        matrix[row, col] = 1.0
    result = milp(
        -np.array([fit for _, _, fit in pairs]),
        constraints=LinearConstraint(matrix, -np.inf, upper),
        integrality=np.ones(len(pairs)),
        bounds=Bounds(0, 1),
    )
    return -result.fun


@pytest.mark.parametrize("seed", range(3))
def test_objective_equals_the_integer_optimum_when_members_have_many_candidates(seed: int) -> None:
    # Many eligible groups per member, so the solver has to price pairs in beyond each
    # member's first few.
    rng = random.Random(seed)
    needs = ["grief", "anxiety"]
    current = [MemberProfile(f"c{i}", interests=(rng.choice("abcdef"),)) for i in range(12)]
    members = [
        MemberProfile(f"m{i}", needs=(rng.choice(needs),), interests=tuple(rng.sample("abcdef", 2)))
        for i in range(40)
    ]
    groups = [
        SupportGroup(
            f"g{k}", f"G{k}", tuple(needs), rng.randint(2, 5), "online", member_ids=(f"c{k}",)
        )
        for k in range(12)
    ]
    ids = [m.member_id for m in members]
    blocks = {frozenset(rng.sample(ids, 2)) for _ in range(150)}
    degrees = {m: rng.randint(0, 5) for m in ids}
    options = PlacementOptions(explain=True)
    placement = propose_placement(members + current, groups, blocks=blocks, degrees=degrees, options=options)
    assert placement.solver.status == "optimal"
    assert placement.objective == pytest.approx(integer_optimum(placement, groups, blocks), abs=1e-9)


def test_blocks_that_make_the_lp_fractional_are_solved_as_an_integer_programme() -> None:
    # Three members who all block each other: the LP would seat each of them half.
    members = [member(m, "grief") for m in "abc"]
    blocks = {frozenset("ab"), frozenset("bc"), frozenset("ac")}
    placement = propose_placement(members, [group("circle", "grief", capacity=3)], blocks=blocks)
    assert (placement.solver.method, placement.solver.status) == ("mip", "optimal")
    assert len(placement.assignments) == 1


def planted() -> tuple[list[MemberProfile], list[SupportGroup]]:
    """Flexible members sign up first and fit "both" best, but it is the only group for the
    specific members; seating the flexible ones in "extra" places everyone."""
    flexible = [member(f"flexible {i}", "grief", "grief extra") for i in range(2)]
    specific = [member(f"specific {i}", "grief") for i in range(2)]
    groups = [group("both", "grief", "grief extra", capacity=2), group("extra", "grief extra", capacity=2)]
    return flexible + specific, groups


def test_planted_instance_first_come_leaves_members_out() -> None:
    members, groups = planted()
    assert len(greedy_placement(members, groups).assignments) == 2


def test_planted_instance_places_everyone() -> None:
    members, groups = planted()
    placement = propose_placement(members, groups)
    assert placed(placement) == {
        "flexible 0": "extra",
        "flexible 1": "extra",
        "specific 0": "both",
        "specific 1": "both",
    }


def test_greedy_placement_keeps_the_hard_rules() -> None:
    members, groups, blocks = random_instance(3)
    placement = greedy_placement(members, groups, blocks=blocks)
    chosen = [(a.member_id, a.group_id) for a in placement.assignments]
    for g in groups:
        inside = {m for m, k in chosen if k == g.group_id}
        assert len(inside) <= g.capacity
        assert not any(pair <= inside for pair in blocks)


# --- who and where -----------------------------------------------------------------------------


def test_member_ids_limit_who_is_placed() -> None:
    members = [member("ana", "grief"), member("ben", "grief")]
    placement = propose_placement(members, [group("circle", "grief")], member_ids=["ben"])
    assert placed(placement) == {"ben": "circle"}


def test_group_ids_limit_where_members_go() -> None:
    groups = [group("near", "grief"), group("far", "grief")]
    placement = propose_placement([member("ana", "grief")], groups, group_ids=["far"])
    assert placed(placement) == {"ana": "far"}


def test_unknown_member_id_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown members"):
        propose_placement([member("ana", "grief")], [], member_ids=["zoe"])


def test_support_group_needs_a_capacity_of_at_least_one() -> None:
    with pytest.raises(ValueError, match="capacity"):
        group("circle", "grief", capacity=0)


# --- reasons -----------------------------------------------------------------------------------


def test_assignment_reasons_say_which_need_and_interests_it_serves() -> None:
    members = [member("ana", "grief", interests=("chess",)), MemberProfile("old", interests=("chess",))]
    placement = propose_placement(members, [group("circle", "grief", member_ids=("old",))])
    texts = [r.text for r in placement.assignments[0].reasons]
    assert texts[:2] == ["serves grief", "shares chess with 1 of 1 current members"]


def test_unplaced_reason_says_no_group_serves_the_need() -> None:
    placement = propose_placement([member("ana", "grief", "anxiety")], [group("circle", "caring")])
    assert reason_of(placement, "ana") == "no group serves grief or anxiety"
    assert placement.unplaced[0].kind == "no_group"


def test_unplaced_reason_names_the_missing_format_and_language() -> None:
    ana = member("ana", "grief", formats=("online",), languages=("nl",))
    groups = [
        group("nl", "grief", format="in_person", language="nl"),
        group("en", "grief", language="en"),
    ]
    assert reason_of(propose_placement([ana], groups), "ana") == "no online group in nl for grief"


def test_unplaced_reason_says_all_matching_groups_are_full() -> None:
    groups = [group(f"g{k}", "grief", capacity=1, member_ids=(f"old{k}",)) for k in range(3)]
    placement = propose_placement([member("ana", "grief")], groups)
    assert reason_of(placement, "ana") == "all 3 matching groups for grief are full"


def test_unplaced_reason_says_the_only_matching_group_holds_someone_they_block() -> None:
    placement = propose_placement(
        [member("ana", "grief")],
        [group("circle", "grief", member_ids=("cleo",))],
        blocks={frozenset({"ana", "cleo"})},
    )
    assert reason_of(placement, "ana") == (
        "has a block with a member of the only matching group for grief with a free seat"
    )


def test_unplaced_reason_says_the_group_is_closed() -> None:
    placement = propose_placement([member("ana", "grief")], [group("circle", "grief", status="closed")])
    assert reason_of(placement, "ana") == "the only group for grief is closed"


def test_unplaced_reason_says_others_were_placed_first() -> None:
    members = [member("busy", "grief"), member("alone", "grief")]
    placement = propose_placement(
        members, [group("circle", "grief", capacity=1)], degrees={"busy": 4}
    )
    assert placement.unplaced[0].kind == "outcompeted"
    assert "filled by members with a higher fit or priority" in reason_of(placement, "busy")


def test_requested_member_without_an_open_need_has_no_need_to_place() -> None:
    placement = propose_placement(
        [member("ana", "grief")],
        [group("circle", "grief", member_ids=("ana",))],
        member_ids=["ana"],
    )
    assert placement.unplaced[0].kind == "no_need"
    assert reason_of(placement, "ana").startswith("no need to place")


def test_private_need_is_never_named_in_reasons() -> None:
    members = [
        member("ana", private_needs=("addiction",)),
        member("ben", private_needs=("addiction",)),
        member("cleo", private_needs=("gambling",)),
    ]
    groups = [group("circle", "addiction", capacity=1)]
    placement = propose_placement(members, groups, degrees={"ben": 3})
    reasons = json.dumps(
        [a.to_dict()["reasons"] for a in placement.assignments]
        + [u.reason for u in placement.unplaced]
    )
    assert placed(placement) == {"ana": "circle"}
    assert "addiction" not in reasons and "gambling" not in reasons and "private" not in reasons


# --- proposed groups ---------------------------------------------------------------------------


def test_proposed_groups_gather_unplaced_members_by_need_format_and_language() -> None:
    online_nl = [member(f"a{i}", "grief", formats=("online",), languages=("nl",)) for i in range(4)]
    in_person_en = [
        member(f"b{i}", "grief", formats=("in_person",), languages=("en",)) for i in range(3)
    ]
    too_few = [member(f"c{i}", "anxiety", formats=("online",), languages=("nl",)) for i in range(2)]
    placement = propose_placement(online_nl + in_person_en + too_few, [])
    assert [g.to_dict() for g in placement.proposed_groups] == [
        {
            "name": "Grief circle (online, nl)",
            "topics": ["grief"],
            "format": "online",
            "language": "nl",
            "capacity": 8,
            "member_ids": ["a0", "a1", "a2", "a3"],
        },
        {
            "name": "Grief circle (in-person, en)",
            "topics": ["grief"],
            "format": "in_person",
            "language": "en",
            "capacity": 8,
            "member_ids": ["b0", "b1", "b2"],
        },
    ]


def test_large_pool_is_cut_into_groups_near_the_target_size() -> None:
    members = [member(f"m{i}", "grief", formats=("online",)) for i in range(10)]
    proposed = gather_new_groups(members, {m.member_id: m.needs for m in members}, target_size=4)
    assert [len(g.member_ids) for g in proposed] == [4, 3, 3]


def test_proposed_groups_never_seat_two_blocked_members_together() -> None:
    members = [member(f"m{i}", "grief", formats=("online",)) for i in range(4)]
    blocked = {"m0": frozenset({"m1"}), "m1": frozenset({"m0"})}
    proposed = gather_new_groups(members, {m.member_id: m.needs for m in members}, blocked=blocked)
    assert [g.member_ids for g in proposed] == [("m0", "m2", "m3")]


def test_no_proposed_group_is_smaller_than_the_minimum() -> None:
    members = [member(f"m{i}", "grief") for i in range(2)]
    assert propose_placement(members, []).proposed_groups == ()


# --- the result --------------------------------------------------------------------------------


def test_to_dict_has_the_shape_clients_rely_on() -> None:
    members = [member("ana", "grief"), member("ben", "caring")]
    placement = propose_placement(members, [group("circle", "grief")]).to_dict()
    json.dumps(placement, allow_nan=False)
    assert set(placement) >= {"assignments", "unplaced", "proposed_groups", "objective"}
    assert set(placement["assignments"][0]) == {"member_id", "group_id", "fit", "reasons"}
    assert set(placement["assignments"][0]["reasons"][0]) == {"kind", "text", "tags"}
    assert {"member_id", "reason"} <= set(placement["unplaced"][0])


def test_explain_lists_every_eligible_group_with_its_fit_best_first() -> None:
    ana = member("ana", "grief", "anxiety")
    groups = [group("grief", "grief"), group("both", "grief", "anxiety"), group("other", "caring")]
    placement = propose_placement([ana], groups, options=PlacementOptions(explain=True))
    assert placement.to_dict()["assignments"][0]["candidates"] == [
        {"group_id": "both", "fit": 2.0},
        {"group_id": "grief", "fit": 1.5},
    ]


def test_member_view_ranks_groups_and_leaves_out_blocked_ones() -> None:
    ana = member("ana", "grief", private_needs=("anxiety",))
    groups = [
        group("grief", "grief"),
        group("both", "grief", "anxiety"),
        group("cleo's", "grief", member_ids=("cleo",)),
    ]
    suggestions = suggest_groups_for_member(ana, groups, blocks={frozenset({"ana", "cleo"})})
    assert [(s["group_id"], s["fit"]) for s in suggestions] == [("both", 2.0), ("grief", 1.5)]
    assert suggestions[0]["reasons"][0]["text"] == "serves grief and anxiety"


def test_proposed_group_is_a_plain_value() -> None:
    proposed = ProposedGroup("Grief circle (online)", ("grief",), "online", None, 8, ("a", "b", "c"))
    assert proposed.to_dict()["member_ids"] == ["a", "b", "c"]


def test_placement_stopped_by_the_time_limit_still_keeps_the_hard_rules() -> None:
    members = [member(f"m{i}", "grief") for i in range(30)]
    groups = [group(f"g{k}", "grief", capacity=4) for k in range(5)]
    options = PlacementOptions(time_limit_s=1e-9)
    placement = propose_placement(members, groups, options=options)
    assert placement.solver.status == "time_limit"
    assert len(placement.assignments) == 20
    json.dumps(placement.to_dict(), allow_nan=False)
