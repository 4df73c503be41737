"""Support-group placement: speed and quality of the exact engine against a first-come greedy.

    .venv/bin/python bench/placement.py              # every instance, then the real survey
    .venv/bin/python bench/placement.py --quick      # skip the 50k-member instances

For each seeded random instance (1k members / 50 groups, 10k / 500, 50k / 2,500, each without
and with block pairs, half of them between members who share a need, and a 1k instance with
dense blocks where integer programming is needed), the planted instance and the real
mentoring survey, it prints one row: time, members placed and objective for
:func:`matching.placement.propose_placement`, for :func:`matching.placement.greedy_placement`
(first come, first served), and for a reference optimum built independently here: eligibility
and fit written out pair by pair in plain Python from the documented formula, solved as an
integer programme by HiGHS through ``scipy.optimize.milp``. ``gap`` is how far the engine's
objective is below the reference (target 0); ``check`` says whether every assignment the
engine made is eligible, respects seats, limits and blocks, and carries the fit the reference
computes for it.

Targets: gap 0 everywhere; 10k members into 500 groups in 1 s or less.

Real data: the peer-mentoring sign-up survey in ``shared/data/mentoring_survey_me_grad`` (found
next to the project, or under ``$BELONGING_SHARED_DATA``). Each mentor leads a circle whose
topics are their research areas and whose free seats are the number of students they offered
to mentor; mentees need their own research areas. Two respondents with the same advisor count
as tied, so mentees without an advisor yet come first. The survey has no meeting-mode or
language answers, so neither restricts anything.
"""

from __future__ import annotations

import argparse
import csv
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from harness import shared_data
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from belonging.matching.groups import FORMATS, SupportGroup
from belonging.matching.placement import (
    FIT_DECIMALS,
    MIN_FIT,
    Placement,
    PlacementOptions,
    greedy_placement,
    propose_placement,
)
from belonging.matching.profiles import MemberProfile, normalise_tags

LANGUAGES = ("en", "nl", "de", "fr")
LANGUAGE_SHARE = (0.6, 0.2, 0.1, 0.1)
COHORTS = tuple(str(year) for year in range(2015, 2025))
SURVEY = "mentoring_survey_me_grad"


class Instance(NamedTuple):
    name: str
    members: list[MemberProfile]
    groups: list[SupportGroup]
    blocks: frozenset[frozenset[str]]
    degrees: dict[str, int]


# --- instances ---------------------------------------------------------------------------------


def random_instance(n_members: int, n_groups: int, seed: int, *, n_blocks: int = 0) -> Instance:
    """A seeded community with support groups of 10 to 30 seats, 0 to 40% taken.

    Needs and group topics follow a Zipf-like popularity over ``n_groups / 8`` topics; a sixth
    of members keep their need private; formats, languages and cohorts vary; tie counts are
    geometric (about 15% of members have none). Half the block pairs join two members who share
    a need, so that blocks actually constrain the placement.
    """
    rng = np.random.default_rng(seed)
    n_topics = max(20, n_groups // 8)
    topics = [f"topic {t}" for t in range(n_topics)]
    popularity = 1.0 / np.arange(1, n_topics + 1) ** 0.8
    popularity /= popularity.sum()
    interest_tags = [f"interest {t}" for t in range(300)]
    interest_popularity = 1.0 / np.arange(1, 301) ** 0.7
    interest_popularity /= interest_popularity.sum()

    members = []
    for i in range(n_members):
        needs = tuple(topics[t] for t in rng.choice(n_topics, rng.integers(1, 3), p=popularity))
        needs = tuple(dict.fromkeys(needs))
        private: tuple[str, ...] = ()
        if rng.random() < 1 / 6:
            needs, private = needs[1:], needs[:1]
        draw = rng.random()
        formats = FORMATS if draw < 0.55 else ("online",) if draw < 0.85 else ("in_person",)
        languages: tuple[str, ...] = ()
        if rng.random() > 0.1:
            count = 1 if rng.random() < 0.7 else 2
            languages = tuple(rng.choice(LANGUAGES, count, replace=False, p=LANGUAGE_SHARE))
        interests = rng.choice(interest_tags, rng.integers(0, 7), replace=False, p=interest_popularity)
        members.append(
            MemberProfile(
                f"m{i}",
                needs=needs,
                private_needs=private,
                interests=tuple(interests),
                formats=formats,
                languages=languages,
                attributes={"cohort": COHORTS[rng.integers(len(COHORTS))]},
            )
        )
    groups = []
    for k in range(n_groups):
        group_topics = tuple({topics[t] for t in rng.choice(n_topics, rng.integers(1, 3), p=popularity)})
        capacity = int(rng.integers(10, 31))
        taken = rng.choice(n_members, int(rng.integers(0, int(0.4 * capacity) + 1)), replace=False)
        groups.append(
            SupportGroup(
                f"g{k}",
                f"Group {k}",
                group_topics,
                capacity,
                "online" if rng.random() < 0.6 else "in_person",
                None if rng.random() < 0.5 else str(rng.choice(LANGUAGES, p=LANGUAGE_SHARE)),
                tuple(f"m{j}" for j in taken),
                "closed" if rng.random() < 0.05 else "open",
            )
        )
    by_need: dict[str, list[str]] = {}
    for member in members:
        for need in member.all_needs:
            by_need.setdefault(need, []).append(member.member_id)
    blocks: set[frozenset[str]] = set()
    while len(blocks) < n_blocks:
        if len(blocks) % 2:
            a, b = rng.choice(n_members, 2, replace=False)
            pair = frozenset({f"m{a}", f"m{b}"})
        else:
            sharing = by_need[topics[rng.choice(n_topics, p=popularity)]] or ["m0"]
            pair = frozenset(rng.choice(sharing, 2).tolist())
        if len(pair) == 2:
            blocks.add(pair)
    degrees = {m.member_id: int(d) for m, d in zip(members, rng.geometric(0.15, n_members) - 1, strict=True)}
    return Instance(
        f"random {n_members // 1000}k/{n_groups}" + (f" +{n_blocks} blocks" if n_blocks else ""),
        members,
        groups,
        frozenset(blocks),
        degrees,
    )


def planted_instance(n_topics: int = 100, seats: int = 5) -> Instance:
    """Everyone fits, but only if the flexible members who sign up first step aside.

    Per topic ``t``: ``seats`` flexible members need ``t`` and ``t extra`` and arrive first;
    ``seats`` specific members need only ``t``. Group ``t both`` serves both needs and fits a
    flexible member best (2.0 against 1.5 in ``t extra``), but it is the only group for the
    specific members. First come takes ``t both`` for the flexible members and strands every
    specific member; the optimum seats flexible members in ``t extra`` and places everyone.
    """
    flexible, specific, groups = [], [], []
    for t in range(n_topics):
        need, extra = f"topic {t}", f"topic {t} extra"
        flexible += [MemberProfile(f"flexible {t}.{s}", needs=(need, extra)) for s in range(seats)]
        specific += [MemberProfile(f"specific {t}.{s}", needs=(need,)) for s in range(seats)]
        groups.append(SupportGroup(f"{need} both", need, (need, extra), seats, "online"))
        groups.append(SupportGroup(f"{need} extra", extra, (extra,), seats, "online"))
    name = f"planted {2 * n_topics * seats // 1000}k/{2 * n_topics}"
    return Instance(name, flexible + specific, groups, frozenset(), {})


def survey_instance(data_dir: Path) -> Instance:
    """The mentoring survey: mentors' circles as groups, mentees as members to place."""
    with (data_dir / SURVEY / "mentoring_submissions.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    column = {key.split("?")[0].split("(")[0].strip().lower(): key for key in rows[0]}
    role = column["would you like to be a mentor or a mentee"]
    areas = column["which sub-discipline"]
    capacity = column["how many students would you like to mentor"]
    advisor = column["name of your research advisor"]
    degree = column["current degree program"]
    members, groups = [], []
    for row in rows:
        member_id = row[column["your name"]].strip()
        tags = tuple(normalise_tags(row[areas].split(",")))
        attributes = {"degree": row[degree].strip()}
        if row[role].strip().lower() == "mentor":
            members.append(MemberProfile(member_id, attributes=attributes))
            groups.append(
                SupportGroup(
                    f"circle of {member_id}",
                    f"{member_id}'s circle",
                    tags,
                    int(row[capacity]) + 1,  # the mentor sits in their own circle
                    "in_person",
                    None,
                    (member_id,),
                )
            )
        else:
            members.append(MemberProfile(member_id, needs=tags, attributes=attributes))
    lab: dict[str, list[str]] = {}
    for row in rows:
        if row[advisor].strip():
            lab.setdefault(row[advisor].strip(), []).append(row[column["your name"]].strip())
    degrees = {m: len(people) - 1 for people in lab.values() for m in people}
    return Instance("mentoring survey", members, groups, frozenset(), degrees)


# --- the independent reference -----------------------------------------------------------------


def half_up(value: float) -> float:
    """Round half up to FIT_DECIMALS places, as the documented fit is rounded."""
    scale = 10**FIT_DECIMALS
    return math.floor(value * scale + 0.5 + 1e-6) / scale


def reference_fits(instance: Instance, options: PlacementOptions) -> dict[tuple[str, str], float]:
    """Eligibility and fit of every pair, written out one pair at a time from the documented rules."""
    profiles = {m.member_id: m for m in instance.members}
    groups_of: dict[str, list[SupportGroup]] = {}
    for group in instance.groups:
        for member_id in group.member_ids:
            groups_of.setdefault(member_id, []).append(group)
    blocked: dict[str, set[str]] = {}
    for a, b in (tuple(p) for p in instance.blocks):
        blocked.setdefault(a, set()).add(b)
        blocked.setdefault(b, set()).add(a)
    by_topic: dict[str, list[SupportGroup]] = {}
    for group in instance.groups:
        for topic in group.topics:
            by_topic.setdefault(topic, []).append(group)
    fits = {}
    for member in instance.members:
        served = {t for g in groups_of.get(member.member_id, ()) for t in g.topics}
        needs = [n for n in member.all_needs if n not in served]
        languages = set(normalise_tags(member.languages))
        seen = set()
        for group in (g for n in needs for g in by_topic.get(n, ())):
            if group.group_id in seen:
                continue
            seen.add(group.group_id)
            if group.status != "open" or len(group.member_ids) >= group.capacity:
                continue
            if member.member_id in group.member_ids:
                continue
            if member.formats and group.format not in member.formats:
                continue
            if group.language is not None and languages and group.language not in languages:
                continue
            if blocked.get(member.member_id, set()) & set(group.member_ids):
                continue
            known = [profiles[m] for m in group.member_ids if m in profiles]
            need = len(set(needs) & set(group.topics)) / len(needs)
            interest = 0.0
            if known and member.interests:
                mine = set(member.interests)
                interest = sum(len(mine & set(o.interests)) / len(mine) for o in known) / len(known)
            priority = 1 / (1 + instance.degrees.get(member.member_id, 0))
            spread = lone = 0.0
            if options.spread_attribute and known:
                value = member.attributes.get(options.spread_attribute)
                if value is not None:
                    same = sum(o.attributes.get(options.spread_attribute) == value for o in known)
                    spread = same / len(known)
            if options.avoid_lone_attribute and known:
                value = member.attributes.get(options.avoid_lone_attribute)
                if value is not None:
                    lone = float(all(o.attributes.get(options.avoid_lone_attribute) != value for o in known))
            raw = (
                options.need_weight * need
                + options.interest_weight * interest
                + options.priority_weight * priority
                - options.spread_weight * spread
                - options.avoid_lone_weight * lone
            )
            fits[member.member_id, group.group_id] = half_up(max(raw, MIN_FIT))
    return fits


def reference_optimum(
    instance: Instance, options: PlacementOptions, fits: Mapping[tuple[str, str], float]
) -> tuple[float, int, str]:
    """The integer optimum over ``fits``: objective, members placed, and how it was proven
    (``LP``: the simplex optimum of the relaxation was integral; ``ILP``: branch and bound)."""
    pairs = list(fits)
    if not pairs:
        return 0.0, 0, "empty"
    profiles = {m.member_id: m for m in instance.members}
    member_row = {m: r for r, m in enumerate(dict.fromkeys(m for m, _ in pairs))}
    group_row = {g: len(member_row) + r for r, g in enumerate(dict.fromkeys(g for _, g in pairs))}
    seats = {g.group_id: g.capacity - len(g.member_ids) for g in instance.groups}
    served_needs = {m: 0 for m in member_row}
    for member_id in member_row:
        served = {t for g in instance.groups if member_id in g.member_ids for t in g.topics}
        served_needs[member_id] = len([n for n in profiles[member_id].all_needs if n not in served])
    rows, cols = [], []
    for col, (m, g) in enumerate(pairs):
        rows += [member_row[m], group_row[g]]
        cols += [col, col]
    upper = [min(options.max_new_groups_per_member, served_needs[m]) for m in member_row]
    upper += [seats[g] for g in group_row]
    column_of = {pair: col for col, pair in enumerate(pairs)}
    groups_of_member: dict[str, list[str]] = {}
    for m, g in pairs:
        groups_of_member.setdefault(m, []).append(g)
    for a, b in (tuple(p) for p in instance.blocks):
        for g in set(groups_of_member.get(a, ())) & set(groups_of_member.get(b, ())):
            rows += [len(upper), len(upper)]
            cols += [column_of[a, g], column_of[b, g]]
            upper.append(1)
    matrix = sp.csr_array((np.ones(len(rows)), (rows, cols)), shape=(len(upper), len(pairs)))
    cost = np.array([fits[p] for p in pairs])
    # The LP relaxation bounds every placement; if its simplex optimum is integral, it is one.
    relaxed = linprog(-cost, A_ub=matrix, b_ub=np.array(upper, dtype=float), bounds=(0, 1), method="highs-ds")
    x, status = relaxed.x, "LP"
    if np.abs(x - np.round(x)).max() > 1e-6:
        result = milp(
            -cost,
            constraints=LinearConstraint(matrix, -np.inf, np.array(upper, dtype=float)),
            integrality=np.ones(len(pairs)),
            bounds=Bounds(0, 1),
            options={"time_limit": 1800.0, "mip_rel_gap": 0.0},
        )
        x, status = result.x, "ILP" if result.status == 0 else f"ILP {result.message}"
    x = np.round(x)
    placed = len({pairs[c][0] for c in np.flatnonzero(x)})
    return float(cost @ x), placed, status


def check(
    instance: Instance,
    placement: Placement,
    fits: Mapping[tuple[str, str], float],
    options: PlacementOptions,
) -> str:
    """``ok``, or the first hard rule or fit the placement gets wrong."""
    seats = {g.group_id: g.capacity - len(g.member_ids) for g in instance.groups}
    members_in = {g.group_id: set(g.member_ids) for g in instance.groups}
    newcomers: dict[str, set[str]] = {g.group_id: set() for g in instance.groups}
    per_member: dict[str, int] = {}
    for a in placement.assignments:
        if (a.member_id, a.group_id) not in fits:
            return f"ineligible pair {a.member_id} -> {a.group_id}"
        if abs(fits[a.member_id, a.group_id] - a.fit) > 1e-9:
            return f"fit {a.fit} != reference {fits[a.member_id, a.group_id]}"
        seats[a.group_id] -= 1
        members_in[a.group_id].add(a.member_id)
        newcomers[a.group_id].add(a.member_id)
        per_member[a.member_id] = per_member.get(a.member_id, 0) + 1
    if min(seats.values(), default=0) < 0:
        return "a group is over capacity"
    if max(per_member.values(), default=0) > options.max_new_groups_per_member:
        return "a member got too many groups"
    # Two current members who block each other may already share a group; only a placement
    # that seats someone new beside a member they block is wrong.
    for pair in instance.blocks:
        if any(pair <= members_in[g] and pair & newcomers[g] for g in members_in):
            return f"blocked pair {sorted(pair)} share a group"
    if abs(math.fsum(a.fit for a in placement.assignments) - placement.objective) > 1e-6:
        return "objective is not the sum of fits"
    return "ok"


# --- the table ---------------------------------------------------------------------------------


def placed(placement: Placement) -> int:
    return len({a.member_id for a in placement.assignments})


def run(instance: Instance, options: PlacementOptions) -> dict[str, object]:
    kwargs = dict(blocks=instance.blocks, degrees=instance.degrees, options=options)
    started = time.perf_counter()
    ours = propose_placement(instance.members, instance.groups, **kwargs)
    ours_seconds = time.perf_counter() - started
    started = time.perf_counter()
    greedy = greedy_placement(instance.members, instance.groups, **kwargs)
    greedy_seconds = time.perf_counter() - started
    started = time.perf_counter()
    fits = reference_fits(instance, options)
    reference, reference_placed, status = reference_optimum(instance, options, fits)
    reference_seconds = time.perf_counter() - started
    gap = (reference - ours.objective) / reference if reference else 0.0
    gap = 0.0 if abs(gap) < 1e-12 else gap
    return {
        "instance": instance.name,
        "to place": placed(ours) + len(ours.unplaced),
        "pairs": ours.solver.pairs,
        "columns": ours.solver.columns,
        "method": f"{ours.solver.method}/{ours.solver.status}",
        "ours s": f"{ours_seconds:.2f}",
        "ours placed": placed(ours),
        "ours objective": f"{ours.objective:.4f}",
        "greedy s": f"{greedy_seconds:.2f}",
        "greedy placed": placed(greedy),
        "greedy objective": f"{greedy.objective:.4f}",
        "ref s": f"{reference_seconds:.2f}",
        "ref placed": reference_placed,
        "ref objective": f"{reference:.4f}",
        "ref by": status,
        "gap": f"{gap:.1e}" if gap else "0",
        "check": check(instance, ours, fits, options),
    }


def progress(row: Mapping[str, object]) -> None:
    print(
        f"  {row['instance']}: ours {row['ours s']} s, greedy {row['greedy s']} s, "
        f"reference {row['ref s']} s, gap {row['gap']}, {row['check']}",
        flush=True,
    )


def print_table(rows: Sequence[Mapping[str, object]]) -> None:
    headers = list(rows[0])
    widths = [max(len(h), *(len(str(r[h])) for r in rows)) for h in headers]
    print("  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True)))
    for row in rows:
        print("  ".join(str(row[h]).rjust(w) for h, w in zip(headers, widths, strict=True)))


def print_survey(instance: Instance) -> None:
    placement = propose_placement(instance.members, instance.groups, degrees=instance.degrees)
    greedy = greedy_placement(instance.members, instance.groups, degrees=instance.degrees)
    print(
        f"\n{instance.name}: {len(instance.groups)} mentor circles, {placed(placement)} mentees placed "
        f"(greedy {placed(greedy)}), objective {placement.objective:.4f} "
        f"(greedy {greedy.objective:.4f}), {placement.solver.method}/{placement.solver.status}"
    )
    for a in placement.assignments:
        why = "; ".join(r.text for r in a.reasons)
        print(f"  {a.member_id:>10} -> {a.group_id:<17} fit {a.fit:.4f}  {why}")
    for u in placement.unplaced:
        print(f"  {u.member_id:>10} not placed: {u.reason}")
    for g in placement.proposed_groups:
        print(f"  proposed: {g.name} for {', '.join(g.member_ids)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip the 50k-member instances")
    args = parser.parse_args()
    # A generous time limit, so that every size shows the time to a proven optimum.
    options = PlacementOptions(spread_attribute="cohort", time_limit_s=600.0)
    sizes = [(1_000, 50), (10_000, 500)] + ([] if args.quick else [(50_000, 2_500)])
    rows = []
    for seed, (n_members, n_groups) in enumerate(sizes):
        for n_blocks in (0, n_members // 20):
            instance = random_instance(n_members, n_groups, seed, n_blocks=n_blocks)
            rows.append(run(instance, options))
            progress(rows[-1])
    # Dense blocks, so that the LP with block rows is fractional and the MIP has work to do.
    rows.append(run(random_instance(1_000, 50, 3, n_blocks=2_000), options))
    progress(rows[-1])
    rows.append(run(planted_instance(), PlacementOptions()))
    progress(rows[-1])
    data = shared_data()
    if (data / SURVEY).is_dir():
        survey = survey_instance(data)
        rows.append(run(survey, PlacementOptions()))
    print()
    print_table(rows)
    if (data / SURVEY).is_dir():
        print_survey(survey)
    else:
        print(f"\nmentoring survey skipped: {data / SURVEY} not found (set BELONGING_SHARED_DATA)")


if __name__ == "__main__":
    main()
