"""The demo community is deterministic, well-formed, and has the silos the product must find."""

from __future__ import annotations

import statistics
from collections import Counter

import pytest

from belonging.matching.profiles import normalise_tags
from belonging.service.demo_data import COHORTS, DemoCommunity, generate_demo_community

SEEDS = [0, 1, 7, 42, 2024]
REQUIRED_KEYS = {
    "member_id",
    "display_name",
    "interests",
    "needs",
    "offers",
    "attributes",
    "formats",
    "languages",
    "open_to_suggestions",
}
OPTIONAL_KEYS = {"private_needs", "belonging_score"}


@pytest.fixture(scope="module", params=SEEDS, ids=lambda seed: f"seed={seed}")
def community(request: pytest.FixtureRequest) -> DemoCommunity:
    return generate_demo_community(seed=request.param)


def _degrees(community: DemoCommunity) -> Counter[str]:
    degrees: Counter[str] = Counter({m["member_id"]: 0 for m in community.members})
    for tie in community.connections:
        degrees.update((tie["a"], tie["b"]))
    return degrees


def _attribute(community: DemoCommunity, name: str) -> dict[str, str]:
    return {m["member_id"]: m["attributes"][name] for m in community.members}


def test_same_seed_gives_the_same_community() -> None:
    assert generate_demo_community(seed=3) == generate_demo_community(seed=3)


def test_different_seeds_give_different_communities() -> None:
    assert generate_demo_community(seed=3) != generate_demo_community(seed=4)


def test_member_ids_are_unique_and_as_many_as_asked() -> None:
    members = generate_demo_community(seed=5, n_members=321).members
    ids = [m["member_id"] for m in members]
    assert len(ids) == len(set(ids)) == 321


def test_members_have_exactly_the_profile_fields(community: DemoCommunity) -> None:
    for member in community.members:
        assert REQUIRED_KEYS <= member.keys() <= REQUIRED_KEYS | OPTIONAL_KEYS
        assert set(member["attributes"]) == {"neighbourhood", "cohort"}
        assert "en" in member["languages"]
        assert member.get("belonging_score", 3) in range(1, 6)


def test_tags_are_already_normalised(community: DemoCommunity) -> None:
    for member in community.members:
        for key in ("interests", "needs", "offers", "private_needs"):
            tags = member.get(key, [])
            assert tags == normalise_tags(tags)


def test_every_member_has_formats(community: DemoCommunity) -> None:
    for member in community.members:
        assert member["formats"]
        assert set(member["formats"]) <= {"online", "in_person"}


def test_private_needs_are_few_and_not_repeated_in_public_needs(community: DemoCommunity) -> None:
    with_private = [m for m in community.members if m.get("private_needs")]
    assert 0 < len(with_private) < 0.1 * len(community.members)
    for member in with_private:
        assert not set(member["private_needs"]) & set(member["needs"])


def test_members_do_not_offer_what_they_ask_for(community: DemoCommunity) -> None:
    for member in community.members:
        assert not set(member["needs"]) & set(member["offers"])


def test_requests_and_offers_are_unbalanced_like_a_time_bank(community: DemoCommunity) -> None:
    needs = Counter(tag for m in community.members for tag in m["needs"])
    offers = Counter(tag for m in community.members for tag in m["offers"])
    for asked_more in ("loneliness", "job search", "tax forms"):
        assert needs[asked_more] > offers[asked_more]
    for offered_more in ("dog walking", "bike repair"):
        assert offers[offered_more] > needs[offered_more]


def test_ties_join_known_members_without_self_or_duplicate_ties(community: DemoCommunity) -> None:
    ids = {m["member_id"] for m in community.members}
    pairs = [frozenset((tie["a"], tie["b"])) for tie in community.connections]
    assert all(len(pair) == 2 and pair <= ids for pair in pairs)
    assert len(pairs) == len(set(pairs))


def test_ties_have_a_weight_from_one_to_five_and_a_known_kind(community: DemoCommunity) -> None:
    for tie in community.connections:
        assert 1.0 <= tie["weight"] <= 5.0
        assert tie["kind"] in {"friend", "neighbour", "colleague", "event"}


def test_some_members_are_isolated(community: DemoCommunity) -> None:
    isolates = [m for m, degree in _degrees(community).items() if degree == 0]
    assert 0.03 * len(community.members) <= len(isolates) <= 0.1 * len(community.members)


def test_a_handful_of_members_hang_on_a_single_tie(community: DemoCommunity) -> None:
    single = [m for m, degree in _degrees(community).items() if degree == 1]
    assert 3 <= len(single) <= 0.05 * len(community.members)


def test_degrees_are_heavy_tailed(community: DemoCommunity) -> None:
    degrees = [d for d in _degrees(community).values() if d > 0]
    assert max(degrees) >= 5 * statistics.median(degrees)


def test_ties_mostly_stay_within_a_neighbourhood(community: DemoCommunity) -> None:
    hood = _attribute(community, "neighbourhood")
    within = sum(hood[tie["a"]] == hood[tie["b"]] for tie in community.connections)
    assert within > 0.7 * len(community.connections)
    assert within < len(community.connections)  # a few bridges, or there is nothing to report


def test_ties_favour_the_same_cohort(community: DemoCommunity) -> None:
    cohort = _attribute(community, "cohort")
    shares = Counter(cohort.values())
    by_chance = sum((count / len(cohort)) ** 2 for count in shares.values())
    same = sum(cohort[tie["a"]] == cohort[tie["b"]] for tie in community.connections)
    assert same / len(community.connections) > 1.5 * by_chance
    assert set(shares) <= set(COHORTS)


def test_interests_follow_the_neighbourhood(community: DemoCommunity) -> None:
    hood = _attribute(community, "neighbourhood")
    top: dict[str, set[str]] = {}
    for name in set(hood.values()):
        members = [m for m in community.members if hood[m["member_id"]] == name]
        counts = Counter(tag for m in members for tag in m["interests"])
        top[name] = {tag for tag, _ in counts.most_common(3)}
    assert len({frozenset(tags) for tags in top.values()}) == len(top)


def test_isolated_members_report_lower_belonging(community: DemoCommunity) -> None:
    degrees = _degrees(community)
    rated = [m for m in community.members if "belonging_score" in m]
    scores = [(degrees[m["member_id"]], m["belonging_score"]) for m in rated]
    isolated = [score for degree, score in scores if degree == 0]
    connected = [score for degree, score in scores if degree > 0]
    assert isolated and statistics.mean(isolated) < statistics.mean(connected)


def test_groups_serve_needs_that_members_have(community: DemoCommunity) -> None:
    needs = {tag for m in community.members for tag in [*m["needs"], *m.get("private_needs", [])]}
    assert 4 <= len(community.groups) <= 6
    for group in community.groups:
        assert group["topics"] and set(group["topics"]) <= needs
        assert group["capacity"] > 0
        assert group["format"] in {"online", "in_person"}


def test_some_common_need_has_no_group(community: DemoCommunity) -> None:
    needs = Counter(
        t for m in community.members for t in [*m["needs"], *m.get("private_needs", [])]
    )
    served = {topic for group in community.groups for topic in group["topics"]}
    assert any(tag not in served for tag, _ in needs.most_common(3))


@pytest.mark.parametrize("n_members", [1, 2, 10, 40])
def test_small_communities_are_still_well_formed(n_members: int) -> None:
    community = generate_demo_community(seed=11, n_members=n_members)
    ids = {m["member_id"] for m in community.members}
    assert len(ids) == n_members
    assert all(tie["a"] < tie["b"] and {tie["a"], tie["b"]} <= ids for tie in community.connections)


def test_an_empty_community_is_refused() -> None:
    with pytest.raises(ValueError, match="n_members"):
        generate_demo_community(n_members=0)
