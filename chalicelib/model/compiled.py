"""Fraud models compiled to numpy arrays and scored without scikit-learn or scipy.

``fraudctl.training.compile`` turns fitted scikit-learn estimators into the classes below;
the Lambda runtime rebuilds them with ``model_from_state`` (classifiers) or
``anomaly_model_from_state`` (the isolation forest) from ``to_state()`` dictionaries. A state
holds only numpy arrays and plain Python values, what ``chalicelib.model.plain`` stores.
Probabilities equal scikit-learn's ``predict_proba`` to about 1e-15 (tests hold 1e-9).

Tree ensembles are flattened: the nodes of every tree share one set of arrays and tree ``t``
starts at node ``roots[t]``. Scoring moves all (row, tree) pairs down one level per numpy
step, so the Python loop runs over depth only. A single row (a payment scored through the
API) through an ensemble of small trees takes every node's decision at once instead, then
walks the trees by one table lookup per level. A payment's row comes as Python floats
(``predict_proba_one``, ``anomaly_score_one``) and never becomes a matrix.

>>> model = LogisticModel(("amount", "velocity"), coef=np.array([0.5, -1.0]), intercept=-2.0)
>>> model.predict_proba(np.array([4.0, 0.0]))
array([0.5])
>>> bias, contributions = model_from_state(model.to_state()).contributions([4.0, 1.0])
>>> bias, contributions
(-2.0, array([ 2., -1.]))
"""

from __future__ import annotations

import functools
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from chalicelib.errors import FraudServiceError

FORMAT_VERSION = 1
LOG_ODDS = "log_odds"
PROBABILITY = "probability"
LOG2_ANOMALY = "log2_anomaly_score"
MAX_PAIRS_PER_CHUNK = 1 << 16
"""Most (row, tree) pairs traversed at once: bounds the working memory of batch scoring."""
ONE_ROW_NODES_PER_LEVEL = 2_500
"""A single row goes through an ensemble of at most this many nodes per level of depth by
per-node decisions (``_NodeDecisions``): one level of the batch walk, six numpy calls on
the scoring path, costs about as much as deciding 2,500 nodes. Larger ensembles (deep
forests: a random forest of depth 12 has 5,300 nodes per level) are walked level by
level, one row as a batch."""

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]
_TREE_KEYS = ("feature", "threshold", "missing_go_to_left", "left", "right", "value", "roots")
_THRESHOLD_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class ModelFormatError(FraudServiceError):
    """A compiled model or its state is malformed: unknown kind or version, missing key,
    wrong array type or shape, or tree links that do not form a forest of binary trees."""


class ModelInputError(FraudServiceError):
    """Feature rows do not fit the model: wrong shape, not numeric, or not finite where the
    model needs finite values."""


class TreeEnsemble:
    """Binary decision trees flattened into shared node arrays.

    Internal node ``i`` sends a row left when ``x[feature[i]] <= threshold[i]``, with ``x``
    cast to the dtype of ``threshold``, and sends NaN left when ``missing_go_to_left[i]``.
    Leaves have ``left == right == -1`` (their feature and threshold are ignored). Children
    come after their parent and every node but a root has exactly one parent. ``value`` is
    each node's output; internal values serve ``path_contributions`` only.

    For float32 thresholds (scikit-learn casts rows to float32 but keeps float64 thresholds)
    the compiler stores the largest float32 not above the float64 threshold, which gives the
    same decision for every float32 value.

    Missing values cost nothing per level: each row is widened to three blocks of columns,
    ``[x, x with NaN as +inf, isnan(x)]``, and each node reads the block that routes NaN its
    way: NaN fails ``>`` so goes left in the first; ``+inf`` goes right in the second; a
    node splitting NaN from everything (threshold ``+inf``, NaN right, as gradient boosting
    writes it) tests ``isnan(x) > 0.5`` in the third.

    Raises
    ------
    ModelFormatError
        An array has the wrong type, dtype, shape or values.
    """

    def __init__(
        self,
        *,
        feature: NDArray[np.int32],
        threshold: NDArray[np.floating[Any]],
        missing_go_to_left: NDArray[np.bool_],
        left: NDArray[np.int32],
        right: NDArray[np.int32],
        value: FloatArray,
        roots: NDArray[np.int32],
        n_features: int,
    ) -> None:
        self.value = _frozen(value, "value", np.float64, None)
        n_nodes = len(self.value)
        if not isinstance(threshold, np.ndarray) or threshold.dtype not in _THRESHOLD_DTYPES:
            raise ModelFormatError("threshold must be a numpy array of float32 or float64")
        self.feature = _frozen(feature, "feature", np.int32, n_nodes)
        self.threshold = _frozen(threshold, "threshold", threshold.dtype, n_nodes)
        self.missing_go_to_left = _frozen(
            missing_go_to_left, "missing_go_to_left", np.bool_, n_nodes
        )
        self.left = _frozen(left, "left", np.int32, n_nodes)
        self.right = _frozen(right, "right", np.int32, n_nodes)
        self.roots = _frozen(roots, "roots", np.int32, None)
        self.n_features = n_features
        leaf = self.left == -1
        self.depth = _check_forest(self, leaf)
        # Traversal works on slots, ``2 * node``: a node's children sit at its slot (left)
        # and its slot + 1 (right), so one level is a lookup at ``slot + goes_right``.
        nodes = np.arange(n_nodes, dtype=np.intp)
        self._children = 2 * np.column_stack(
            [np.where(leaf, nodes, self.left), np.where(leaf, nodes, self.right)]
        ).ravel()
        self._feature = np.where(leaf, 0, self.feature).astype(np.intp)
        nan_only = ~self.missing_go_to_left & np.isposinf(self.threshold)
        block = np.where(self.missing_go_to_left, 0, np.where(nan_only, 2, 1))
        column = self._feature + n_features * np.where(leaf, 0, block)
        threshold = np.where(nan_only, 0.5, self.threshold).astype(self.threshold.dtype)
        self._column = np.repeat(column, 2)
        self._threshold = np.repeat(threshold, 2)
        self._root_slots = 2 * self.roots.astype(np.intp)

    @functools.cached_property
    def _one_row(self) -> _NodeDecisions | None:
        """How one row goes through: by per-node decisions, built at the first single row
        (batch scoring never needs them), or ``None`` for the level walk of batches."""
        if len(self.value) > ONE_ROW_NODES_PER_LEVEL * self.depth:
            return None
        return _NodeDecisions(self)

    @property
    def n_trees(self) -> int:
        """Number of trees."""
        return len(self.roots)

    def leaf_sum(self, rows: FloatArray) -> FloatArray:
        """Sum over trees of the value of the leaf each row reaches, shape ``(n,)``.

        ``rows`` is a float64 array of shape ``(n, n_features)``; batches are traversed in
        chunks of at most ``MAX_PAIRS_PER_CHUNK`` (row, tree) pairs.
        """
        if len(rows) == 1 and self._one_row is not None:
            return np.array([self._one_row.leaf_sum(rows[0].tolist(), self.depth)])
        sums = np.empty(len(rows))
        step = max(1, MAX_PAIRS_PER_CHUNK // self.n_trees)
        for start in range(0, len(rows), step):
            chunk = rows[start : start + step]
            sums[start : start + step] = self.value.take(self._leaves(chunk)).sum(axis=1)
        return sums

    def leaf_sum_one(self, row: Sequence[float]) -> float:
        """``leaf_sum`` of one row given as Python floats (``n_features`` of them), equal to
        the same row's in a batch to the last bit."""
        if self._one_row is not None:
            return self._one_row.leaf_sum(row, self.depth)
        return float(self.leaf_sum(np.array([row], dtype=np.float64))[0])

    def path_contributions(self, row: FloatArray) -> tuple[float, FloatArray]:
        """Saabas decomposition of ``leaf_sum`` for one row of shape ``(n_features,)``.

        Returns the sum of the root values and, per feature, the sum over the decision paths
        of ``value[child] - value[parent]`` at the nodes splitting on that feature; the two
        add up to ``leaf_sum(row)``.
        """
        x = self._widened(row.reshape(1, -1)).ravel()
        node, slot = self.roots, self._root_slots
        contributions = np.zeros(self.n_features)
        for _ in range(self.depth):
            parent, slot = node, self._step(x, slot, None)
            node = slot >> 1
            gains = self.value.take(node) - self.value.take(parent)
            contributions += np.bincount(
                self._feature.take(parent), weights=gains, minlength=self.n_features
            )
        return float(self.value.take(self.roots).sum()), contributions

    def to_state(self) -> dict[str, Any]:
        """The node arrays, as accepted by ``from_state``."""
        return {
            "feature": self.feature,
            "threshold": self.threshold,
            "missing_go_to_left": self.missing_go_to_left,
            "left": self.left,
            "right": self.right,
            "value": self.value,
            "roots": self.roots,
        }

    @classmethod
    def from_state(cls, state: Any, n_features: int) -> TreeEnsemble:
        """Rebuild from ``to_state()``; raises ``ModelFormatError`` on a malformed state."""
        return cls(**{key: _get(state, key) for key in _TREE_KEYS}, n_features=n_features)

    def _leaves(self, rows: FloatArray) -> IndexArray:
        n_rows, n_trees = len(rows), self.n_trees
        x = self._widened(rows)
        slot = np.tile(self._root_slots, n_rows)
        offsets = None
        if n_rows > 1:
            offsets = np.repeat(np.arange(n_rows, dtype=np.intp) * x.shape[1], n_trees)
        x = x.ravel()
        for _ in range(self.depth):
            slot = self._step(x, slot, offsets)
        return (slot >> 1).reshape(n_rows, n_trees)

    def _widened(self, rows: FloatArray) -> NDArray[np.floating[Any]]:
        """Rows in threshold dtype as ``[x, x with NaN as +inf, isnan(x)]``, shape ``(n, 3f)``."""
        x = rows.astype(self.threshold.dtype)
        missing = np.isnan(x)
        return np.concatenate([x, np.where(missing, np.inf, x), missing], axis=1, dtype=x.dtype)

    def _step(
        self, x: NDArray[np.floating[Any]], slot: IndexArray, offsets: IndexArray | None
    ) -> IndexArray:
        """Move every pair's slot one level down (leaves stay put); ``x`` is the flat
        widened block."""
        index = self._column.take(slot)
        if offsets is not None:
            index += offsets
        return self._children.take(slot + (x.take(index) > self._threshold.take(slot)))


class _NodeDecisions:
    """One row through a ``TreeEnsemble``: the decision of every node, left or right, taken
    at once, then the trees walked by one lookup per level. The level-by-level walk of a
    batch makes six numpy calls per level, and on the scoring path, between Python code,
    each numpy call costs twice what it costs in a loop of them.

    Nodes are renumbered so that those reading the same column of the widened row sit
    together: the row's values reach every node with one ``repeat``. The widened values
    the nodes read are picked in Python from the row's floats: a row of a payment never
    becomes a matrix.
    """

    def __init__(self, trees: TreeEnsemble) -> None:
        # Each node's column, threshold and children (a leaf's are itself), from the slot
        # arrays of the walk.
        column, threshold = trees._column[::2], trees._threshold[::2]
        order = np.argsort(column, kind="stable")  # new number -> node
        renumbered = np.empty_like(order)
        renumbered[order] = np.arange(len(order))
        columns, self.counts = np.unique(column[order], return_counts=True)
        self._pick = _picker(columns.tolist())
        self.threshold = threshold[order]
        # A node's next node is ``left + goes_right * to_right``: a product and a sum in
        # the smallest integers that number the nodes, three times faster than a select.
        numbers = np.int16 if len(order) <= np.iinfo(np.int16).max else np.int32
        left = renumbered[trees._children[0::2][order] >> 1]
        right = renumbered[trees._children[1::2][order] >> 1]
        self.left = left.astype(numbers)
        self.to_right = (right - left).astype(numbers)
        self.roots = renumbered[trees.roots]
        self.value = trees.value[order]

    def leaf_sum(self, row: Sequence[float], depth: int) -> float:
        """``TreeEnsemble.leaf_sum`` of one row of Python floats."""
        # The row widened as ``TreeEnsemble._widened`` does, in Python; the cast to the
        # thresholds' dtype comes with the array.
        widened = [
            *row,
            *[math.inf if value != value else value for value in row],
            *[float(value != value) for value in row],
        ]
        x = np.array(self._pick(widened), dtype=self.threshold.dtype)
        following = self.left + (x.repeat(self.counts) > self.threshold) * self.to_right
        node = self.roots
        for _ in range(depth):
            node = following.take(node)
        return float(self.value.take(node).sum())


def _picker(positions: list[int]) -> Callable[[list[float]], tuple[float, ...]]:
    """A function returning the items of a list at ``positions``, as a tuple, in C."""
    if len(positions) == 1:
        (position,) = positions
        return lambda values: (values[position],)
    return itemgetter(*positions)


class _Compiled(ABC):
    """Shared by every compiled model: feature names, row checks, state round trip."""

    kind: ClassVar[str]
    finite_only: ClassVar[bool] = False

    def __init__(self, feature_names: Sequence[str]) -> None:
        names = tuple(feature_names)
        if not names or not all(isinstance(name, str) for name in names):
            raise ModelFormatError("feature_names must be a non-empty list of strings")
        if len(set(names)) != len(names):
            raise ModelFormatError("feature_names must be distinct")
        self.feature_names = names

    def to_state(self) -> dict[str, Any]:
        """Numpy arrays and plain Python values that ``model_from_state`` (or
        ``anomaly_model_from_state``) turns back into an equal model."""
        return {
            "format_version": FORMAT_VERSION,
            "kind": self.kind,
            "feature_names": list(self.feature_names),
            **self._parameters(),
        }

    @abstractmethod
    def _parameters(self) -> dict[str, Any]:
        """The kind-specific part of the state."""

    @classmethod
    @abstractmethod
    def _from_state(cls, state: Mapping[str, Any], feature_names: tuple[str, ...]) -> Self:
        """Rebuild from a state whose version, kind and feature names are checked."""

    def _rows(self, X: ArrayLike) -> FloatArray:
        """``X`` as a float64 array of shape ``(n, n_features)``; a 1-D row becomes one row."""
        try:
            rows = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ModelInputError("feature values must be numbers") from exc
        if rows.ndim == 1:
            rows = rows.reshape(1, -1)
        if rows.ndim != 2 or rows.shape[1] != len(self.feature_names):
            raise ModelInputError(
                f"expected rows of {len(self.feature_names)} features, got shape {np.shape(X)}"
            )
        if self.finite_only and not np.isfinite(rows).all():
            raise ModelInputError(f"a {self.kind} model needs finite feature values")
        return rows

    def _row_values(self, row: Sequence[float]) -> list[float]:
        """``row`` (one row, ``n_features`` numbers) as checked Python floats."""
        try:
            values = list(map(float, row))
        except (TypeError, ValueError) as exc:
            raise ModelInputError("feature values must be numbers") from exc
        if len(values) != len(self.feature_names):
            raise ModelInputError(
                f"expected a row of {len(self.feature_names)} features, got {len(values)}"
            )
        if self.finite_only and not all(map(math.isfinite, values)):
            raise ModelInputError(f"a {self.kind} model needs finite feature values")
        return values

    def _one_row(self, x: ArrayLike) -> FloatArray:
        """``x`` as one checked row of shape ``(n_features,)`` (what explanations take)."""
        rows = self._rows(x)
        if len(rows) != 1:
            raise ModelInputError(f"contributions explain one row, got {len(rows)}")
        return rows[0]


class CompiledModel(_Compiled):
    """A compiled binary classifier.

    Attributes
    ----------
    kind:
        ``"logistic"``, ``"forest"`` or ``"gradient_boosting"``.
    feature_names:
        Column order of the rows the model scores.
    output_space:
        ``"log_odds"`` or ``"probability"``: the additive space of ``contributions``.
    """

    output_space: ClassVar[str]

    def predict_proba(self, X: ArrayLike) -> FloatArray:
        """Probability of class 1, shape ``(n,)`` float64.

        ``X`` has shape ``(n, n_features)`` (or ``(n_features,)`` for one row) in
        ``feature_names`` order. Tree models route NaN as the estimator does and compare
        infinities as values (a float32 model sees values beyond the float32 range as
        infinite); the logistic model refuses non-finite values.

        Raises
        ------
        ModelInputError
            Wrong shape, non-numeric values, or non-finite values for the logistic model.
        """
        output = self._output(self._rows(X))
        return _sigmoid(output) if self.output_space == LOG_ODDS else output

    def predict_proba_one(self, row: Sequence[float]) -> float:
        """``predict_proba`` of one row of numbers (a payment's), without an input matrix.

        Tree models give the row's probability in a batch to the last bit. The logistic
        model sums its products in extended precision (``math.sumprod``), where a batch's
        matrix product rounds at each step: the two may differ by about 1e-15.

        Raises
        ------
        ModelInputError
            As for ``predict_proba``.
        """
        output = self._output_one(self._row_values(row))
        return float(_sigmoid(output)) if self.output_space == LOG_ODDS else output

    def contributions(self, x: ArrayLike) -> tuple[float, FloatArray]:
        """Additive explanation of one row: ``(bias, per-feature contributions)``.

        ``bias + contributions.sum()`` equals the model output in ``output_space`` (log-odds
        or probability) for row ``x`` (shape ``(n_features,)`` or ``(1, n_features)``).

        Raises
        ------
        ModelInputError
            As for ``predict_proba``, or when ``x`` holds more than one row.
        """
        return self._contributions(self._one_row(x))

    @abstractmethod
    def _output(self, rows: FloatArray) -> FloatArray:
        """Model output in ``output_space`` for checked rows."""

    @abstractmethod
    def _output_one(self, row: list[float]) -> float:
        """``_output`` of one checked row of Python floats."""

    @abstractmethod
    def _contributions(self, row: FloatArray) -> tuple[float, FloatArray]:
        """``(bias, contributions)`` for one checked row."""


class LogisticModel(CompiledModel):
    """Logistic regression on standardised features: ``z = (x - mean) / scale``, log-odds
    ``intercept + coef @ z``; feature ``j`` contributes ``coef[j] * z[j]``.

    ``mean`` defaults to zeros and ``scale`` to ones (no standardisation). Arrays are float64
    of shape ``(n_features,)``; ``scale`` must be non-zero; all must be finite.
    """

    kind = "logistic"
    output_space = LOG_ODDS
    finite_only = True

    def __init__(
        self,
        feature_names: Sequence[str],
        *,
        coef: FloatArray,
        intercept: float,
        mean: FloatArray | None = None,
        scale: FloatArray | None = None,
    ) -> None:
        super().__init__(feature_names)
        n_features = len(self.feature_names)
        self.coef = _frozen(coef, "coef", np.float64, n_features)
        self.mean = _frozen(
            np.zeros(n_features) if mean is None else mean, "mean", np.float64, n_features
        )
        self.scale = _frozen(
            np.ones(n_features) if scale is None else scale, "scale", np.float64, n_features
        )
        self.intercept = _finite_float(intercept, "intercept")
        if not (np.isfinite(self.coef).all() and np.isfinite(self.mean).all()):
            raise ModelFormatError("coef and mean must be finite")
        if not (np.isfinite(self.scale).all() and (self.scale != 0).all()):
            raise ModelFormatError("scale must be finite and non-zero")
        # coef @ (x - mean) / scale + intercept, folded into one product and a sum
        self._weights = self.coef / self.scale
        self._offset = self.intercept - float(self.mean @ self._weights)
        self._weight_values = self._weights.tolist()

    def _standardised(self, rows: FloatArray) -> FloatArray:
        return (rows - self.mean) / self.scale

    def _output(self, rows: FloatArray) -> FloatArray:
        return rows @ self._weights + self._offset

    def _output_one(self, row: list[float]) -> float:
        return math.sumprod(row, self._weight_values) + self._offset

    def _contributions(self, row: FloatArray) -> tuple[float, FloatArray]:
        return self.intercept, self._standardised(row) * self.coef

    def _parameters(self) -> dict[str, Any]:
        return {
            "coef": self.coef,
            "intercept": self.intercept,
            "mean": self.mean,
            "scale": self.scale,
        }

    @classmethod
    def _from_state(cls, state: Mapping[str, Any], feature_names: tuple[str, ...]) -> Self:
        return cls(
            feature_names,
            coef=_get(state, "coef"),
            intercept=_get(state, "intercept"),
            mean=_get(state, "mean"),
            scale=_get(state, "scale"),
        )


class ForestModel(CompiledModel):
    """Random forest or extra trees: the mean over trees of the class-1 fraction of the leaf.

    ``trees.value`` holds each node's class-1 fraction and thresholds are float32 (rows are
    cast to float32 as scikit-learn does). Contributions are Saabas path contributions
    averaged over trees; the bias is the mean root value.
    """

    kind = "forest"
    output_space = PROBABILITY
    threshold_dtype: ClassVar[type[np.floating[Any]]] = np.float32

    def __init__(self, feature_names: Sequence[str], trees: TreeEnsemble) -> None:
        super().__init__(feature_names)
        self.trees = _matching_trees(self, trees)

    def _output(self, rows: FloatArray) -> FloatArray:
        return self.trees.leaf_sum(rows) / self.trees.n_trees

    def _output_one(self, row: list[float]) -> float:
        return self.trees.leaf_sum_one(row) / self.trees.n_trees

    def _contributions(self, row: FloatArray) -> tuple[float, FloatArray]:
        root_sum, contributions = self.trees.path_contributions(row)
        return root_sum / self.trees.n_trees, contributions / self.trees.n_trees

    def _parameters(self) -> dict[str, Any]:
        return {"trees": self.trees.to_state()}

    @classmethod
    def _from_state(cls, state: Mapping[str, Any], feature_names: tuple[str, ...]) -> Self:
        return cls(feature_names, TreeEnsemble.from_state(_get(state, "trees"), len(feature_names)))


class BoostingModel(CompiledModel):
    """Histogram gradient boosting (binary): log-odds ``baseline + sum of leaf values``.

    Thresholds are float64 and rows stay float64, as in scikit-learn. Internal node values
    are the training-count-weighted mean of their leaves, so Saabas contributions sum with
    the bias (``baseline`` + root values) to the log-odds.
    """

    kind = "gradient_boosting"
    output_space = LOG_ODDS
    threshold_dtype: ClassVar[type[np.floating[Any]]] = np.float64

    def __init__(self, feature_names: Sequence[str], trees: TreeEnsemble, baseline: float) -> None:
        super().__init__(feature_names)
        self.trees = _matching_trees(self, trees)
        self.baseline = _finite_float(baseline, "baseline")

    def _output(self, rows: FloatArray) -> FloatArray:
        return self.baseline + self.trees.leaf_sum(rows)

    def _output_one(self, row: list[float]) -> float:
        return self.baseline + self.trees.leaf_sum_one(row)

    def _contributions(self, row: FloatArray) -> tuple[float, FloatArray]:
        root_sum, contributions = self.trees.path_contributions(row)
        return self.baseline + root_sum, contributions

    def _parameters(self) -> dict[str, Any]:
        return {"trees": self.trees.to_state(), "baseline": self.baseline}

    @classmethod
    def _from_state(cls, state: Mapping[str, Any], feature_names: tuple[str, ...]) -> Self:
        trees = TreeEnsemble.from_state(_get(state, "trees"), len(feature_names))
        return cls(feature_names, trees, _get(state, "baseline"))


class CompiledAnomalyModel(_Compiled):
    """Isolation forest. Not a classifier: it scores how isolated a row is.

    ``trees.value`` holds, per node, its depth (root = 1) plus the average path length
    ``c(n_node_samples) - 1``; thresholds are float32 and feature indices refer to the full
    row. ``anomaly_score = 2 ** (-sum over trees / path_length_normaliser)`` (0.5 when the
    normaliser is 0), equal to ``-IsolationForest.score_samples``.
    """

    kind = "isolation_forest"
    output_space = LOG2_ANOMALY
    threshold_dtype: ClassVar[type[np.floating[Any]]] = np.float32

    def __init__(
        self, feature_names: Sequence[str], trees: TreeEnsemble, path_length_normaliser: float
    ) -> None:
        super().__init__(feature_names)
        self.trees = _matching_trees(self, trees)
        self.path_length_normaliser = _finite_float(
            path_length_normaliser, "path_length_normaliser"
        )
        if self.path_length_normaliser < 0:
            raise ModelFormatError("path_length_normaliser must not be negative")

    def anomaly_score(self, X: ArrayLike) -> FloatArray:
        """Anomaly score in ``(0, 1]`` per row, shape ``(n,)``; higher is more anomalous.

        ``X`` as for ``CompiledModel.predict_proba`` (NaN accepted).

        Raises
        ------
        ModelInputError
            Wrong shape or non-numeric values.
        """
        path_lengths = self.trees.leaf_sum(self._rows(X))
        if self.path_length_normaliser == 0:
            return np.full_like(path_lengths, 0.5)
        return np.power(2.0, -(path_lengths / self.path_length_normaliser))

    def anomaly_score_one(self, row: Sequence[float]) -> float:
        """``anomaly_score`` of one row of numbers (a payment's), without an input matrix:
        equal to the row's in a batch to the last bit.

        Raises
        ------
        ModelInputError
            As for ``anomaly_score``.
        """
        path_length = self.trees.leaf_sum_one(self._row_values(row))
        if self.path_length_normaliser == 0:
            return 0.5
        return float(np.power(2.0, -(path_length / self.path_length_normaliser)))

    def contributions(self, x: ArrayLike) -> tuple[float, FloatArray]:
        """Additive explanation of one row in ``log2(anomaly_score)``: ``(bias, contributions)``.

        ``log2(anomaly_score) = -path_length_sum / path_length_normaliser``; the Saabas
        decomposition of the path lengths, negated and normalised, gives each feature's
        share: a positive contribution isolates the row faster (more anomalous). All zero
        when the normaliser is 0.

        Raises
        ------
        ModelInputError
            As for ``anomaly_score``, or when ``x`` holds more than one row.
        """
        root_sum, path = self.trees.path_contributions(self._one_row(x))
        if self.path_length_normaliser == 0:
            return -1.0, np.zeros_like(path)
        return -root_sum / self.path_length_normaliser, -path / self.path_length_normaliser

    def _parameters(self) -> dict[str, Any]:
        return {
            "trees": self.trees.to_state(),
            "path_length_normaliser": self.path_length_normaliser,
        }

    @classmethod
    def _from_state(cls, state: Mapping[str, Any], feature_names: tuple[str, ...]) -> Self:
        trees = TreeEnsemble.from_state(_get(state, "trees"), len(feature_names))
        return cls(feature_names, trees, _get(state, "path_length_normaliser"))


_CLASSIFIERS: dict[str, type[CompiledModel]] = {
    model.kind: model for model in (LogisticModel, ForestModel, BoostingModel)
}


def model_from_state(state: Mapping[str, Any]) -> CompiledModel:
    """Rebuild a compiled classifier from ``CompiledModel.to_state()``.

    Raises
    ------
    ModelFormatError
        Not a mapping, unknown format version or kind (including ``"isolation_forest"``,
        which ``anomaly_model_from_state`` loads), missing key, or malformed values.
    """
    kind, feature_names = _header(state)
    model = _CLASSIFIERS.get(kind)
    if model is None:
        raise ModelFormatError(
            f"unknown classifier kind {kind!r}; expected one of {sorted(_CLASSIFIERS)}"
        )
    return model._from_state(state, feature_names)


def anomaly_model_from_state(state: Mapping[str, Any]) -> CompiledAnomalyModel:
    """Rebuild a compiled anomaly model from ``CompiledAnomalyModel.to_state()``.

    Raises
    ------
    ModelFormatError
        As for ``model_from_state``; any kind but ``"isolation_forest"`` is refused.
    """
    kind, feature_names = _header(state)
    if kind != CompiledAnomalyModel.kind:
        raise ModelFormatError(f"expected kind {CompiledAnomalyModel.kind!r}, got {kind!r}")
    return CompiledAnomalyModel._from_state(state, feature_names)


def _header(state: Any) -> tuple[str, tuple[str, ...]]:
    if not isinstance(state, Mapping):
        raise ModelFormatError(f"a model state must be a mapping, not {type(state).__name__}")
    version = _get(state, "format_version")
    if version != FORMAT_VERSION:
        raise ModelFormatError(f"unsupported format_version {version!r}; expected {FORMAT_VERSION}")
    kind = _get(state, "kind")
    names = _get(state, "feature_names")
    if not isinstance(kind, str) or not isinstance(names, list):
        raise ModelFormatError("kind must be a string and feature_names a list")
    return kind, tuple(names)


def _get(state: Any, key: str) -> Any:
    if not isinstance(state, Mapping):
        raise ModelFormatError(f"expected a mapping holding {key!r}")
    if key not in state:
        raise ModelFormatError(f"model state lacks {key!r}")
    return state[key]


def _frozen(array: Any, name: str, dtype: Any, length: int | None) -> Any:
    """A read-only copy of a 1-D numpy array of exactly ``dtype`` (and ``length``)."""
    if not isinstance(array, np.ndarray) or array.dtype != dtype or array.ndim != 1:
        raise ModelFormatError(f"{name} must be a 1-D numpy array of {np.dtype(dtype)}")
    if len(array) == 0 or len(array) != (length or len(array)):
        expected = "non-empty" if length is None else f"of length {length}"
        raise ModelFormatError(f"{name} must be {expected}, got length {len(array)}")
    copy = array.copy()
    copy.flags.writeable = False
    return copy


def _finite_float(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
        raise ModelFormatError(f"{name} must be a number")
    if not np.isfinite(value):
        raise ModelFormatError(f"{name} must be finite")
    return float(value)


def _check_forest(trees: TreeEnsemble, leaf: NDArray[np.bool_]) -> int:
    """Check the links of ``trees`` and return the depth of its deepest tree."""
    n_nodes = len(trees.value)
    inner = np.flatnonzero(~leaf)
    left, right = trees.left[inner], trees.right[inner]
    if (trees.right[leaf] != -1).any():
        raise ModelFormatError("a leaf (left == -1) must have right == -1")
    if ((left <= inner) | (right <= inner) | (left >= n_nodes) | (right >= n_nodes)).any():
        raise ModelFormatError("children must be valid node indices after their parent")
    if ((trees.roots < 0) | (trees.roots >= n_nodes)).any():
        raise ModelFormatError("roots must be valid node indices")
    parents = np.bincount(np.concatenate([left, right, trees.roots]), minlength=n_nodes)
    if (parents != 1).any():
        raise ModelFormatError("every node must have exactly one parent or be a root")
    features = trees.feature[inner]
    if ((features < 0) | (features >= trees.n_features)).any():
        raise ModelFormatError(f"split features must be in [0, {trees.n_features})")
    if np.isnan(trees.threshold[inner]).any() or not np.isfinite(trees.value).all():
        raise ModelFormatError("thresholds must not be NaN and values must be finite")
    depth, frontier = 0, trees.roots
    while True:
        frontier = frontier[~leaf[frontier]]
        if not len(frontier):
            return depth
        frontier = np.concatenate([trees.left[frontier], trees.right[frontier]])
        depth += 1


def _matching_trees(
    model: ForestModel | BoostingModel | CompiledAnomalyModel, trees: TreeEnsemble
) -> TreeEnsemble:
    if trees.threshold.dtype != model.threshold_dtype:
        raise ModelFormatError(
            f"{model.kind} thresholds must be {np.dtype(model.threshold_dtype)}, "
            f"not {trees.threshold.dtype}"
        )
    if trees.n_features != len(model.feature_names):
        raise ModelFormatError("trees and feature_names disagree on the number of features")
    return trees


def _sigmoid(log_odds: FloatArray | float) -> FloatArray:
    """Logistic function, without overflow for large negative log-odds (an array, or a
    number as a 0-d value: the same arithmetic to the last bit)."""
    return np.exp(-np.logaddexp(0.0, -log_odds))
