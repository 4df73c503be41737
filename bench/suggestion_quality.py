"""How good suggestions are on real communities: hidden ties found, exposure spread, bridging.

For each dataset, 10% of ties are hidden at random and every tie of 5% of members (cold start:
they look like new members with a profile and no ties). The index is built on the remaining
ties through :meth:`matching.index.SuggestionIndex.build`, exactly as the service builds it, and
up to ``--sample`` members with hidden ties ask :func:`matching.suggest.suggest` for 10
suggestions. Printed beside ours, from the same split: Adamic-Adar (``nx.adamic_adar_index``
over each member's non-neighbours two steps away), TF-IDF interest cosine only, and random.

    .venv/bin/python bench/suggestion_quality.py caltech
    .venv/bin/python bench/suggestion_quality.py all --seeds 3

Datasets (read from ``../shared/data``, or ``BELONGING_SHARED_DATA``; never copied):

- ``caltech``, ``reed``: Facebook100 friendships; interests ``major:``, ``high school:`` tags
  (major and second major share one namespace), attributes ``dorm`` and ``year``;
- ``lastfm``: Last.fm friendships; interests are each user's top artists; no attributes;
- ``lazega``: the law firm's friendship nominations as undirected ties; interests are practice
  and law school, attributes ``office`` and ``practice``.

Targets: warm precision@10 >= 1.25x Adamic-Adar; cold precision@10 >= 1.3x interest-only;
exposure Gini below Adamic-Adar's; bridging_weight 1 at least doubles the share of suggestions
that cross the group attribute (dorm or office).
"""

from __future__ import annotations

import argparse
import csv
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
from harness import shared_data

from belonging.graph import CommunityGraph
from belonging.matching.index import SuggestionIndex
from belonging.matching.profiles import MemberProfile, normalise_tag, normalise_tags
from belonging.matching.suggest import suggest

LIMIT = 10
HIDDEN_TIES = 0.10
COLD_MEMBERS = 0.05


@dataclass
class Dataset:
    """A community to evaluate on: ties, profiles and the attribute that marks groups."""

    name: str
    member_ids: list[str]
    ties: list[tuple[str, str]]
    profiles: list[MemberProfile]
    group_attribute: str | None


def facebook(school: str) -> Dataset:
    """A Facebook100 school: majors and high school as interests, dorm and year as attributes."""
    graph = nx.read_gml(shared_data() / "facebook100" / f"{school}.gml")
    profiles = []
    for node, data in graph.nodes(data=True):
        tags = [f"major:{data[key]}" for key in ("major_index", "second_major") if data.get(key, 0)]
        if data.get("high_school", 0):
            tags.append(f"high school:{data['high_school']}")
        attributes = {key: str(data[key]) for key in ("dorm", "year") if data.get(key, 0)}
        profiles.append(
            MemberProfile(str(node), interests=tuple(normalise_tags(tags)), attributes=attributes)
        )
    ties = [(str(a), str(b)) for a, b in graph.edges() if a != b]
    return Dataset(school.lower(), [str(n) for n in graph.nodes], ties, profiles, "dorm")


def lastfm() -> Dataset:
    """Last.fm users: friendships, and each user's top artists (by play count) as interests."""
    folder = shared_data() / "lastfm_hetrec2011_friends_interests"
    with open(folder / "artists.dat", encoding="utf-8") as handle:
        names = {row["id"]: row["name"] for row in csv.DictReader(handle, delimiter="\t")}
    plays: dict[str, list[tuple[float, str]]] = {}
    with open(folder / "user_artists.dat", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            artist = names.get(row["artistID"], f"artist {row['artistID']}")
            plays.setdefault(row["userID"], []).append((-float(row["weight"]), artist))
    ties = set()
    with open(folder / "user_friends.dat", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            a, b = row["userID"], row["friendID"]
            if a != b:
                ties.add((min(a, b), max(a, b)))
    members = sorted(set(plays) | {m for tie in ties for m in tie}, key=int)
    profiles = [
        MemberProfile(m, interests=tuple(normalise_tags(a for _, a in sorted(plays.get(m, [])))))
        for m in members
    ]
    return Dataset("lastfm", members, sorted(ties), profiles, None)


def lazega() -> Dataset:
    """Lazega's lawyers: friendship ties; practice and law school as interests."""
    folder = shared_data() / "lazega_lawyers"
    with open(folder / "lazega_nodes.csv", encoding="utf-8") as handle:
        nodes = list(csv.DictReader(handle))
    with open(folder / "lazega_edges.csv", encoding="utf-8") as handle:
        edges = [row for row in csv.DictReader(handle) if row["layer"] == "friendship"]
    profiles = [
        MemberProfile(
            node["id"],
            interests=tuple(
                normalise_tag(tag)
                for tag in (f"practice:{node['practice']}", f"law school:{node['lawSchool']}")
            ),
            attributes={"office": node["office"], "practice": node["practice"]},
        )
        for node in nodes
    ]
    ties = {
        (min(e["source"], e["target"]), max(e["source"], e["target"]))
        for e in edges
        if e["source"] != e["target"]
    }
    return Dataset("lazega", [n["id"] for n in nodes], sorted(ties), profiles, "office")


DATASETS: dict[str, Callable[[], Dataset]] = {
    "caltech": lambda: facebook("Caltech36"),
    "reed": lambda: facebook("Reed98"),
    "lastfm": lastfm,
    "lazega": lazega,
}


@dataclass
class Split:
    """Ties kept for the index, hidden ties per member, the askers, and the newcomers (members
    whose ties were all hidden)."""

    kept: list[tuple[str, str]]
    hidden: dict[str, set[str]]
    warm: list[str]
    cold: list[str]
    newcomers: set[str]


def split(dataset: Dataset, rng: np.random.Generator, sample: int) -> Split:
    """Hide every tie of 5% of members and 10% of the other ties; sample the askers."""
    with_ties = sorted({m for tie in dataset.ties for m in tie})
    n_cold = max(1, round(COLD_MEMBERS * len(with_ties)))
    cold = set(rng.choice(with_ties, size=n_cold, replace=False).tolist())
    kept, hidden_pairs = [], []
    for a, b in dataset.ties:
        if a in cold or b in cold or rng.random() < HIDDEN_TIES:
            hidden_pairs.append((a, b))
        else:
            kept.append((a, b))
    hidden: dict[str, set[str]] = {}
    for a, b in hidden_pairs:
        hidden.setdefault(a, set()).add(b)
        hidden.setdefault(b, set()).add(a)
    has_tie = {m for tie in kept for m in tie}
    warm = sorted(m for m in hidden if m not in cold and m in has_tie)
    cold_askers = sorted(m for m in hidden if m in cold)
    if len(warm) > sample:
        warm = sorted(rng.choice(warm, size=sample, replace=False).tolist())
    if len(cold_askers) > sample:
        cold_askers = sorted(rng.choice(cold_askers, size=sample, replace=False).tolist())
    return Split(kept, hidden, warm, cold_askers, cold)


@dataclass
class Scores:
    """Sums of precision and recall over askers, and how often each member was proposed."""

    precision: float = 0.0
    recall: float = 0.0
    askers: int = 0
    hits: int = 0
    newcomer_hits: int = 0
    exposures: Counter[str] = field(default_factory=Counter)

    def add(self, proposed: Sequence[str], hidden: set[str], newcomers: set[str]) -> None:
        found = set(proposed) & hidden
        self.precision += len(found) / LIMIT
        self.recall += len(found) / len(hidden)
        self.askers += 1
        self.hits += len(found)
        self.newcomer_hits += len(found & newcomers)
        self.exposures.update(proposed)

    @property
    def p_at_10(self) -> float:
        return self.precision / max(self.askers, 1)

    @property
    def r_at_10(self) -> float:
        return self.recall / max(self.askers, 1)

    @property
    def newcomer_share(self) -> float:
        """Share of hits that are members whose ties were all hidden."""
        return self.newcomer_hits / self.hits if self.hits else float("nan")

    @property
    def established_p_at_10(self) -> float:
        """Precision@10 counting only hits on members who kept some ties."""
        return (self.hits - self.newcomer_hits) / LIMIT / max(self.askers, 1)


def gini(counts: Sequence[int] | np.ndarray) -> float:
    """Gini coefficient of non-negative counts (0 = everyone equally often, 1 = one member)."""
    values = np.sort(np.asarray(counts, dtype=np.float64))
    if len(values) == 0 or values.sum() == 0:
        return 0.0
    ranks = np.arange(1, len(values) + 1)
    return float((2 * ranks - len(values) - 1) @ values / (len(values) * values.sum()))


def cross_share(dataset: Dataset, lists: dict[str, list[str]], attribute: str | None) -> float:
    """Share of suggested pairs (both members with a value) whose ``attribute`` values differ."""
    if attribute is None:
        return float("nan")
    value = {p.member_id: p.attributes.get(attribute) for p in dataset.profiles}
    pairs = [
        value[a] != value[b]
        for a, proposed in lists.items()
        for b in proposed
        if value.get(a) and value.get(b)
    ]
    return float(np.mean(pairs)) if pairs else float("nan")


@dataclass
class Result:
    """One dataset and seed: the score table, Gini, bridging and timing."""

    name: str
    model_version: str
    build_seconds: float
    warm: dict[str, Scores]
    cold: dict[str, Scores]
    gini: dict[str, float]
    cross: dict[str, float]
    n_members: int
    n_ties_kept: int


METHODS = ("ours", "adamic-adar", "interest-only", "random")


def evaluate(dataset: Dataset, seed: int, sample: int) -> Result:
    """Run every method on one seeded split of ``dataset``."""
    rng = np.random.default_rng(seed)
    parts = split(dataset, rng, sample)
    graph = CommunityGraph.from_edges(dataset.member_ids, parts.kept)
    started = time.perf_counter()
    index = SuggestionIndex.build(graph, dataset.profiles, random_state=seed)
    build_seconds = time.perf_counter() - started

    kept = nx.Graph()
    kept.add_nodes_from(dataset.member_ids)
    kept.add_edges_from(parts.kept)
    interests = index.interests
    position = index.position
    member_ids = np.array(index.member_ids, dtype=object)

    def adamic_adar(member: str) -> list[str]:
        near = {v for u in kept[member] for v in kept[u]} - set(kept[member]) - {member}
        if not near:
            return []
        scored = list(nx.adamic_adar_index(kept, [(member, v) for v in sorted(near)]))
        jitter = rng.random(len(scored))
        order = sorted(range(len(scored)), key=lambda k: (-scored[k][2], jitter[k]))
        return [scored[k][1] for k in order[:LIMIT]]

    def interest_only(member: str) -> list[str]:
        i = position[member]
        cosine = (interests @ interests[[i]].T).toarray().ravel()
        cosine += rng.random(len(cosine)) * 1e-9
        cosine[i] = -np.inf
        cosine[[position[v] for v in kept[member]]] = -np.inf
        best = np.argsort(-cosine)[:LIMIT]
        return member_ids[best[np.isfinite(cosine[best])]].tolist()

    def random_members(member: str) -> list[str]:
        others = set(kept[member]) | {member}
        picked: list[str] = []
        for k in rng.permutation(len(member_ids)):
            if member_ids[k] not in others:
                picked.append(member_ids[k])
                if len(picked) == LIMIT:
                    break
        return picked

    def ours(member: str, bridging_weight: float = 0.0) -> list[str]:
        return [
            s.member_id
            for s in suggest(index, member, limit=LIMIT, bridging_weight=bridging_weight)
        ]

    methods: dict[str, Callable[[str], list[str]]] = {
        "ours": ours,
        "adamic-adar": adamic_adar,
        "interest-only": interest_only,
        "random": random_members,
    }
    warm = {name: Scores() for name in METHODS}
    cold = {name: Scores() for name in METHODS}
    lists: dict[str, dict[str, list[str]]] = {name: {} for name in METHODS}
    for scores, askers in ((warm, parts.warm), (cold, parts.cold)):
        for member in askers:
            for name, method in methods.items():
                proposed = method(member)
                scores[name].add(proposed, parts.hidden[member], parts.newcomers)
                lists[name][member] = proposed
    bridged = {m: ours(m, 1.0) for m in (*parts.warm, *parts.cold)}

    def exposure_gini(name: str) -> float:
        counts = warm[name].exposures
        return gini([counts.get(m, 0) for m in dataset.member_ids])

    return Result(
        name=dataset.name,
        model_version=index.model_version,
        build_seconds=build_seconds,
        warm=warm,
        cold=cold,
        gini={name: exposure_gini(name) for name in ("ours", "adamic-adar")},
        cross={
            "ours, bridging 0": cross_share(dataset, lists["ours"], dataset.group_attribute),
            "ours, bridging 1": cross_share(dataset, bridged, dataset.group_attribute),
            "adamic-adar": cross_share(dataset, lists["adamic-adar"], dataset.group_attribute),
        },
        n_members=len(dataset.member_ids),
        n_ties_kept=len(parts.kept),
    )


def report(dataset: Dataset, results: list[Result]) -> dict[str, float]:
    """Print one dataset's table (means over seeds) and return the target ratios."""

    def mean(get: Callable[[Result], float]) -> float:
        values = [get(r) for r in results]
        return float(np.nanmean(values)) if not all(np.isnan(values)) else float("nan")

    first = results[0]
    print(
        f"\n== {dataset.name}: {first.n_members:,} members, {len(dataset.ties):,} ties "
        f"({first.n_ties_kept:,} kept), {len(results)} seed(s), model {first.model_version}, "
        f"index build {mean(lambda r: r.build_seconds):.2f} s"
    )
    warm_askers, cold_askers = first.warm["ours"].askers, first.cold["ours"].askers
    print(f"   askers (first seed): {warm_askers} warm, {cold_askers} cold")
    print(f"   {'method':<16}{'warm p@10':>11}{'warm r@10':>11}{'cold p@10':>11}{'cold r@10':>11}")
    for name in METHODS:
        print(
            f"   {name:<16}"
            f"{mean(lambda r, n=name: r.warm[n].p_at_10):>11.4f}"
            f"{mean(lambda r, n=name: r.warm[n].r_at_10):>11.4f}"
            f"{mean(lambda r, n=name: r.cold[n].p_at_10):>11.4f}"
            f"{mean(lambda r, n=name: r.cold[n].r_at_10):>11.4f}"
        )
    newcomers = {name: mean(lambda r, n=name: r.warm[n].newcomer_share) for name in METHODS[:3]}
    print(
        "   warm hits that are newcomers (members whose ties were all hidden): "
        + ", ".join(f"{name} {share:.0%}" for name, share in newcomers.items())
    )
    established = {name: mean(lambda r, n=name: r.warm[n].established_p_at_10) for name in METHODS}
    print(
        "   warm p@10 counting only members who kept ties: "
        + ", ".join(f"{name} {value:.4f}" for name, value in established.items())
    )
    gini_ours = mean(lambda r: r.gini["ours"])
    gini_aa = mean(lambda r: r.gini["adamic-adar"])
    print(f"   exposure Gini (warm askers): ours {gini_ours:.3f}, adamic-adar {gini_aa:.3f}")
    cross = {key: mean(lambda r, k=key: r.cross[k]) for key in first.cross}
    if dataset.group_attribute:
        print(
            f"   share crossing {dataset.group_attribute}: "
            + ", ".join(f"{key} {value:.3f}" for key, value in cross.items())
        )
    warm_ratio = _ratio(
        mean(lambda r: r.warm["ours"].p_at_10), mean(lambda r: r.warm["adamic-adar"].p_at_10)
    )
    cold_ratio = _ratio(
        mean(lambda r: r.cold["ours"].p_at_10), mean(lambda r: r.cold["interest-only"].p_at_10)
    )
    bridge_ratio = _ratio(cross["ours, bridging 1"], cross["ours, bridging 0"])
    checks = [
        ("warm p@10 / adamic-adar", warm_ratio, 1.25, warm_ratio >= 1.25),
        ("cold p@10 / interest-only", cold_ratio, 1.30, cold_ratio >= 1.30),
        ("Gini ours / adamic-adar", _ratio(gini_ours, gini_aa), 1.0, gini_ours < gini_aa),
        ("crossing share, bridging 1 / 0", bridge_ratio, 2.0, bridge_ratio >= 2.0),
    ]
    print(f"   {'target':<34}{'value':>8}{'needed':>9}  met")
    for label, value, needed, met in checks:
        shown = "n/a" if np.isnan(value) else f"{value:.2f}x"
        verdict = "n/a" if np.isnan(value) else ("yes" if met else "NO")
        sign = "<" if label.startswith("Gini") else ">="
        print(f"   {label:<34}{shown:>8}{sign:>4}{needed:.2f}x  {verdict}")
    return {"warm": warm_ratio, "cold": cold_ratio, "bridging": bridge_ratio}


def _ratio(ours: float, baseline: float) -> float:
    if np.isnan(ours) or np.isnan(baseline):
        return float("nan")
    return ours / baseline if baseline > 0 else float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=[*DATASETS, "all"])
    parser.add_argument("--seeds", type=int, default=1, help="average over this many splits")
    parser.add_argument("--sample", type=int, default=1000, help="most askers per group")
    args = parser.parse_args()
    names = list(DATASETS) if args.dataset == "all" else [args.dataset]
    for name in names:
        dataset = DATASETS[name]()
        results = [evaluate(dataset, seed, args.sample) for seed in range(args.seeds)]
        report(dataset, results)


if __name__ == "__main__":
    main()
