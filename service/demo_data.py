"""A seeded, plausible demo community: member profiles, connections and support groups.

Pure data, no I/O: ``belonging demo`` and the tests load what this returns. The community is
built to exercise the product: neighbourhoods form visible silos, degrees are heavy-tailed,
some members are isolated or hang on a single tie, requests and offers of help are unbalanced
as in a real time bank, and the support groups leave some common needs unserved.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field
from itertools import accumulate

# Favourite interests per neighbourhood, so that silos share tastes, not only addresses.
NEIGHBOURHOODS: dict[str, tuple[str, ...]] = {
    "Riverside": ("running", "cycling", "photography", "birdwatching", "swimming", "hiking"),
    "Old Town": ("choir", "theatre", "book club", "jazz", "painting", "film"),
    "Northgate": ("python", "board games", "chess", "film", "climbing", "photography"),
    "Millfield": ("gardening", "baking", "knitting", "woodworking", "birdwatching", "cooking"),
    "Harbourside": ("football", "running", "cooking", "swimming", "volunteering", "yoga"),
    "Eastbrook": ("yoga", "hiking", "board games", "cooking", "volunteering", "gardening"),
}
_NEIGHBOURHOOD_SHARE = (0.24, 0.20, 0.17, 0.15, 0.13, 0.11)
INTERESTS: tuple[str, ...] = tuple(sorted({i for tags in NEIGHBOURHOODS.values() for i in tags}))
COHORTS: tuple[str, ...] = ("2019", "2020", "2021", "2022", "2023", "2024")
_COHORT_SHARE = (0.10, 0.12, 0.15, 0.18, 0.20, 0.25)  # the community is growing

# Support topic -> (how often it is asked for, how often it is offered).
SUPPORT_TOPICS: dict[str, tuple[float, float]] = {
    "cv writing": (5, 3),
    "job search": (6, 2),
    "english conversation": (6, 4),
    "grief": (3, 1),
    "new parent": (4, 2),
    "moving to the area": (5, 3),
    "loneliness": (5, 1),
    "tax forms": (4, 1),
    "bike repair": (2, 4),
    "tutoring maths": (3, 4),
    "computer help": (4, 5),
    "dog walking": (2, 5),
    "childcare swap": (3, 3),
    "mental health peer support": (4, 2),
}
_SENSITIVE_NEEDS = ("grief", "loneliness", "mental health peer support")
_GROUP_TEMPLATES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Job Club", ("job search", "cv writing")),
    ("English Conversation Café", ("english conversation",)),
    ("New in Town", ("moving to the area",)),
    ("Grief Circle", ("grief",)),
    ("New Parents Meetup", ("new parent", "childcare swap")),
    ("Peer Support Circle", ("mental health peer support", "loneliness")),
    ("Paperwork Help Desk", ("tax forms",)),
    ("Digital Help Hour", ("computer help",)),
)
FIRST_NAMES: tuple[str, ...] = tuple(
    (
        "Amara Ben Chloé Daan Elif Farah Gus Hana Ines Jonas Kofi Lena Mateo Noor Oscar Priya "
        "Quinn Rosa Sam Tomás Uma Viktor Wen Yusuf Zoë Aiko Bram Carmen Dmitri Esther Femke "
        "Gabriel Hugo Isla Jada Kai Lucía Milan Nadia Olu Pieter Rania Sofia Theo Valentina "
        "Wouter Xavier Yara Lotte Marek"
    ).split()
)
_FORMATS = (("online", "in_person"), ("in_person",), ("online",))
_EXTRA_LANGUAGES = (("nl", 0.20), ("fr", 0.08), ("es", 0.08))
_GROUP_LANGUAGES = (("en", 0.8), ("nl", 0.2))
_KINDS_WITHIN = (("neighbour", 0.40), ("friend", 0.35), ("event", 0.15), ("colleague", 0.10))
_KINDS_ACROSS = (("colleague", 0.40), ("event", 0.35), ("friend", 0.25))
_WEIGHT_RANGE = {
    "friend": (2.5, 5.0),
    "neighbour": (1.5, 4.0),
    "colleague": (1.0, 3.5),
    "event": (1.0, 2.5),
}
ISOLATE_SHARE = 0.06
SINGLE_TIE_SHARE = 0.02
WITHIN_NEIGHBOURHOOD = 0.82
SAME_COHORT = 0.45


@dataclass
class DemoCommunity:
    """Member profiles, connections and support groups, each as the JSON a platform would send.

    A member's ``private_needs`` and ``belonging_score`` keys are present only when set.
    Connections are undirected and listed once, with ``a < b``.
    """

    members: list[dict] = field(default_factory=list)
    connections: list[dict] = field(default_factory=list)
    groups: list[dict] = field(default_factory=list)


def _pick(rng: random.Random, options: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def _sample_tags(rng: random.Random, weights: dict[str, float], k: int) -> list[str]:
    """Draw ``k`` distinct tags, each with probability proportional to its weight."""
    pool = dict(weights)
    tags: list[str] = []
    while pool and len(tags) < k:
        tag = rng.choices(list(pool), weights=list(pool.values()))[0]
        tags.append(tag)
        del pool[tag]
    return tags


def _member(rng: random.Random, number: int, neighbourhood: str, cohort: str) -> dict:
    favourites = NEIGHBOURHOODS[neighbourhood]
    interests: list[str] = []
    for _ in range(rng.randint(2, 5)):
        tag = rng.choice(favourites if rng.random() < 0.75 else INTERESTS)
        if tag not in interests:
            interests.append(tag)
    need_weights = {t: w for t, (w, _) in SUPPORT_TOPICS.items()}
    if cohort == COHORTS[-1]:  # newcomers ask about the area and the language far more often
        need_weights["moving to the area"] *= 4
        need_weights["english conversation"] *= 2
    needs = _sample_tags(rng, need_weights, rng.choices([0, 1, 2, 3], [25, 40, 25, 10])[0])
    offer_weights = {t: o for t, (_, o) in SUPPORT_TOPICS.items() if t not in needs}
    offers = _sample_tags(rng, offer_weights, rng.choices([0, 1, 2, 3], [30, 40, 22, 8])[0])
    languages = ["en"] + [lang for lang, p in _EXTRA_LANGUAGES if rng.random() < p]
    member: dict = {
        "member_id": f"m{number:04d}",
        "display_name": f"{rng.choice(FIRST_NAMES)} {chr(rng.randint(65, 90))}.",
        "interests": interests,
        "needs": needs,
        "offers": offers,
        "attributes": {"neighbourhood": neighbourhood, "cohort": cohort},
        "formats": list(rng.choices(_FORMATS, weights=[55, 30, 15])[0]),
        "languages": languages,
        "open_to_suggestions": rng.random() < 0.92,
    }
    if rng.random() < 0.05:
        hidden = [n for n in _SENSITIVE_NEEDS if n not in needs]
        if hidden:
            member["private_needs"] = [rng.choice(hidden)]
    return member


class _WeightedPool:
    """Members to draw from with probability proportional to their activity."""

    def __init__(self, indices: list[int], activity: list[float]) -> None:
        self.indices = indices
        self.cum_weights = list(accumulate(activity[i] for i in indices))

    def draw(self, rng: random.Random) -> int:
        return rng.choices(self.indices, cum_weights=self.cum_weights)[0]


def _wire(
    rng: random.Random, hoods: list[str], cohorts: list[str], n: int
) -> dict[tuple[int, int], None]:
    """Return undirected ties as ``(i, j)`` with ``i < j``: silos, hubs, isolates, single ties."""
    recency = {c: 1 + COHORTS.index(c) / 2 for c in COHORTS}  # newer members are more often alone
    order = sorted(range(n), key=lambda i: -recency[cohorts[i]] * rng.random())
    n_isolates = round(ISOLATE_SHARE * n)
    n_single = max(3, round(SINGLE_TIE_SHARE * n)) if n >= 20 else 0
    isolates = set(order[:n_isolates])
    single = set(order[n_isolates : n_isolates + n_single])
    active = [i for i in range(n) if i not in isolates and i not in single]
    # Heavy-tailed activity (Pareto), damped for recent cohorts: a few hubs, many light members.
    activity = [0.0] * n
    for i in active:
        damping = 1.0 - 0.08 * COHORTS.index(cohorts[i])
        activity[i] = min(60.0, 2.0 * rng.paretovariate(1.4) * damping)
    everyone = _WeightedPool(active, activity)
    by_hood = {
        h: _WeightedPool([i for i in active if hoods[i] == h], activity) for h in NEIGHBOURHOODS
    }
    by_hood_cohort = {
        (h, c): _WeightedPool([i for i in active if hoods[i] == h and cohorts[i] == c], activity)
        for h in NEIGHBOURHOODS
        for c in COHORTS
    }

    def partner(i: int) -> int:
        if rng.random() >= WITHIN_NEIGHBOURHOOD or not by_hood[hoods[i]].indices:
            return everyone.draw(rng)
        local = by_hood_cohort[hoods[i], cohorts[i]]
        pool = local if rng.random() < SAME_COHORT and len(local.indices) > 1 else by_hood[hoods[i]]
        return pool.draw(rng)

    ties: dict[tuple[int, int], None] = {}
    target = round(sum(activity) / 2)
    for _ in range(20 * target):
        if len(ties) >= target or len(active) < 2:
            break
        i = everyone.draw(rng)
        j = partner(i)
        if i != j:
            ties.setdefault((min(i, j), max(i, j)), None)
    # Light members are topped up to two ties, so that single ties stay the chosen handful.
    degree = Counter(i for tie in ties for i in tie)
    for i in [*active, *sorted(single)]:
        for _ in range(50):
            if degree[i] >= (1 if i in single else 2):
                break
            j = partner(i)
            if j != i and (min(i, j), max(i, j)) not in ties:
                ties[min(i, j), max(i, j)] = None
                degree.update((i, j))
    return ties


def _belonging_score(rng: random.Random, degree: int) -> int | None:
    if rng.random() < 0.25:
        return None
    return max(1, min(5, round(1.7 + 0.7 * math.log2(1 + degree) + rng.gauss(0, 0.7))))


def _groups(rng: random.Random, members: list[dict]) -> list[dict]:
    """4 to 6 support groups that serve some, but deliberately not all, common needs."""
    counts = Counter(n for m in members for n in [*m["needs"], *m.get("private_needs", [])])
    common = [t for t, _ in counts.most_common(3)]
    left_out = rng.choice(common) if common else None
    templates = [t for t in _GROUP_TEMPLATES if left_out not in t[1]]
    groups = []
    for name, topics in rng.sample(templates, k=min(len(templates), rng.randint(4, 6))):
        present = [t for t in topics if counts[t]]
        if not present:
            continue
        language = "en" if "english conversation" in present else _pick(rng, _GROUP_LANGUAGES)
        groups.append(
            {
                "name": name,
                "topics": present,
                "capacity": rng.choice([8, 10, 12, 15]),
                "format": rng.choices(["in_person", "online"], [65, 35])[0],
                "language": language,
            }
        )
    return groups


def generate_demo_community(seed: int = 7, n_members: int = 500) -> DemoCommunity:
    """Build the demo community; the same ``seed`` and ``n_members`` always give the same data.

    >>> demo = generate_demo_community(seed=1, n_members=60)
    >>> len(demo.members), demo.members[0]["member_id"]
    (60, 'm0001')
    """
    if n_members < 1:
        raise ValueError("n_members must be at least 1")
    rng = random.Random(seed)
    hoods = rng.choices(list(NEIGHBOURHOODS), weights=_NEIGHBOURHOOD_SHARE, k=n_members)
    cohorts = rng.choices(COHORTS, weights=_COHORT_SHARE, k=n_members)
    members = [_member(rng, i + 1, hoods[i], cohorts[i]) for i in range(n_members)]
    ties = _wire(rng, hoods, cohorts, n_members)
    degree = Counter(i for tie in ties for i in tie)
    for i, member in enumerate(members):
        score = _belonging_score(rng, degree[i])
        if score is not None:
            member["belonging_score"] = score
    connections = []
    for i, j in sorted(ties):
        kind = _pick(rng, _KINDS_WITHIN if hoods[i] == hoods[j] else _KINDS_ACROSS)
        low, high = _WEIGHT_RANGE[kind]
        connections.append(
            {
                "a": members[i]["member_id"],
                "b": members[j]["member_id"],
                "weight": round(rng.uniform(low, high), 1),
                "kind": kind,
            }
        )
    return DemoCommunity(members=members, connections=connections, groups=_groups(rng, members))
