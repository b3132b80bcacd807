"""A LightGBM model compiled for batch scoring: raw scores and exact TreeSHAP contributions
from flat arrays, walked by numba-compiled loops on every core.

Why: LightGBM's own predict costs about 6 µs a row for a few hundred small trees (each row
walks down each tree, a chain of unpredictable branches), and its `pred_contrib` walks every
path for every row (cost grows with depth squared). Scoring millions of leads needs both to
be cheap.

Raw scores add the reached leaves' values tree by tree, in LightGBM's order and with its
decision rules (missing values, zero-as-missing, categorical splits), so they equal
`predict(raw_score=True)`. Every node's decision is taken for a block of rows at once,
without branches, and the reached leaf is found from bit masks (QuickScorer, Lucchese et al.
2015).

Contributions use exact path-dependent TreeSHAP, precomputed per leaf ("Fast TreeSHAP v2",
Yang 2021). For a leaf, the Shapley values of the path-dependent game depend on the row only
through which of the leaf's path conditions the row meets, one bit per distinct feature on
the path. So the values for all 2^d bit patterns are computed once per leaf; scoring a row is
then a table look-up per leaf. Per leaf l with value v, distinct path features F (d of them),
cover fraction z_k (the share of training rows that follow the path's edges on feature k) and
o_k in {0, 1} (does the row follow them), feature j gets
    phi_j = v (o_j - z_j) sum_{S in F without j} |S|! (d - |S| - 1)! / d! prod_S o_k prod_rest z_k
computed for every pattern of o as the coefficients of prod_{k != j} (z_k + o_k t).

A model this module cannot reproduce exactly (several trees per iteration, linear leaves,
paths too deep for tables) is scored by LightGBM itself; `CompiledTrees` checks itself
against LightGBM when it is built. Equality with LightGBM is tested; the speed is measured by
bench/bench_score.py.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numba
import numpy as np

# Paths with more distinct features than this are not tabled (2^d x d values a leaf): such a
# model's contributions come from LightGBM.
MAX_DEPTH = 16
ZERO_THRESHOLD = float(np.float32(1e-35))  # LightGBM's kZeroThreshold (a float)
# Node kinds: LightGBM's missing-value handling of a numeric split, or a categorical split.
NONE, ZERO, NAN, CATEGORICAL, WIDE_CATEGORICAL = 0, 1, 2, 3, 4
SMALL_CODES = 63  # codes 0..62 fit one word's bits (bit 63 stands for any other value)
MISSING_KINDS = {"None": NONE, "Zero": ZERO, "NaN": NAN}
ROWS_PER_TASK = 4096  # rows a thread takes at a time: big enough to hide the hand-over


@numba.njit(nogil=True, cache=True)
def leaf_table(value, zero):
    """Contributions of one leaf's distinct path features for every on/off pattern:
    (2^d, d), pattern bit k says whether the row follows the path on feature k."""
    d = zero.size
    weights = np.empty(d)  # |S|! (d - |S| - 1)! / d!
    for size in range(d):
        weights[size] = math.gamma(size + 1) * math.gamma(d - size) / math.gamma(d + 1)
    table = np.empty((1 << d, d))
    coefficients = np.empty(d)
    for pattern in range(1 << d):
        for j in range(d):
            # Coefficients of prod_{k != j} (z_k + o_k t), one factor at a time.
            coefficients[:] = 0.0
            coefficients[0] = 1.0
            size = 1
            for k in range(d):
                if k == j:
                    continue
                on = (pattern >> k) & 1
                for power in range(size, 0, -1):
                    coefficients[power] = (
                        coefficients[power] * zero[k] + coefficients[power - 1] * on
                    )
                coefficients[0] *= zero[k]
                size += 1
            total = 0.0
            for power in range(d):
                total += coefficients[power] * weights[power]
            table[pattern, j] = value * (((pattern >> j) & 1) - zero[j]) * total
    return table


@numba.njit(nogil=True, cache=True)
def _leaf_tables(leaf_value, bit_start, bit_zero):
    """Every leaf's table, flat (pattern-major), and where each starts."""
    leaves = leaf_value.size
    table_start = np.zeros(leaves + 1, dtype=np.int64)
    for leaf in range(leaves):
        bits = bit_start[leaf + 1] - bit_start[leaf]
        table_start[leaf + 1] = table_start[leaf] + (bits << bits if bits else 0)
    table = np.empty(table_start[leaves])
    for leaf in range(leaves):
        first, bits = bit_start[leaf], bit_start[leaf + 1] - bit_start[leaf]
        if bits:
            values = leaf_table(leaf_value[leaf], bit_zero[first : first + bits])
            table[table_start[leaf] : table_start[leaf + 1]] = values.ravel()
    return table_start, table


# --- the compiled loops ----------------------------------------------------------------------
# The loops take a block of rows at a time with the rows innermost, over a feature-major
# matrix: each node's decision is one pass over a contiguous column, without branches, which
# the compiler vectorises. (Walking each row down each tree instead is a chain of
# unpredictable branches: no faster than LightGBM.)

# Index of the lowest set bit of a 64-bit word from its isolated bit (de Bruijn multiplication).
_DE_BRUIJN = np.uint64(0x03F79D71B4CB0A89)
_LOWEST_BIT = np.zeros(64, dtype=np.int64)
for _bit in range(64):
    _LOWEST_BIT[(((1 << _bit) * 0x03F79D71B4CB0A89) % 2**64) >> 58] = _bit
MAX_LEAVES = 64  # leaves a tree may have for the bit-mask walk; wider trees walk row by row


@numba.njit(nogil=True, cache=True, inline="always")
def _numeric_left(value, edge, nan_as, zero_as):
    """Does a value go left at a numeric split (LightGBM's NumericalDecision)? A missing
    value and a value within ZERO_THRESHOLD of zero are replaced by what decides them as the
    split does (-inf goes left, +inf right): selects of numbers, which vectorise."""
    value = zero_as if abs(value) <= ZERO_THRESHOLD else value
    value = nan_as if np.isnan(value) else value
    return value <= edge


@numba.njit(nogil=True, cache=True, inline="always")
def _small_category_left(value, codes):
    """_category_left when every left code is below SMALL_CODES: codes is their bit word.
    Without a branch, so that a pass over a column vectorises."""
    code = value if value > -1.0 and value < SMALL_CODES else float(SMALL_CODES)
    return (codes >> np.uint64(np.int64(code))) & np.uint64(1) == np.uint64(1)


@numba.njit(nogil=True, cache=True, inline="always")
def _category_left(value, bitset, first, words):
    """Does a value go left at a categorical split? Missing and negative codes go right; a
    value is truncated to its code first (LightGBM's CategoricalDecision), so -0.5 is 0.)"""
    if np.isnan(value):
        return False
    code = int(value)
    if code < 0 or code >= 32 * words:
        return False
    return (bitset[first + code // 32] >> np.uint32(code % 32)) & 1 == 1


@numba.njit(nogil=True, cache=True)
def _decide(X, start, stop, node, nodes, out):
    """out[i] = does row start + i go left at `node`. `nodes` is _Arrays.nodes()."""
    _, _, feature, threshold, kind, nan_value, zero_value, bitset, bitset_start, small = nodes
    # A view of the column, indexed from 0: X[start + i, ...] would not vectorise.
    values = X[start:stop, feature[node]]
    if kind[node] == CATEGORICAL:
        codes = small[node]
        for i in range(stop - start):
            out[i] = _small_category_left(values[i], codes)
    elif kind[node] == WIDE_CATEGORICAL:
        first, words = bitset_start[node], bitset_start[node + 1] - bitset_start[node]
        for i in range(stop - start):
            out[i] = _category_left(values[i], bitset, first, words)
    else:
        edge, nan_as, zero_as = threshold[node], nan_value[node], zero_value[node]
        for i in range(stop - start):
            out[i] = _numeric_left(values[i], edge, nan_as, zero_as)


@numba.njit(nogil=True, cache=True)
def _raw_scores(X, start, stop, out, nodes, right_mask, leaf_value, lowest_bit):
    """out[start:stop] = per row, the sum over trees of the reached leaf's value. Each tree's
    leaves are bits of a word; a node a row does not go left at clears the bits of its left
    subtree; the reached leaf is the lowest bit left (QuickScorer, Lucchese et al. 2015)."""
    node_start, leaf_start = nodes[0], nodes[1]
    rows = stop - start
    left = np.empty(rows, dtype=np.bool_)
    alive = np.empty(rows, dtype=np.uint64)
    total = np.zeros(rows)
    everything, nothing = ~np.uint64(0), np.uint64(0)
    for t in range(node_start.size - 1):
        alive[:] = everything
        for node in range(node_start[t], node_start[t + 1]):
            _decide(X, start, stop, node, nodes, left)
            keep = right_mask[node]
            for i in range(rows):
                alive[i] &= keep | (nothing - np.uint64(left[i]))
        first_leaf = leaf_start[t]
        for i in range(rows):
            lowest = alive[i] & (~alive[i] + np.uint64(1))
            leaf = lowest_bit[(lowest * _DE_BRUIJN) >> np.uint64(58)]
            total[i] += leaf_value[first_leaf + leaf]
    out[start:stop] = total


@numba.njit(nogil=True, cache=True)
def _raw_scores_by_row(X, start, stop, out, nodes, left_child, right_child, leaf_value):
    """_raw_scores for trees too wide for a word: each row walks down each tree."""
    node_start, leaf_start = nodes[0], nodes[1]
    decision = np.empty(1, dtype=np.bool_)
    for i in range(start, stop):
        total = 0.0
        for t in range(node_start.size - 1):
            node = node_start[t] if node_start[t + 1] > node_start[t] else -1 - leaf_start[t]
            while node >= 0:
                _decide(X, i, i + 1, node, nodes, decision)
                node = left_child[node] if decision[0] else right_child[node]
            total += leaf_value[-node - 1]
        out[i] = total


@numba.njit(nogil=True, cache=True)
def _contributions(X, start, stop, out, nodes, tables):
    """out[start + i, j] = the sum over leaves of the leaf's table value for the row's
    pattern (bit k: does the row follow the leaf's path on its k-th feature). `tables` is
    _Arrays.tables."""
    node_start, leaf_start = nodes[0], nodes[1]
    bit_start, bit_feature, edge_start, edge_node, edge_left, table_start, table = tables
    rows = stop - start
    widest = 1
    for t in range(node_start.size - 1):
        widest = max(widest, node_start[t + 1] - node_start[t])
    left = np.empty((widest, rows), dtype=np.bool_)
    pattern = np.empty(rows, dtype=np.int64)
    follows = np.empty(rows, dtype=np.bool_)
    block = np.zeros((out.shape[1], rows))  # feature-major: each add is contiguous
    for t in range(node_start.size - 1):
        first_node = node_start[t]
        for node in range(first_node, node_start[t + 1]):
            _decide(X, start, stop, node, nodes, left[node - first_node])
        for leaf in range(leaf_start[t], leaf_start[t + 1]):
            bits = bit_start[leaf + 1] - bit_start[leaf]
            if bits == 0:
                continue
            pattern[:] = 0
            for bit in range(bits):
                b = bit_start[leaf] + bit
                follows[:] = True
                for e in range(edge_start[b], edge_start[b + 1]):
                    side, wanted = left[edge_node[e] - first_node], edge_left[e]
                    for i in range(rows):
                        follows[i] &= side[i] == wanted
                for i in range(rows):
                    pattern[i] |= np.int64(follows[i]) << bit
            base = table_start[leaf]
            for bit in range(bits):
                target = block[bit_feature[bit_start[leaf] + bit]]
                for i in range(rows):
                    target[i] += table[base + pattern[i] * bits + bit]
    for j in range(out.shape[1]):
        for i in range(rows):
            out[start + i, j] = block[j, i]


# --- building the arrays ---------------------------------------------------------------------


@dataclass
class _Arrays:
    """Every tree's nodes and leaves, flat; tree t's nodes are node_start[t]..[t + 1] (in
    depth-first order, the root first) and its leaves leaf_start[t]..[t + 1] (left to
    right). A child below 0 is leaf -child - 1."""

    node_start: np.ndarray
    leaf_start: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    kind: np.ndarray  # (WIDE_)CATEGORICAL, or the numeric split's missing-value handling
    # What decides a missing value and a zero as the numeric split does: -inf (goes left) or
    # +inf (goes right). LightGBM reads a missing value as zero unless the split sends
    # missing values one way; where zero means missing, zero goes that way.
    nan_value: np.ndarray
    zero_value: np.ndarray
    bitset: np.ndarray  # node n's left codes: bits of bitset[bitset_start[n]:...[n + 1]]
    bitset_start: np.ndarray
    small_codes: np.ndarray  # a CATEGORICAL node's left codes as the bits of one word
    left_child: np.ndarray
    right_child: np.ndarray
    right_mask: np.ndarray  # the tree's leaves (as bits) still reachable after going right
    leaf_value: np.ndarray
    # TreeSHAP tables: leaf l's distinct path features are bits bit_start[l]..[l + 1]; bit b
    # is followed when every edge edge_start[b]..[b + 1] is (edge_node goes edge_left).
    bit_start: np.ndarray
    bit_feature: np.ndarray
    edge_start: np.ndarray
    edge_node: np.ndarray
    edge_left: np.ndarray
    bit_zero: np.ndarray  # per bit: the share of training rows that follow those edges
    expected_value: float
    tabled: bool  # False when a path is too deep for tables
    narrow: bool  # every tree has at most MAX_LEAVES leaves (the bit-mask walk)

    def nodes(self) -> tuple:
        """What a node's decision needs, as the compiled loops take it."""
        return (
            self.node_start,
            self.leaf_start,
            self.feature,
            self.threshold,
            self.kind,
            self.nan_value,
            self.zero_value,
            self.bitset,
            self.bitset_start,
            self.small_codes,
        )

    @cached_property
    def tables(self) -> tuple:
        """The TreeSHAP tables, as _contributions takes them (built on first use: scores
        alone do not need them)."""
        table_start, table = _leaf_tables(self.leaf_value, self.bit_start, self.bit_zero)
        return (
            self.bit_start,
            self.bit_feature,
            self.edge_start,
            self.edge_node,
            self.edge_left,
            table_start,
            table,
        )


def _bitset(codes: list[int]) -> list[int]:
    """LightGBM's bitset of categorical codes: 32 codes a word."""
    words = [0] * (max(codes) // 32 + 1)
    for code in codes:
        words[code // 32] |= 1 << (code % 32)
    return words


def _flatten(dump: dict) -> _Arrays:
    """The flat arrays of a dump_model() document."""
    nodes: dict[str, list] = {
        k: []
        for k in (
            "feature",
            "threshold",
            "kind",
            "nan_value",
            "zero_value",
            "small",
            "left",
            "right",
            "mask",
        )
    }
    bitset: list[int] = []
    bitset_start = [0]
    leaf_value: list[float] = []
    node_start, leaf_start = [0], [0]
    bit_start, bit_feature, bit_zero, edge_start, edge_node, edge_left = [0], [], [], [0], [], []
    expected = 0.0
    tabled = True

    def walk(node: dict, path: list[tuple[int, bool, float]], total: int, first: int) -> int:
        """Add the subtree; return its root's reference (node index, or -leaf - 1)."""
        nonlocal expected, tabled
        if "split_feature" not in node:
            value = float(node["leaf_value"])
            expected += value * node.get("leaf_count", 0) / max(total, 1)
            leaf_value.append(value)
            edges: dict[int, list[tuple[int, bool]]] = {}
            zero: dict[int, float] = {}
            for index, goes_left, fraction in path:
                split = nodes["feature"][index]
                edges.setdefault(split, []).append((index, goes_left))
                zero[split] = zero.get(split, 1.0) * fraction
            order = list(edges)
            tabled = tabled and len(order) <= MAX_DEPTH
            for split in order:
                bit_feature.append(split)
                bit_zero.append(zero[split])
                for index, goes_left in edges[split]:
                    edge_node.append(index)
                    edge_left.append(goes_left)
                edge_start.append(len(edge_node))
            bit_start.append(len(bit_feature))
            return -len(leaf_value)
        index = len(nodes["feature"])
        nodes["feature"].append(int(node["split_feature"]))
        default_left = bool(node["default_left"])
        if node["decision_type"] == "==":
            codes = [int(c) for c in str(node["threshold"]).split("||")]
            small = max(codes) < SMALL_CODES
            nodes["kind"].append(CATEGORICAL if small else WIDE_CATEGORICAL)
            nodes["threshold"].append(np.nan)
            nodes["small"].append(sum(1 << c for c in codes) if small else 0)
            bitset.extend(_bitset(codes))
            nodes["nan_value"].append(np.nan)
            nodes["zero_value"].append(np.nan)
        else:
            kind = MISSING_KINDS[str(node["missing_type"])]
            threshold = float(node["threshold"])
            nodes["kind"].append(kind)
            nodes["threshold"].append(threshold)
            nodes["small"].append(0)
            nan_left = threshold >= 0.0 if kind == NONE else default_left
            zero_left = default_left if kind == ZERO else threshold >= 0.0
            nodes["nan_value"].append(-np.inf if nan_left else np.inf)
            nodes["zero_value"].append(-np.inf if zero_left else np.inf)
        bitset_start.append(len(bitset))
        for key in ("left", "right", "mask"):
            nodes[key].append(0)
        count = node["internal_count"]
        for child, side in ((node["left_child"], "left"), (node["right_child"], "right")):
            child_count = child.get("internal_count", child.get("leaf_count", 0))
            before = len(leaf_value)
            reference = walk(
                child, [*path, (index, side == "left", child_count / count)], total, first
            )
            nodes[side][index] = reference
            if side == "left":
                # Going right rules out the left subtree's leaves (bits before - first ...).
                cleared = sum(1 << (k - first) for k in range(before, len(leaf_value)))
                nodes["mask"][index] = ~cleared & (2**64 - 1)
        return index

    for info in dump["tree_info"]:
        structure = info["tree_structure"]
        total = structure.get("internal_count", structure.get("leaf_count", 1))
        walk(structure, [], total, len(leaf_value))
        node_start.append(len(nodes["feature"]))
        leaf_start.append(len(leaf_value))

    def ints(values: list, dtype=np.int64) -> np.ndarray:
        return np.asarray(values, dtype=dtype)

    leaves = np.diff(leaf_start)
    narrow = bool(leaves.max(initial=1) <= MAX_LEAVES)
    return _Arrays(
        node_start=ints(node_start),
        leaf_start=ints(leaf_start),
        feature=ints(nodes["feature"]),
        threshold=np.asarray(nodes["threshold"], dtype=np.float64),
        kind=ints(nodes["kind"], np.int8),
        nan_value=np.asarray(nodes["nan_value"], dtype=np.float64),
        zero_value=np.asarray(nodes["zero_value"], dtype=np.float64),
        bitset=ints(bitset, np.uint32),
        bitset_start=ints(bitset_start),
        small_codes=ints(nodes["small"], np.uint64),
        left_child=ints(nodes["left"]),
        right_child=ints(nodes["right"]),
        right_mask=ints(nodes["mask"] if narrow else [0] * len(nodes["mask"]), np.uint64),
        leaf_value=np.asarray(leaf_value, dtype=np.float64),
        bit_start=ints(bit_start),
        bit_feature=ints(bit_feature),
        edge_start=ints(edge_start),
        edge_node=ints(edge_node),
        edge_left=ints(edge_left, np.bool_),
        bit_zero=np.asarray(bit_zero, dtype=np.float64),
        expected_value=expected,
        tabled=tabled,
        narrow=narrow,
    )


def _supported(dump: dict) -> bool:
    """Whether the compiled loops reproduce this model: one tree an iteration, constant
    leaves."""
    if dump.get("num_tree_per_iteration", 1) != 1:
        return False
    return not any("leaf_coeff" in str(info["tree_structure"]) for info in dump["tree_info"])


def _probe_rows(arrays: _Arrays, n_features: int, rng: np.random.Generator) -> np.ndarray:
    """Rows that sit on, just above and just below the split thresholds, with missing
    values, zeros, tiny values and every categorical code: where a decision rule could
    differ."""
    n = 512
    X = rng.normal(size=(n, n_features)) * 10
    numeric = arrays.kind < CATEGORICAL
    for node in np.flatnonzero(numeric):
        column, edge = arrays.feature[node], arrays.threshold[node]
        rows = rng.integers(0, n, size=7)
        X[rows[:2], column] = edge
        X[rows[2:4], column] = np.nextafter(edge, np.inf)
        X[rows[4], column] = np.nextafter(edge, -np.inf)
        X[rows[5], column] = 0.0
        X[rows[6], column] = -1e-36
    for node in np.flatnonzero(~numeric):
        words = arrays.bitset[arrays.bitset_start[node] : arrays.bitset_start[node + 1]]
        codes = np.arange(32 * len(words) + 2) - 1
        rows = rng.integers(0, n, size=len(codes))
        X[rows, arrays.feature[node]] = codes
    X[rng.random(X.shape) < 0.1] = np.nan
    return X


class CompiledTrees:
    """A LightGBM booster's raw scores and exact TreeSHAP contributions, compiled."""

    def __init__(self, booster) -> None:
        self.booster = booster
        dump = booster.dump_model()
        self.n_features = dump["max_feature_idx"] + 1
        self.arrays = _flatten(dump) if _supported(dump) else None
        self.compiled = self.arrays is not None
        if self.compiled:
            probe = _probe_rows(self.arrays, self.n_features, np.random.default_rng(0))
            # A model whose decisions the loops would not reproduce stays with LightGBM.
            self.compiled = bool(
                np.allclose(
                    self.raw_score(probe, threads=1),
                    booster.predict(probe, raw_score=True),
                    rtol=0,
                    atol=1e-9,
                )
            )

    @property
    def tabled(self) -> bool:
        """Whether contributions come from the tables (else from LightGBM)."""
        return self.compiled and self.arrays.tabled

    @property
    def expected_value(self) -> float:
        """The base value: the model's mean log-odds over its training rows."""
        if self.tabled:
            return self.arrays.expected_value
        zeros = np.zeros((1, self.n_features))
        return float(self.booster.predict(zeros, pred_contrib=True)[0, -1])

    def raw_score(self, X: np.ndarray, threads: int | None = None) -> np.ndarray:
        """The model's log-odds per row, as LightGBM's predict(raw_score=True). X is best
        feature-major (order="F"), as Artifact.matrix builds it."""
        if not self.compiled:
            return self.booster.predict(X, raw_score=True)
        X, a = _feature_major(X), self.arrays
        out = np.empty(len(X))
        nodes = a.nodes()
        if a.narrow:

            def work(start: int, stop: int) -> None:
                _raw_scores(X, start, stop, out, nodes, a.right_mask, a.leaf_value, _LOWEST_BIT)
        else:

            def work(start: int, stop: int) -> None:
                _raw_scores_by_row(
                    X, start, stop, out, nodes, a.left_child, a.right_child, a.leaf_value
                )

        _by_rows(work, len(X), threads)
        return out

    def contributions(self, X: np.ndarray, threads: int | None = None) -> np.ndarray:
        """(rows, features + 1): contributions in log-odds, the last column the base value,
        as LightGBM's pred_contrib returns them."""
        if not self.tabled:
            return self.booster.predict(X, pred_contrib=True)
        X, a = _feature_major(X), self.arrays
        out = np.empty((len(X), self.n_features + 1))
        nodes, tables = a.nodes(), a.tables
        _by_rows(
            lambda start, stop: _contributions(X, start, stop, out, nodes, tables),
            len(X),
            threads,
        )
        out[:, -1] = self.expected_value
        return out


def _feature_major(X: np.ndarray) -> np.ndarray:
    return np.asfortranarray(X, dtype=np.float64)


def _by_rows(work, rows: int, threads: int | None) -> None:
    """work(start, stop) over blocks of rows on `threads` threads (default: every core). The
    loops release the GIL, so Python threads run them in parallel."""
    threads = threads or os.cpu_count() or 1
    blocks = [(s, min(s + ROWS_PER_TASK, rows)) for s in range(0, rows, ROWS_PER_TASK)]
    if threads == 1 or len(blocks) <= 1:
        for start, stop in blocks:
            work(start, stop)
        return
    with ThreadPoolExecutor(min(threads, len(blocks))) as pool:
        list(pool.map(lambda block: work(*block), blocks))
