"""Suggestions on tiny hand-built communities: the hard rules, the reasons and the API."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from belonging.graph import CommunityGraph
from belonging.matching.index import SuggestionIndex
from belonging.matching.profiles import MemberProfile
from belonging.matching.suggest import Suggestion, suggest


def build(
    members: Sequence[str],
    ties: Iterable[tuple[str, str]] = (),
    profiles: Iterable[MemberProfile] = (),
    **options: object,
) -> SuggestionIndex:
    """An index over ``members`` with ``ties``; members without a profile get a default one."""
    given = {p.member_id: p for p in profiles}
    everyone = [given.get(m, MemberProfile(m)) for m in members]
    graph = CommunityGraph.from_edges(list(members), list(ties))
    return SuggestionIndex.build(graph, everyone, **options)


def suggested(index: SuggestionIndex, member_id: str, **options: object) -> list[str]:
    return [s.member_id for s in suggest(index, member_id, **options)]


def all_reason_text(suggestions: Iterable[Suggestion]) -> str:
    """Every text and tag of every reason, lower-cased, as one string to search."""
    parts = []
    for s in suggestions:
        for reason in s.reasons:
            parts.append(str(reason["text"]))
            parts.extend(str(tag) for tag in reason["tags"])  # type: ignore[union-attr]
    return " | ".join(parts).lower()


# A small circle: everyone shares an interest, so everyone has candidates.
CIRCLE = ["ann", "bob", "cat", "dan", "eve", "fay"]
CIRCLE_TIES = [("ann", "bob"), ("bob", "cat"), ("cat", "dan"), ("dan", "eve"), ("eve", "fay")]
CIRCLE_PROFILES = [MemberProfile(m, m.title(), interests=("hiking",)) for m in CIRCLE]


def test_member_is_never_suggested_to_themself() -> None:
    index = build(CIRCLE, CIRCLE_TIES, CIRCLE_PROFILES)
    for member in CIRCLE:
        assert member not in suggested(index, member)


def test_existing_connection_is_never_suggested() -> None:
    index = build(CIRCLE, CIRCLE_TIES, CIRCLE_PROFILES)
    for a, b in CIRCLE_TIES:
        assert b not in suggested(index, a)
        assert a not in suggested(index, b)


def test_friend_of_a_friend_is_suggested_with_mutual_connections_reason() -> None:
    index = build(CIRCLE, CIRCLE_TIES, CIRCLE_PROFILES)
    [first, *_] = suggest(index, "ann")
    assert first.member_id == "cat"
    kinds = {r["kind"]: r["text"] for r in first.reasons}
    assert kinds["mutual_connections"] == "1 person you know already knows Cat"


@pytest.mark.parametrize("blocker", ["ann", "cat"])
def test_blocked_member_is_never_suggested_in_either_direction(blocker: str) -> None:
    other = "cat" if blocker == "ann" else "ann"
    index = build(CIRCLE, CIRCLE_TIES, CIRCLE_PROFILES, blocks=[(blocker, other)])
    assert other not in suggested(index, blocker)
    assert blocker not in suggested(index, other)


@pytest.mark.parametrize("decliner", ["ann", "cat"])
def test_declined_pair_is_never_suggested_again_in_either_direction(decliner: str) -> None:
    other = "cat" if decliner == "ann" else "ann"
    index = build(CIRCLE, CIRCLE_TIES, CIRCLE_PROFILES, declined=[(decliner, other)])
    assert other not in suggested(index, decliner)
    assert decliner not in suggested(index, other)


def test_member_not_open_to_suggestions_gets_an_empty_list() -> None:
    profiles = [
        *CIRCLE_PROFILES[1:],
        MemberProfile("ann", interests=("hiking",), open_to_suggestions=False),
    ]
    index = build(CIRCLE, CIRCLE_TIES, profiles)
    assert suggest(index, "ann") == []


def test_member_not_open_to_suggestions_is_never_suggested_to_anyone() -> None:
    profiles = [p for p in CIRCLE_PROFILES if p.member_id != "cat"]
    profiles.append(MemberProfile("cat", "Cat", interests=("hiking",), open_to_suggestions=False))
    index = build(CIRCLE, CIRCLE_TIES, profiles)
    for member in CIRCLE:
        assert "cat" not in suggested(index, member)


def test_unknown_member_raises_key_error() -> None:
    index = build(CIRCLE, CIRCLE_TIES, CIRCLE_PROFILES)
    with pytest.raises(KeyError):
        suggest(index, "nobody")


def test_excluded_members_are_left_out_and_unknown_ones_ignored() -> None:
    index = build(CIRCLE, CIRCLE_TIES, CIRCLE_PROFILES)
    assert "cat" in suggested(index, "ann")
    assert "cat" not in suggested(index, "ann", exclude=["cat", "nobody"])


def test_limit_caps_the_list_and_zero_gives_nothing() -> None:
    index = build(CIRCLE, CIRCLE_TIES, CIRCLE_PROFILES)
    assert len(suggest(index, "ann", limit=2)) == 2
    assert suggest(index, "ann", limit=0) == []


@pytest.mark.parametrize(
    "options", [{"limit": -1}, {"bridging_weight": 1.5}, {"bridging_weight": -0.1}]
)
def test_invalid_options_raise_value_error(options: dict[str, float]) -> None:
    index = build(CIRCLE, CIRCLE_TIES, CIRCLE_PROFILES)
    with pytest.raises(ValueError):
        suggest(index, "ann", **options)  # type: ignore[arg-type]


def test_suggestions_come_best_first_with_scores_between_zero_and_one() -> None:
    index = build(CIRCLE, CIRCLE_TIES, CIRCLE_PROFILES)
    scores = [s.score for s in suggest(index, "ann")]
    assert scores[0] == max(scores)
    assert all(0.0 < score < 1.0 for score in scores)


def test_isolated_member_with_matching_interests_gets_suggestions_with_reasons() -> None:
    members = [*CIRCLE, "newcomer"]
    profiles = [
        *CIRCLE_PROFILES[:3],
        MemberProfile("dan", "Dan", interests=("chess", "birdwatching")),
        MemberProfile("eve", "Eve", interests=("chess",)),
        CIRCLE_PROFILES[5],
        MemberProfile("newcomer", interests=("chess", "birdwatching")),
    ]
    index = build(members, CIRCLE_TIES, profiles)
    [first, second, *_] = suggest(index, "newcomer")
    assert (first.member_id, second.member_id) == ("dan", "eve")
    # The rarer shared interest is named first.
    assert first.reasons[0] == {
        "kind": "shared_interests",
        "text": "You both care about birdwatching and chess",
        "tags": ["birdwatching", "chess"],
    }


def test_member_who_offers_what_you_need_is_suggested_and_named_in_reasons() -> None:
    members = ["sam", "you", "x", "y"]
    profiles = [
        MemberProfile("sam", "Sam", offers=("cv writing",)),
        MemberProfile("you", needs=("cv writing",)),
    ]
    index = build(members, [("x", "y")], profiles)
    [first, *_] = suggest(index, "you")
    assert first.member_id == "sam"
    assert {
        "kind": "can_help_you",
        "text": "Sam can help with cv writing, which you asked for",
        "tags": ["cv writing"],
    } in first.reasons


def test_member_who_needs_what_you_offer_is_explained_with_a_neutral_pronoun() -> None:
    members = ["asker", "you", "x", "y"]
    profiles = [
        MemberProfile("asker", needs=("tax forms",)),
        MemberProfile("you", offers=("tax forms",)),
    ]
    index = build(members, [("x", "y")], profiles)
    [first, *_] = suggest(index, "you")
    assert first.member_id == "asker"
    assert {
        "kind": "you_can_help",
        "text": "You could help them with tax forms",
        "tags": ["tax forms"],
    } in first.reasons


def test_private_needs_never_appear_in_reasons_of_either_member() -> None:
    members = ["you", "helper", "seeker", "x"]
    profiles = [
        # The target's private need is met by the helper; the seeker's private need by the target.
        MemberProfile(
            "you",
            interests=("grief", "gardening"),
            private_needs=("grief",),
            offers=("debt advice",),
        ),
        MemberProfile("helper", "Helper", interests=("grief",), offers=("grief",)),
        MemberProfile(
            "seeker",
            "Seeker",
            interests=("gardening", "debt advice"),
            private_needs=("debt advice",),
        ),
    ]
    index = build(members, [("helper", "x")], profiles)
    for asker in ("you", "helper", "seeker"):
        found = suggest(index, asker)
        assert found, asker
        text = all_reason_text(found)
        assert "grief" not in text
        assert "debt advice" not in text
    # The private matches still count for matching.
    assert {"helper", "seeker"} <= set(suggested(index, "you"))


def test_members_in_the_same_support_group_are_told_so() -> None:
    members = ["ann", "bob", "x", "y"]
    index = build(members, [("x", "y")], group_members={"g1": ["ann", "bob"]})
    [first, *_] = suggest(index, "ann")
    assert first.member_id == "bob"
    assert {
        "kind": "same_support_group",
        "text": "You are in the same support group",
        "tags": [],
    } in first.reasons


def test_mutual_connections_are_counted_in_plural() -> None:
    members = ["you", "a", "b", "sam"]
    ties = [("you", "a"), ("you", "b"), ("a", "sam"), ("b", "sam")]
    index = build(members, ties, [MemberProfile("sam", "Sam")])
    [first] = suggest(index, "you")
    assert {
        "kind": "mutual_connections",
        "text": "2 people you know already know Sam",
        "tags": [],
    } in (first.reasons)


def test_new_member_is_favoured_and_told_as_such() -> None:
    now = datetime(2025, 6, 1, tzinfo=UTC)
    members = ["you", "old", "new", "x"]
    profiles = [
        MemberProfile("you", interests=("chess",)),
        MemberProfile("old", "Olga", interests=("chess",), created_at=now - timedelta(days=400)),
        MemberProfile("new", "Nina", interests=("chess",), created_at=now - timedelta(days=3)),
    ]
    index = build(members, [("old", "x")], profiles)
    [first, second, *_] = suggest(index, "you", now=now)
    assert first.member_id == "new"
    assert {
        "kind": "new_member",
        "text": "Nina is new to the community",
        "tags": [],
    } in first.reasons
    assert second.member_id == "old"


def test_member_at_the_exposure_cap_is_skipped() -> None:
    index = build(CIRCLE, CIRCLE_TIES, CIRCLE_PROFILES)
    assert "cat" in suggested(index, "ann")
    capped = suggested(index, "ann", exposures={"cat": 3}, max_exposures_per_week=3)
    assert "cat" not in capped
    assert "cat" in suggested(index, "ann", exposures={"cat": 2}, max_exposures_per_week=3)


def test_two_separate_groups_are_two_silos_and_crossing_is_reported() -> None:
    left = [f"l{k}" for k in range(5)]
    right = [f"r{k}" for k in range(5)]
    ties = [(a, b) for group in (left, right) for a in group for b in group if a < b]
    ties.remove(("l0", "l1"))
    profiles = [MemberProfile(m, interests=("chess",)) for m in left + right]
    index = build(left + right, ties, profiles)
    found = suggest(index, "l0")
    assert found[0].member_id == "l1"
    assert found[0].crosses_silo is False
    assert all(s.crosses_silo for s in found[1:])
    reason = {
        "kind": "new_part_of_community",
        "text": "They are from a part of the community you have no ties to yet",
        "tags": [],
    }
    assert reason in found[1].reasons


def test_member_without_a_profile_is_open_and_can_be_suggested() -> None:
    index = build(["a", "b", "c"], [("a", "b"), ("b", "c")])
    assert suggested(index, "a") == ["c"]
