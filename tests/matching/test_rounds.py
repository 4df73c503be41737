"""Intro rounds on tiny hand-made communities: every hard rule, trios, reasons, and optimality."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import networkx as nx
import numpy as np
import pytest

from belonging.graph import CommunityGraph
from belonging.matching.index import SuggestionIndex
from belonging.matching.pairing import dual_bound, max_weight_matching
from belonging.matching.profiles import MemberProfile
from belonging.matching.rounds import (
    NO_ALLOWED_PARTNER,
    NO_COMMON_FORMAT,
    NOT_OPEN,
    PARTNERS_TAKEN,
    Round,
    plan_round,
)


def build(
    members: Sequence[str],
    ties: Iterable[tuple[str, str]] = (),
    profiles: Iterable[MemberProfile] = (),
    **options: object,
) -> tuple[SuggestionIndex, dict[str, MemberProfile]]:
    given = {p.member_id: p for p in profiles}
    everyone = [given.get(m, MemberProfile(m, interests=("walking",))) for m in members]
    graph = CommunityGraph.from_edges(list(members), list(ties))
    index = SuggestionIndex.build(graph, everyone, **options)  # type: ignore[arg-type]
    return index, {p.member_id: p for p in everyone}


def pairs_of(result: Round) -> set[frozenset[str]]:
    return {frozenset(g.member_ids) for g in result.groups}


def reason_of(result: Round, member_id: str) -> str:
    return next(u.reason for u in result.unpaired if u.member_id == member_id)


def assert_everyone_accounted_for(result: Round, members: Iterable[str]) -> None:
    seen = [m for g in result.groups for m in g.member_ids] + [u.member_id for u in result.unpaired]
    assert sorted(seen) == sorted(members)


def test_each_member_is_in_at_most_one_group() -> None:
    members = [f"m{k}" for k in range(9)]
    index, profiles = build(members)
    result = plan_round(index, profiles=profiles)
    assert_everyone_accounted_for(result, members)
    assert all(len(g.member_ids) in (2, 3) for g in result.groups)


def test_an_odd_member_out_joins_a_trio() -> None:
    members = ["a", "b", "c"]
    index, profiles = build(members)
    result = plan_round(index, profiles=profiles)
    assert [sorted(g.member_ids) for g in result.groups] == [["a", "b", "c"]]
    assert result.unpaired == []


def test_at_most_one_trio_per_round() -> None:
    # d and e can only meet a or b, who are paired with each other: only one of them joins.
    members = ["a", "b", "c", "d", "e"]
    ties = [("c", "d"), ("c", "e"), ("d", "e")]
    index, profiles = build(members, ties)
    result = plan_round(index, profiles=profiles)
    assert sum(len(g.member_ids) == 3 for g in result.groups) <= 1
    assert_everyone_accounted_for(result, members)


def test_members_already_tied_are_never_paired() -> None:
    index, profiles = build(["a", "b", "c", "d"], [("a", "b"), ("c", "d")])
    result = plan_round(index, profiles=profiles)
    assert frozenset({"a", "b"}) not in pairs_of(result)
    assert frozenset({"c", "d"}) not in pairs_of(result)
    assert len(result.groups) == 2


def test_ties_newer_than_the_index_are_respected() -> None:
    index, profiles = build(["a", "b"])
    result = plan_round(index, profiles=profiles, excluded_pairs=[("b", "a")])
    assert result.groups == []
    assert reason_of(result, "a") == NO_ALLOWED_PARTNER.format(rounds=4)


def test_blocked_pairs_are_never_paired_either_way() -> None:
    index, profiles = build(["a", "b", "c", "d"], blocks=[("b", "a"), ("c", "d")])
    result = plan_round(index, profiles=profiles)
    assert frozenset({"a", "b"}) not in pairs_of(result)
    assert frozenset({"c", "d"}) not in pairs_of(result)
    assert len(result.groups) == 2


def test_declined_pairs_are_never_paired() -> None:
    index, profiles = build(["a", "b"], declined=[("a", "b")])
    result = plan_round(index, profiles=profiles)
    assert result.groups == []
    assert {u.member_id for u in result.unpaired} == {"a", "b"}


def test_members_not_open_to_suggestions_are_left_out_with_the_reason() -> None:
    closed = MemberProfile("c", interests=("walking",), open_to_suggestions=False)
    index, profiles = build(["a", "b", "c"], profiles=[closed])
    everyone = plan_round(index, profiles=profiles)
    assert pairs_of(everyone) == {frozenset({"a", "b"})}
    assert everyone.unpaired == []  # c is not invited by default
    asked = plan_round(index, member_ids=["a", "b", "c"], profiles=profiles)
    assert reason_of(asked, "c") == NOT_OPEN
    later = plan_round(index, profiles=profiles, not_open=["b"])
    assert later.groups == []


def test_pairs_from_recent_rounds_are_not_repeated() -> None:
    index, profiles = build(["a", "b", "c", "d"])
    history: list[list[tuple[str, ...]]] = []
    seen: set[frozenset[str]] = set()
    for _ in range(3):
        result = plan_round(index, profiles=profiles, history=history, avoid_repeat_rounds=4)
        assert not pairs_of(result) & seen
        seen |= pairs_of(result)
        history.insert(0, [g.member_ids for g in result.groups])
    # All 6 pairs of 4 members were used in 3 rounds: the fourth finds none allowed.
    fourth = plan_round(index, profiles=profiles, history=history, avoid_repeat_rounds=4)
    assert fourth.groups == []
    # Only the last round counts with avoid_repeat_rounds=1.
    again = plan_round(index, profiles=profiles, history=history, avoid_repeat_rounds=1)
    assert pairs_of(again) and not pairs_of(again) & set(map(frozenset, history[0]))


def test_members_need_a_common_format() -> None:
    online = MemberProfile("a", interests=("walking",), formats=("online",))
    in_person = MemberProfile("b", interests=("walking",), formats=("in_person",))
    index, profiles = build(["a", "b"], profiles=[online, in_person])
    result = plan_round(index, profiles=profiles)
    assert result.groups == []
    assert reason_of(result, "a") == NO_COMMON_FORMAT


def test_members_who_list_languages_need_a_common_one() -> None:
    people = [
        MemberProfile("en", interests=("walking",), languages=("en",)),
        MemberProfile("fr", interests=("walking",), languages=("fr",)),
        MemberProfile("any", interests=("walking",)),
        MemberProfile("fr-en", interests=("walking",), languages=("fr", "en")),
    ]
    index, profiles = build([p.member_id for p in people], profiles=people)
    for _ in range(3):
        result = plan_round(index, profiles=profiles)
        assert frozenset({"en", "fr"}) not in pairs_of(result)
        assert len(result.groups) == 2


def test_isolated_members_get_their_best_partner_first() -> None:
    # "quiet" has no ties; "busy" has many. Both fit "helper" best; the quiet member wins.
    members = ["quiet", "busy", "helper", "other", *[f"f{k}" for k in range(6)]]
    ties = [("busy", f"f{k}") for k in range(6)] + [("f0", "f1"), ("f2", "f3"), ("f4", "f5")]
    shared = ("chess", "hiking", "baking")
    people = [
        MemberProfile("quiet", interests=shared),
        MemberProfile("busy", interests=shared),
        MemberProfile("helper", interests=shared),
        MemberProfile("other", interests=("opera",)),
    ]
    index, profiles = build(members, ties, people)
    result = plan_round(index, member_ids=["quiet", "busy", "helper", "other"], profiles=profiles)
    assert frozenset({"quiet", "helper"}) in pairs_of(result)


def test_private_needs_are_never_named_in_reasons_or_intros() -> None:
    people = [
        MemberProfile("a", display_name="Ann", private_needs=("grief support",), interests=("chess",)),
        MemberProfile("b", display_name="Bo", offers=("grief support",), interests=("chess",)),
    ]
    index, profiles = build(["a", "b"], profiles=people)
    result = plan_round(index, profiles=profiles)
    (group,) = result.groups
    text = group.intro + repr(group.reasons)
    assert "grief" not in text.lower()
    assert "chess" in group.intro


def test_unpaired_members_left_over_say_their_partners_were_taken() -> None:
    # b and c both can only meet a (all other pairs are ties); one is left, and no trio fits.
    index, profiles = build(["a", "b", "c", "d"], [("b", "c"), ("b", "d"), ("c", "d"), ("a", "d")])
    result = plan_round(index, profiles=profiles)
    assert len(result.groups) == 1
    left = [u for u in result.unpaired]
    assert {u.reason for u in left} <= {PARTNERS_TAKEN, NO_ALLOWED_PARTNER.format(rounds=4)}
    assert_everyone_accounted_for(result, ["a", "b", "c", "d"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_members_whose_candidates_were_all_taken_meet_each_other(seed: int) -> None:
    # 400 members: candidates are sampled, so the matching leaves some whose candidates all
    # went to others; any two of them may still meet, so everyone is paired.
    rng = np.random.default_rng(seed)
    members = [f"m{k}" for k in range(400)]
    graph = nx.gnm_random_graph(400, 1600, seed=seed)
    ties = [(f"m{a}", f"m{b}") for a, b in graph.edges]
    topics = ["chess", "opera", "walking", "cooking", "cycling", "poetry", "gardening", "film"]
    people = [MemberProfile(m, interests=tuple(rng.choice(topics, size=2, replace=False))) for m in members]
    index, profiles = build(members, ties, people)
    result = plan_round(index, profiles=profiles, random_state=seed)
    assert result.unpaired == []
    assert sum(len(g.member_ids) for g in result.groups) == 400
    assert result.objective <= result.bound + 1e-9


def test_objective_is_the_sum_of_group_weights_and_below_the_bound() -> None:
    members = [f"m{k}" for k in range(30)]
    rng = np.random.default_rng(1)
    ties = {(f"m{a}", f"m{b}") for a, b in rng.integers(0, 30, size=(40, 2)) if a < b}
    people = [MemberProfile(m, interests=tuple(rng.choice(["a", "b", "c", "d", "e"], size=2))) for m in members]
    index, profiles = build(members, sorted(ties), people)
    result = plan_round(index, profiles=profiles, bridging_weight=0.5)
    assert result.objective == pytest.approx(sum(g.weight for g in result.groups))
    assert result.objective <= result.bound + 1e-9
    assert_everyone_accounted_for(result, members)


def test_new_members_are_weighted_up() -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    old = now - timedelta(days=400)
    people = [
        MemberProfile("new", interests=("chess",), created_at=now - timedelta(days=2)),
        MemberProfile("old", interests=("chess",), created_at=old),
        MemberProfile("host", interests=("chess",), created_at=old),
        MemberProfile("x", interests=("opera",), created_at=old),
    ]
    index, profiles = build(["new", "old", "host", "x"], profiles=people)
    result = plan_round(index, profiles=profiles, now=now)
    assert frozenset({"new", "host"}) in pairs_of(result) or frozenset({"new", "old"}) in pairs_of(result)


def random_graph(n: int, degree: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    m = n * degree // 2
    u, v = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = u != v
    keys = np.unique(np.minimum(u[keep], v[keep]) * n + np.maximum(u[keep], v[keep]))
    w = rng.random(len(keys)) * rng.random(len(keys)) + 0.01
    return keys // n, keys % n, w


@pytest.mark.parametrize(("n", "degree", "seed"), [(60, 6, 0), (400, 5, 1), (1000, 4, 2), (2000, 3, 3)])
def test_matching_is_within_one_percent_of_the_exact_optimum(n: int, degree: int, seed: int) -> None:
    u, v, w = random_graph(n, degree, seed)
    ours = max_weight_matching(n, u, v, w)
    graph = nx.Graph()
    graph.add_weighted_edges_from(zip(u.tolist(), v.tolist(), w.tolist(), strict=True))
    exact = sum(graph[a][b]["weight"] for a, b in nx.max_weight_matching(graph))
    assert ours.weight >= 0.99 * exact
    assert ours.bound >= exact - 1e-6
    mate = ours.mate
    matched = np.flatnonzero(mate >= 0)
    assert (mate[mate[matched]] == matched).all()


def test_greedy_with_local_improvement_alone_stays_close() -> None:
    u, v, w = random_graph(500, 6, 7)
    ours = max_weight_matching(500, u, v, w, relaxation=False)
    exact = max_weight_matching(500, u, v, w)
    assert ours.weight >= 0.97 * exact.weight
    assert dual_bound(500, u, v, w) >= exact.weight - 1e-6
