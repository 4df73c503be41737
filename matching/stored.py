"""A :class:`~matching.index.SuggestionIndex` as a folder of immutable files, mapped read-only.

:func:`save` writes every array of an index as one ``.npy`` file, the member ids and display
names as string tables (UTF-8 bytes and offsets), the small lists (vocabularies, attribute
values, feature names) as JSON and the two fitted rankers with :mod:`pickle` (a few hundred
bytes). :func:`load` maps the arrays with ``np.load(mmap_mode="r")``, so every process that
loads the same folder shares one copy of the pages in the kernel's page cache: N processes cost
one index, not N.

Nothing in a loaded index may be written to; the arrays are read-only and numpy refuses writes.
A folder is written once and never changed (the service writes to a temporary folder and
renames it into place, see ``service/shared_indexes.py``).
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, overload

import numpy as np
import scipy.sparse as sp

from belonging.matching.index import SuggestionIndex
from belonging.matching.neighbourhood import TieView
from belonging.matching.ranking import PairRanker

FORMAT = 1
"""Bumped when the layout changes; a folder of another format is never loaded."""

_MATRICES = (
    "adjacency", "interests", "needs", "public_needs", "offers", "attribute_slots", "groups",
    "excluded_pairs", "profile_tags", "profile_queries", "profile_postings",
)
_ARRAYS = (
    "attribute_codes", "silo", "open_to_suggestions", "joined_at", "few_ties_pool", "tag_block",
)
_LISTS = (
    "interest_vocabulary", "support_vocabulary", "attribute_names", "attribute_values", "group_ids",
    "warm_feature_names", "cold_feature_names",
)


class MemberIds(Sequence[str]):
    """Member ids in row order over fixed-width byte arrays, with a vectorised reverse lookup.

    ``ids[i]`` is row ``i``'s id (UTF-8, NUL-padded to the longest); ``sorted_ids`` the same ids
    sorted and ``sorted_rows`` their rows, so :meth:`rows` finds many ids with one
    ``np.searchsorted``. Ids never hold NUL (the API refuses it), so padding is unambiguous.
    """

    def __init__(self, ids: np.ndarray, sorted_ids: np.ndarray, sorted_rows: np.ndarray) -> None:
        self.ids = ids
        self.sorted_ids = sorted_ids
        self.sorted_rows = sorted_rows

    @classmethod
    def build(cls, member_ids: Sequence[str]) -> MemberIds:
        encoded = [m.encode() for m in member_ids]
        width = max((len(e) for e in encoded), default=1) or 1
        ids = np.array(encoded, dtype=f"S{width}") if encoded else np.empty(0, dtype="S1")
        order = np.argsort(ids, kind="stable").astype(np.int32)
        return cls(ids, ids[order], order)

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [v.decode() for v in self.ids[i]]
        return bytes(self.ids[i]).decode()

    def __iter__(self) -> Iterator[str]:
        for value in self.ids:
            yield bytes(value).decode()

    def take(self, rows: Sequence[int]) -> list[str]:
        """The ids of ``rows``: ``[self[r] for r in rows]`` with one gather."""
        return [value.decode() for value in self.ids[np.asarray(rows, dtype=np.int64)].tolist()]

    def rows(self, member_ids: Sequence[str]) -> np.ndarray:
        """Row of each id (int64), -1 for ids not in the index."""
        if len(member_ids) == 0 or len(self.ids) == 0:
            return np.full(len(member_ids), -1, dtype=np.int64)
        width = self.ids.dtype.itemsize
        encoded = [m.encode() for m in member_ids]
        fits = np.array([len(e) <= width for e in encoded], dtype=bool)
        keys = np.array([e if len(e) <= width else b"" for e in encoded], dtype=self.ids.dtype)
        at = np.minimum(np.searchsorted(self.sorted_ids, keys), len(self.ids) - 1)
        found = fits & (self.sorted_ids[at] == keys)
        return np.where(found, self.sorted_rows[at].astype(np.int64), -1)


class Positions(Mapping[str, int]):
    """``member id -> row`` as a mapping, answered from :class:`MemberIds` (no per-process dict)."""

    def __init__(self, ids: MemberIds) -> None:
        self._ids = ids

    def __getitem__(self, member_id: str) -> int:
        row = int(self._ids.rows([member_id])[0])
        if row < 0:
            raise KeyError(member_id)
        return row

    def __contains__(self, member_id: object) -> bool:
        return isinstance(member_id, str) and int(self._ids.rows([member_id])[0]) >= 0

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


class Strings(Sequence[str | None]):
    """Optional strings held as UTF-8 bytes and offsets (``None`` where ``present`` is false)."""

    def __init__(self, blob: np.ndarray, offsets: np.ndarray, present: np.ndarray) -> None:
        self.blob = blob
        self.offsets = offsets
        self.present = present

    @classmethod
    def build(cls, values: Sequence[str | None]) -> Strings:
        encoded = [(v or "").encode() for v in values]
        offsets = np.zeros(len(values) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(e) for e in encoded])
        blob = np.frombuffer(b"".join(encoded), dtype=np.uint8) if encoded else np.empty(0, np.uint8)
        return cls(blob, offsets, np.array([v is not None for v in values], dtype=bool))

    def __len__(self) -> int:
        return len(self.present)

    @overload
    def __getitem__(self, i: int) -> str | None: ...
    @overload
    def __getitem__(self, i: slice) -> list[str | None]: ...
    def __getitem__(self, i: int | slice) -> str | None | list[str | None]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        if not self.present[i]:
            return None
        return self.blob[self.offsets[i] : self.offsets[i + 1]].tobytes().decode()


    def take(self, rows: Sequence[int]) -> list[str | None]:
        """The strings of ``rows``: ``[self[r] for r in rows]`` with one gather per array."""
        at = np.asarray(rows, dtype=np.int64)
        present = self.present[at].tolist()
        starts, ends = self.offsets[at].tolist(), self.offsets[at + 1].tolist()
        blob = self.blob
        return [
            blob[lo:hi].tobytes().decode() if shown else None
            for shown, lo, hi in zip(present, starts, ends, strict=True)
        ]


T = TypeVar("T")


def take(values: Sequence[T], rows: Sequence[int]) -> list[T]:
    """``[values[r] for r in rows]``, with one vectorised gather when ``values`` is a stored
    table (:class:`MemberIds`, :class:`Strings`) rather than a list."""
    if isinstance(values, MemberIds | Strings):
        return values.take(rows)  # type: ignore[return-value]
    return [values[r] for r in rows]


def save(index: SuggestionIndex, folder: Path) -> int:
    """Write ``index`` into ``folder`` (created; must not exist). Returns the bytes written."""
    folder.mkdir(parents=True)
    arrays: dict[str, np.ndarray] = {}
    for name in _MATRICES:
        matrix = getattr(index, name)
        arrays[f"{name}.data"] = np.asarray(matrix.data)
        arrays[f"{name}.indices"] = np.asarray(matrix.indices)
        arrays[f"{name}.indptr"] = np.asarray(matrix.indptr)
    for name in _ARRAYS:
        arrays[name] = np.asarray(getattr(index, name))
    ids = index.member_ids if isinstance(index.member_ids, MemberIds) else MemberIds.build(index.member_ids)
    arrays["member_ids"], arrays["member_ids.sorted"], arrays["member_ids.rows"] = (
        ids.ids, ids.sorted_ids, ids.sorted_rows)
    names = (index.display_names if isinstance(index.display_names, Strings)
             else Strings.build(index.display_names))
    arrays["display_names.blob"], arrays["display_names.offsets"], arrays["display_names.present"] = (
        names.blob, names.offsets, names.present)
    arrays["ties.indptr"] = index.ties.indptr
    arrays["ties.degree"] = index.ties.degree
    arrays["ties.adamic_adar_weight"] = index.ties.adamic_adar_weight
    total = 0
    for name, array in arrays.items():
        path = folder / f"{name}.npy"
        np.save(path, np.ascontiguousarray(array), allow_pickle=False)
        total += path.stat().st_size
    meta: dict[str, Any] = {
        "format": FORMAT,
        "revision": index.revision,
        "built_at": index.built_at.isoformat(),
        "shapes": {name: list(getattr(index, name).shape) for name in _MATRICES},
        **{name: getattr(index, name) for name in _LISTS},
    }
    (folder / "meta.json").write_text(json.dumps(meta))
    with (folder / "rankers.pickle").open("wb") as out:
        pickle.dump((index.ranker, index.cold_ranker), out, protocol=pickle.HIGHEST_PROTOCOL)
    return total + (folder / "meta.json").stat().st_size + (folder / "rankers.pickle").stat().st_size


def _csr(arrays: Mapping[str, np.ndarray], name: str, shape: Sequence[int]) -> sp.csr_array:
    """A CSR array over the mapped arrays, without the copy or the checks scipy's constructor makes."""
    matrix = sp.csr_array((int(shape[0]), int(shape[1])), dtype=arrays[f"{name}.data"].dtype)
    matrix.data = arrays[f"{name}.data"]
    matrix.indices = arrays[f"{name}.indices"]
    matrix.indptr = arrays[f"{name}.indptr"]
    return matrix


def load_rankers(folder: Path) -> tuple[PairRanker, PairRanker]:
    """The two fitted rankers of the index saved in ``folder``, without mapping anything else."""
    with (folder / "rankers.pickle").open("rb") as source:
        ranker, cold_ranker = pickle.load(source)  # noqa: S301 - written by this module, never by a client
    return ranker, cold_ranker


def load(folder: Path) -> SuggestionIndex:
    """Map the index saved in ``folder`` read-only (nothing is copied but the small lists)."""
    meta = json.loads((folder / "meta.json").read_text())
    if meta.get("format") != FORMAT:
        raise ValueError(f"{folder} holds index format {meta.get('format')}, not {FORMAT}")
    arrays = {
        path.name[: -len(".npy")]: np.asarray(np.load(path, mmap_mode="r", allow_pickle=False))
        for path in folder.glob("*.npy")
    }
    with (folder / "rankers.pickle").open("rb") as source:
        ranker, cold_ranker = pickle.load(source)  # noqa: S301 - written by this module, never by a client
    matrices = {name: _csr(arrays, name, meta["shapes"][name]) for name in _MATRICES}
    adjacency = matrices["adjacency"]
    ties = TieView(arrays["ties.indptr"], adjacency.indices, arrays["ties.degree"],
                   arrays["ties.adamic_adar_weight"])
    member_ids = MemberIds(arrays["member_ids"], arrays["member_ids.sorted"], arrays["member_ids.rows"])
    arguments: dict[str, Any] = {**matrices, **{name: arrays[name] for name in _ARRAYS},
                                 **{name: meta[name] for name in _LISTS}}
    return SuggestionIndex(
        member_ids=member_ids,
        position=Positions(member_ids),
        ties=ties,
        display_names=Strings(arrays["display_names.blob"], arrays["display_names.offsets"],
                              arrays["display_names.present"]),
        ranker=ranker,
        cold_ranker=cold_ranker,
        revision=int(meta["revision"]),
        built_at=datetime.fromisoformat(meta["built_at"]),
        **arguments,
    )
