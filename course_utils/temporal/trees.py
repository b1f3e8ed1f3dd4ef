"""Balanced trees and their path-length distances (the hierarchy chapter 05 embeds)."""
from __future__ import annotations

import numpy as np

from ..validate import check_int


def balanced_tree(branching: int, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Every internal node has ``branching`` children; leaves sit at ``depth``.

    Returns parent: (V,) int64 with parent[0] = -1 for the root, and level: (V,) the depth of
    each node. Nodes are numbered level by level (breadth first).
    """
    branching, depth = check_int(branching, "branching", 1), check_int(depth, "depth", 0)
    parent, level = [-1], [0]
    frontier = [0]
    for d in range(1, depth + 1):
        children = []
        for node in frontier:
            for _ in range(branching):
                parent.append(node)
                level.append(d)
                children.append(len(parent) - 1)
        frontier = children
    return np.array(parent, dtype=np.int64), np.array(level, dtype=np.int64)


def tree_distances(parent: np.ndarray) -> np.ndarray:
    """Number of edges on the path between every pair of nodes: (V, V) float64."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import shortest_path

    parent = np.asarray(parent)
    if parent.ndim != 1 or parent.size == 0 or parent[0] != -1:
        raise ValueError("parent must be a non-empty 1-D array with parent[0] = -1 (the root)")
    if np.any(parent[1:] < 0) or np.any(parent[1:] >= np.arange(1, len(parent))):
        raise ValueError("parent[i] must be a node numbered before i, for every i > 0")
    child = np.arange(1, len(parent))
    edges = coo_matrix((np.ones(len(child)), (child, parent[1:])), shape=(len(parent),) * 2)
    return shortest_path(edges, directed=False, unweighted=True)


def leaves_under(parent: np.ndarray, node: int) -> np.ndarray:
    """Indices of the leaves in the subtree rooted at ``node``."""
    parent = np.asarray(parent)
    node = check_int(node, "node", 0)
    if node >= len(parent):
        raise ValueError(f"node must be < {len(parent)}, got {node}")
    is_leaf = np.ones(len(parent), dtype=bool)
    is_leaf[parent[parent >= 0]] = False
    inside = np.zeros(len(parent), dtype=bool)
    inside[node] = True
    for i in range(node + 1, len(parent)):  # parents are numbered before their children
        inside[i] = inside[parent[i]]
    return np.flatnonzero(inside & is_leaf)
