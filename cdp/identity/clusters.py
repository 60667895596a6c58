"""Clusters of source records: connected components over accepted links, with the rules enforced inside a cluster.

1. Start from the groups that must stay together (the records of each current customer).
2. Take the links from the most to the least probable. A link joins its two groups only when no rule forbids it
   between any record of one group and any record of the other (``cdp.identity.rules``), and when no pair of
   records across them was kept apart on purpose (a rejected review, an unmerge).
3. A link that a rule or a kept-apart pair refuses is reported, never applied: a single link cannot drag two
   people into one cluster through a chain.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field

from cdp.identity.rules import IdentityView, groups_contradiction

KEPT_APART = "a person kept these records apart (a rejected review or an unmerge)"


@dataclass
class ClusterResult:
    groups: dict[Hashable, list[int]]  # root record id -> record ids
    applied: list[tuple[int, int]] = field(default_factory=list)
    refused: list[tuple[int, int]] = field(default_factory=list)
    why_refused: dict[tuple[int, int], str] = field(default_factory=dict)  # refused link -> the rule, in words


def cluster_records(
    *,
    views: dict[int, IdentityView],
    initial_groups: Iterable[Iterable[int]],
    links: Iterable[tuple[int, int, float]],
    kept_apart: set[tuple[int, int]] | None = None,
    contradiction: Callable[[list[IdentityView], list[IdentityView]], str] = groups_contradiction,
) -> ClusterResult:
    """Union-find over `links` (left, right, probability) on top of `initial_groups`, enforcing the rules."""
    parent = {record_id: record_id for record_id in views}
    members: dict[int, list[int]] = {record_id: [record_id] for record_id in views}
    for group in initial_groups:
        ids = [record_id for record_id in group if record_id in parent]
        for record_id in ids[1:]:
            _union(parent, members, ids[0], record_id)
    kept_apart = kept_apart or set()
    result = ClusterResult(groups={})
    for left, right, _ in sorted(links, key=lambda link: -link[2]):
        a, b = _find(parent, left), _find(parent, right)
        if a == b:
            continue
        why = KEPT_APART if _kept_apart(members[a], members[b], kept_apart) else ""
        why = why or contradiction([views[i] for i in members[a]], [views[i] for i in members[b]])
        if why:
            result.refused.append((left, right))
            result.why_refused[(left, right)] = why
            continue
        _union(parent, members, a, b)
        result.applied.append((left, right))
    result.groups = {root: ids for root, ids in members.items() if _find(parent, root) == root}
    return result


def _find(parent: dict[int, int], record_id: int) -> int:
    while parent[record_id] != record_id:
        parent[record_id] = parent[parent[record_id]]
        record_id = parent[record_id]
    return record_id


def _union(parent: dict[int, int], members: dict[int, list[int]], left: int, right: int) -> None:
    a, b = _find(parent, left), _find(parent, right)
    if a == b:
        return
    if len(members[a]) < len(members[b]):
        a, b = b, a
    parent[b] = a
    members[a].extend(members.pop(b))


def _kept_apart(left: list[int], right: list[int], kept_apart: set[tuple[int, int]]) -> bool:
    if not kept_apart:
        return False
    return any((min(a, b), max(a, b)) in kept_apart for a in left for b in right)
