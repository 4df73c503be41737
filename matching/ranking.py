"""How likely a suggested pair is to connect: a per-community model learned from its own ties.

:class:`PairRanker` is a logistic regression over :mod:`matching.features` columns, following
scikit-learn conventions. Scoring is one dot product per candidate, so it is cheap enough for a
request. A community with too few ties to learn from gets a fixed, hand-set blend instead.

:func:`training_examples` builds the data the model learns from without leaking the answer: a
random share of the community's ties, and every tie of a few members playing newcomers, is held
out; candidates are gathered and featurised on the graph *without* those ties by the same code
that serves requests, and held-out ties found among the candidates are the positives, other
candidates the negatives. For the model used with
members who have no ties, members with ties are treated as if they had none.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from belonging.graph.community_graph import symmetric_adjacency
from belonging.matching.candidates import FEW_TIES_BUDGET, budget_for, candidate_pool
from belonging.matching.features import pair_features
from belonging.matching.neighbourhood import TieView, TwoHop

if TYPE_CHECKING:
    from belonging.matching.index import SuggestionIndex

MODEL_REVISION = 1

MIN_TIES_TO_LEARN = 50
"""Communities with fewer ties than this rank with the fixed blend."""

BLEND_WEIGHTS: Mapping[str, float] = {
    "common_neighbours": 0.8,
    "adamic_adar": 0.8,
    "jaccard": 2.0,
    "interest_cosine": 3.0,
    "shared_interests": 0.5,
    "needs_met": 1.5,
    "offers_wanted": 1.0,
    "shared_attributes": 0.4,
    "shared_group": 1.0,
    "twin_ties": 0.5,
}
"""Log-odds per unit of each model column in the fixed blend; unlisted columns count 0."""
BLEND_INTERCEPT = -4.0


class PairRanker:
    """Scores candidate pairs; higher means more likely to become a connection.

    Parameters
    ----------
    feature_names : sequence of str
        Names of the columns of ``X`` (see :func:`matching.features.feature_names`); the fixed
        blend reads its weights by name.
    min_positives : int
        Fewer positive examples than this and ``fit`` keeps the fixed blend.
    C : float
        Inverse regularisation strength of the logistic regression.
    max_iter : int
        Iterations allowed to the solver.
    random_state : int or None
        Seed for the solver (kept for scikit-learn conventions; lbfgs is deterministic).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Log-odds per unit of each column, on the raw (unscaled) columns.
    intercept_ : float
    learned_ : bool
        True if fitted from data, False if the fixed blend is in use.
    n_features_in_ : int
        Number of columns seen by ``fit``.
    n_positives_, n_negatives_ : int
        Examples seen by ``fit``.
    model_version_ : str
        ``"logistic-v1"`` or ``"blend-v1"``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 2))
    >>> y = (X[:, 0] + 0.3 * rng.normal(size=400) > 1).astype(int)
    >>> ranker = PairRanker(["interest_cosine", "jaccard"]).fit(X, y)
    >>> ranker.model_version_, bool(ranker.coef_[0] > ranker.coef_[1])
    ('logistic-v1', True)
    """

    def __init__(
        self,
        feature_names: Sequence[str] = (),
        *,
        min_positives: int = 20,
        C: float = 1.0,
        max_iter: int = 500,
        random_state: int | None = None,
    ) -> None:
        self.feature_names = feature_names
        self.min_positives = min_positives
        self.C = C
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray) -> PairRanker:
        """Learn from ``X`` (pairs x columns) and ``y`` (1 connected, 0 not); returns ``self``."""
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y).astype(int).ravel()
        if X.ndim != 2 or X.shape[1] != len(self.feature_names):
            raise ValueError(f"X must have {len(self.feature_names)} columns, got shape {X.shape}")
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
        self.n_features_in_ = X.shape[1]
        self.n_positives_ = int(y.sum())
        self.n_negatives_ = int(len(y) - y.sum())
        if self.n_positives_ < self.min_positives or self.n_negatives_ < self.min_positives:
            return self._use_blend()
        mean = X.mean(axis=0)
        scale = X.std(axis=0)
        scale[scale == 0] = 1.0
        model = LogisticRegression(C=self.C, max_iter=self.max_iter, random_state=self.random_state)
        with warnings.catch_warnings():
            # A model a few iterations short of the optimum still ranks well; never fail a build.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit((X - mean) / scale, y)
        self.coef_ = model.coef_.ravel() / scale
        self.intercept_ = float(model.intercept_[0] - np.dot(self.coef_, mean))
        self.learned_ = True
        self.model_version_ = f"logistic-v{MODEL_REVISION}"
        return self

    def _use_blend(self) -> PairRanker:
        self.coef_ = np.array([BLEND_WEIGHTS.get(name, 0.0) for name in self.feature_names])
        self.intercept_ = BLEND_INTERCEPT
        self.learned_ = False
        self.model_version_ = f"blend-v{MODEL_REVISION}"
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """Log-odds of each pair connecting (one dot product per row)."""
        return np.asarray(X, dtype=np.float64) @ self.coef_ + self.intercept_

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Probabilities of ``[not connected, connected]`` per row."""
        connected = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1.0 - connected, connected])


@dataclass(frozen=True)
class TrainingExamples:
    """Model inputs and labels for members with ties (``warm``) and without (``cold``)."""

    warm_X: np.ndarray
    warm_y: np.ndarray
    cold_X: np.ndarray
    cold_y: np.ndarray


def training_examples(
    index: SuggestionIndex,
    *,
    hold_out: float = 0.1,
    newcomers: float = 0.05,
    max_targets: int = 1500,
    negatives_per_target: int = 30,
    random_state: int = 0,
) -> TrainingExamples:
    """Labelled candidate pairs from the community's own ties (see the module docstring).

    The held-out ties mimic how a community grows: ``hold_out`` of the ties at random, plus every
    tie of ``newcomers`` of the members (people who join connect too, and a model that never saw
    a member without ties become a connection would never propose one). Up to ``max_targets``
    members with a hidden tie and at least one tie left give warm examples, and up to
    ``max_targets // 2`` members with ties, treated as if they had none, give cold examples.
    Each target keeps every positive and at most ``negatives_per_target`` negatives drawn from
    its candidate pool. Takes time linear in the number of targets, about a millisecond each.
    """
    rng = np.random.default_rng(random_state)
    n_warm, n_cold = len(index.warm_feature_names), len(index.cold_feature_names)
    warm_X, warm_y = [np.empty((0, n_warm))], [np.empty(0)]
    cold_X, cold_y = [np.empty((0, n_cold))], [np.empty(0)]
    n = len(index.member_ids)
    upper = sp.triu(index.adjacency, k=1).tocoo()
    n_ties = upper.nnz
    if n_ties < MIN_TIES_TO_LEARN:
        return TrainingExamples(warm_X[0], warm_y[0], cold_X[0], cold_y[0])

    with_ties = np.flatnonzero(index.ties.degree > 0)
    joining = np.zeros(n, dtype=bool)
    joining[rng.choice(with_ties, size=round(newcomers * len(with_ties)), replace=False)] = True
    hidden = (rng.random(n_ties) < hold_out) | joining[upper.row] | joining[upper.col]
    kept = ~hidden
    reduced = TieView.from_adjacency(
        symmetric_adjacency(
            n,
            upper.row[kept].astype(np.int64),
            upper.col[kept].astype(np.int64),
            np.ones(int(kept.sum()), dtype=np.float32),
        )
    )
    held = TieView.from_adjacency(
        symmetric_adjacency(
            n,
            upper.row[hidden].astype(np.int64),
            upper.col[hidden].astype(np.int64),
            np.ones(int(hidden.sum()), dtype=np.float32),
        )
    )
    eligible = np.flatnonzero((held.degree > 0) & (reduced.degree > 0) & index.open_to_suggestions)
    for target in _sample(rng, eligible, max_targets):
        neighbours = reduced.neighbours(target)
        pool = candidate_pool(
            index,
            reduced,
            int(target),
            neighbours=neighbours,
            budget=budget_for(len(neighbours)),
        )
        labels = np.isin(pool.members, held.neighbours(target))
        chosen = _keep_positives_and_some(rng, labels, negatives_per_target)
        features = pair_features(index, reduced, int(target), pool.members[chosen], pool.hops)
        warm_X.append(features.model_inputs())
        warm_y.append(labels[chosen])

    live = index.ties
    eligible = np.flatnonzero((live.degree > 0) & index.open_to_suggestions)
    nothing = np.empty(0, dtype=np.int32)
    for target in _sample(rng, eligible, max_targets // 2):
        ties = live.neighbours(target)
        pool = candidate_pool(index, live, int(target), neighbours=nothing, budget=FEW_TIES_BUDGET)
        labels = np.isin(pool.members, ties)
        chosen = _keep_positives_and_some(rng, labels, negatives_per_target)
        members = pool.members[chosen]
        # As if the target had never connected: its ties do not count in anyone's degree.
        degree = live.degree[members] - labels[chosen]
        features = pair_features(
            index,
            live,
            int(target),
            members,
            TwoHop.empty(),
            twins=pool.twins,
            target_degree=0,
            candidate_degree=degree,
        )
        cold_X.append(features.model_inputs(cold=True))
        cold_y.append(labels[chosen])
    return TrainingExamples(
        np.concatenate(warm_X),
        np.concatenate(warm_y),
        np.concatenate(cold_X),
        np.concatenate(cold_y),
    )


def fit_rankers(index: SuggestionIndex, *, random_state: int = 0) -> tuple[PairRanker, PairRanker]:
    """A ranker for members with ties and one for members without, fitted on ``index``."""
    examples = training_examples(index, random_state=random_state)
    warm = PairRanker(index.warm_feature_names, random_state=random_state).fit(
        examples.warm_X, examples.warm_y
    )
    cold = PairRanker(index.cold_feature_names, random_state=random_state).fit(
        examples.cold_X, examples.cold_y
    )
    return warm, cold


def _sample(rng: np.random.Generator, members: np.ndarray, k: int) -> np.ndarray:
    if len(members) <= k:
        return members
    return np.sort(rng.choice(members, size=k, replace=False))


def _keep_positives_and_some(
    rng: np.random.Generator, labels: np.ndarray, negatives: int
) -> np.ndarray:
    """Positions of every positive label and of at most ``negatives`` random negatives."""
    positive = np.flatnonzero(labels)
    negative = np.flatnonzero(~labels)
    if len(negative) > negatives:
        negative = rng.choice(negative, size=negatives, replace=False)
    return np.sort(np.concatenate([positive, negative]))
