"""Crowd labels: long (task, worker, label) tables and sparse label matrices.

Crowdsourced labels are held as a long table, one row per label given: a
task (item) id, a worker id and the label. Most (task, worker) cells are
empty -- a worker labels a handful of the tasks -- so the dense label
matrix of the label models (``-1`` for abstain) would be almost all
``-1``, and its size grows with tasks x workers. The sparse form keeps only
the labels:

* a ``scipy.sparse`` CSR matrix of shape (n_tasks, n_workers) whose stored
  value is the class index **plus one**, so that the implicit zero means
  "no label" (abstain);
* a cell may hold several stored entries (the same worker labelled the same
  task more than once): each entry is one observation. Such a matrix is
  *not* in scipy's canonical format; ``sum_duplicates`` (and conversions
  through COO) would add the codes, so pass it to the label models as it
  comes.

:func:`label_matrix_from_long` builds it from a long table, with any
hashable task and worker ids and class labels; :func:`check_sparse_label_matrix`
validates one given directly.
"""

import numpy as np
import scipy.sparse as sp

from ._optional import import_optional
from ._targets import format_value, n_classes_from_max

__all__ = [
    "CrowdLabels",
    "check_sparse_label_matrix",
    "label_matrix_from_long",
    "looks_like_long_table",
    "sparse_is_covered",
    "sparse_silent_sources",
]

# Column names that mark a long (task, worker, label) table passed where a
# label matrix was expected (lower-cased comparison).
_TASK_NAMES = {"task", "task_id", "item", "item_id", "object", "question", "example"}
_WORKER_NAMES = {
    "worker", "worker_id", "annotator", "annotator_id", "performer", "rater",
    "labeler", "labeller", "user", "source",
}
_LABEL_NAMES = {"label", "answer", "response", "vote", "class", "label_id"}


class CrowdLabels:
    """Sparse label matrix of a crowd, with the ids of its rows and columns.

    Returned by :func:`label_matrix_from_long`; not meant to be built by
    hand.

    Parameters
    ----------
    L : scipy.sparse.csr_matrix of shape (n_tasks, n_workers)
        The sparse label matrix.
    tasks, workers, classes : ndarray
        Ids of the rows, the columns and the class indices.
    n_repeated : int
        Number of repeated labels.

    Attributes
    ----------
    L : scipy.sparse.csr_matrix of shape (n_tasks, n_workers)
        Stored value ``k + 1`` for a label of class ``classes_[k]``; the
        implicit zero is "no label". Repeated labels of one worker on one
        task are separate stored entries (each an observation).
    tasks_ : ndarray of shape (n_tasks,)
        Task id of every row of ``L``.
    workers_ : ndarray of shape (n_workers,)
        Worker id of every column of ``L``.
    classes_ : ndarray of shape (n_classes,)
        Class label of every class index.
    n_repeated_ : int
        Number of labels that repeat a (task, worker) cell already labelled.

    Examples
    --------
    >>> from skweak_e2e.utils import label_matrix_from_long
    >>> crowd = label_matrix_from_long({"task": [1, 1, 2], "worker": ["a", "a", "b"],
    ...                                 "label": ["x", "x", "y"]})
    >>> crowd
    CrowdLabels(2 tasks x 2 workers, 3 labels, 2 classes, 1 repeated)
    >>> crowd.decode([1, 0, -1])
    array(['y', 'x', None], dtype=object)
    """

    def __init__(self, L, tasks, workers, classes, n_repeated):
        self.L = L
        self.tasks_ = tasks
        self.workers_ = workers
        self.classes_ = classes
        self.n_repeated_ = int(n_repeated)

    @property
    def n_classes_(self):
        """Number of classes (``len(classes_)``)."""
        return len(self.classes_)

    def __repr__(self):
        return (
            f"CrowdLabels({self.L.shape[0]} tasks x {self.L.shape[1]} workers, "
            f"{self.L.nnz} labels, {self.n_classes_} classes, "
            f"{self.n_repeated_} repeated)"
        )

    def decode(self, labels):
        """Class labels of class indices, e.g. of a label model's ``predict``.

        Parameters
        ----------
        labels : array-like of int of shape (n,)
            Class indices, as :meth:`predict` of a label model returns.

        Returns
        -------
        decoded : ndarray of shape (n,)
            ``classes_[labels]``; an index of ``-1`` gives None (an object
            array is returned then).
        """
        labels = np.asarray(labels)
        tied = labels < 0
        if not tied.any():
            return self.classes_[labels]
        out = self.classes_.astype(object)[np.where(tied, 0, labels)]
        out[tied] = None
        return out


def _factorize(values, name):
    """``(uniques, codes)`` of any hashable values, sorted where they sort."""
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"column {name!r} must be 1-D; got shape {values.shape}.")
    if values.dtype.kind == "f" and np.isnan(values).any():
        raise ValueError(
            f"column {name!r} holds missing values (NaN); drop those rows."
        )
    if values.dtype.kind in "iu" and values.size:
        # Integer ids in a range not much wider than the table: a presence
        # table instead of a sort (O(n), ~20x faster on 5e6 ids).
        low, high = int(values.min()), int(values.max())
        if high - low <= 4 * values.size + 1024:
            offset = values - low
            present = np.zeros(high - low + 1, dtype=bool)
            present[offset] = True
            rank = np.cumsum(present) - 1
            return np.flatnonzero(present) + low, rank[offset]
    if values.dtype.kind != "O":
        uniques, codes = np.unique(values, return_inverse=True)
        return uniques, codes.ravel()
    pd = import_optional("pandas", "label_matrix_from_long", required=False)
    if pd is not None:
        try:
            codes, uniques = pd.factorize(values, sort=True)
        except TypeError:  # mixed types that do not sort: first-seen order
            codes, uniques = pd.factorize(values, sort=False)
        if (codes < 0).any():
            raise ValueError(
                f"column {name!r} holds missing values (None or NaN); drop those rows."
            )
        return np.asarray(uniques, dtype=object), codes
    try:
        uniques, codes = np.unique(values, return_inverse=True)
        return uniques, codes.ravel()
    except TypeError:
        table = {}
        codes = np.fromiter(
            (table.setdefault(v, len(table)) for v in values), dtype=np.int64,
            count=len(values),
        )
        uniques = np.empty(len(table), dtype=object)
        uniques[:] = list(table)
        return uniques, codes


def _columns(data, names):
    """The three columns of a long table held in any of the common layouts."""
    if hasattr(data, "dask") and hasattr(data, "compute") and hasattr(data, "columns"):
        # A dask DataFrame: the long table is three columns of the size of the
        # labels (not tasks x workers), gathered once.
        data = data[list(names)].compute()
    if hasattr(data, "columns") or isinstance(data, dict):
        missing = [n for n in names if n not in data]
        if missing:
            have = list(data.columns) if hasattr(data, "columns") else list(data)
            raise ValueError(
                f"data has no column {missing[0]!r} (columns: {have}); name the "
                "columns with task=, worker= and label=."
            )
        return [np.asarray(data[n].to_numpy() if hasattr(data[n], "to_numpy")
                           else data[n]) for n in names]
    arr = np.asarray(data)
    if arr.dtype.names is not None:
        return [arr[n] for n in names]
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(
            "data must be a table with task, worker and label columns (a pandas "
            "or dask DataFrame, a dict of arrays, or an array of shape (n_labels, "
            f"3)); got {type(data).__name__} of shape {arr.shape}."
        )
    return [arr[:, 0], arr[:, 1], arr[:, 2]]


def label_matrix_from_long(data, task="task", worker="worker", label="label", *,
                           classes=None):
    """Sparse label matrix of a long (task, worker, label) table.

    Crowdsourced labels are usually held as one row per label given. This
    turns such a table into the sparse label matrix that every label model
    fits on (rows = tasks, columns = workers), in memory proportional to the
    number of labels, not tasks x workers.

    Parameters
    ----------
    data : DataFrame, dict of arrays or array of shape (n_labels, 3)
        The long table; a pandas or dask DataFrame, a mapping of column
        names to 1-D arrays, a structured array, or a plain array whose
        columns are task, worker and label in that order. Ids and labels may
        be any hashable values (ints, strings, tuples...).
    task, worker, label : str, default="task", "worker", "label"
        Column names (ignored for a plain array).
    classes : array-like, default=None
        All class labels, in the order of the class indices. When None,
        the distinct labels of ``data``, sorted (classes nobody chose are then
        unknown: pass ``classes`` when some may be missing).

    Returns
    -------
    crowd : CrowdLabels
        ``crowd.L`` is a CSR matrix of shape (n_tasks, n_workers) whose stored
        value is the class index plus one (implicit zero = no label);
        ``crowd.tasks_``, ``crowd.workers_`` and ``crowd.classes_`` hold the
        ids of the rows, the columns and the class indices (sorted where
        the ids sort). A worker who labelled a task several times gives
        several stored entries in that cell: the label models count each as
        an observation (``crowd.n_repeated_`` counts them).

    Raises
    ------
    ValueError
        On a missing column, missing ids or labels, or a label outside
        ``classes``.

    See Also
    --------
    skweak_e2e.DawidSkene : The classic crowd label model.

    Examples
    --------
    >>> from skweak_e2e.utils import label_matrix_from_long
    >>> data = {"task": ["t1", "t1", "t2", "t2", "t2"],
    ...         "worker": ["ann", "bob", "ann", "bob", "eve"],
    ...         "label": ["cat", "dog", "dog", "dog", "dog"]}
    >>> crowd = label_matrix_from_long(data)
    >>> crowd.L.toarray()  # class index + 1; 0 = no label
    array([[1, 2, 0],
           [2, 2, 2]], dtype=int8)
    >>> crowd.tasks_.tolist(), crowd.workers_.tolist(), crowd.classes_.tolist()
    (['t1', 't2'], ['ann', 'bob', 'eve'], ['cat', 'dog'])
    """
    task_ids, worker_ids, labels = _columns(data, (task, worker, label))
    if not (len(task_ids) == len(worker_ids) == len(labels)):
        raise ValueError("the task, worker and label columns differ in length.")
    if len(labels) == 0:
        raise ValueError("data holds no label (zero rows).")
    tasks, rows = _factorize(task_ids, task)
    workers, cols = _factorize(worker_ids, worker)
    if classes is None:
        class_values, codes = _factorize(labels, label)
    else:
        class_values = np.asarray(classes)
        if class_values.ndim != 1 or len(class_values) < 2:
            raise ValueError(
                f"classes must list at least 2 class labels; got {classes!r}."
            )
        lookup = {v: k for k, v in enumerate(class_values.tolist())}
        if len(lookup) != len(class_values):
            raise ValueError(f"classes holds duplicates: {classes!r}.")
        seen, inverse = _factorize(labels, label)
        known = np.array([v in lookup for v in seen.tolist()], dtype=bool)
        if not known.all():
            raise ValueError(
                f"label {format_value(seen[~known][0])} is not in classes "
                f"{class_values.tolist()}."
            )
        codes = np.array([lookup[v] for v in seen.tolist()], dtype=np.int64)[inverse]
    n_classes = max(len(class_values), 2)
    if len(class_values) < 2:
        # One label seen: a second, unseen class keeps the problem a classification.
        class_values = np.append(class_values, np.asarray([None], dtype=object))
    dtype = np.int8 if n_classes < 127 else (np.int16 if n_classes < 32767 else np.int32)
    # CSR order: by task (a stable sort, linear on tables grouped by task),
    # then scipy sorts the few workers of each row in place.
    if (np.diff(rows) < 0).any():
        order = np.argsort(rows, kind="stable")
        rows, cols, codes = rows[order], cols[order], codes[order]
    indptr = np.zeros(len(tasks) + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=len(tasks)), out=indptr[1:])
    index_dtype = np.int32 if max(len(workers), len(labels)) < 2**31 else np.int64
    L = sp.csr_matrix(
        ((codes + 1).astype(dtype), cols.astype(index_dtype), indptr.astype(index_dtype)),
        shape=(len(tasks), len(workers)),
    )
    L.has_sorted_indices = False
    L.sort_indices()  # keeps repeated entries (unlike sum_duplicates)
    # Repeated labels: equal neighbouring columns within one row (every row
    # holds at least one label, so row starts are the indptr entries).
    same = np.diff(L.indices) == 0
    same[indptr[1:-1] - 1] = False
    repeated = int(np.count_nonzero(same))
    L.has_canonical_format = repeated == 0
    return CrowdLabels(L, tasks, workers, class_values, repeated)


def check_sparse_label_matrix(L, *, n_classes=None, require_votes=True, input_name="L"):
    """Validate a sparse label matrix (stored value = class index + 1).

    Parameters
    ----------
    L : scipy sparse matrix or array of shape (n_samples, n_sources)
        Stored values are ``k + 1`` for a vote for class ``k``; an implicit
        (or explicit) zero is abstain. Repeated entries of one cell are kept,
        each an observation.
    n_classes : int, default=None
        Number of classes; ``max(stored value)`` (at least 2) when None.
    require_votes : bool, default=True
        Raise when no entry is a vote.
    input_name : str, default="L"

    Returns
    -------
    L : scipy.sparse.csr_matrix
        Integer stored values in ``1..n_classes`` (explicit zeros dropped),
        sorted column indices within each row left as given.
    n_classes : int

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> L, n_classes = check_sparse_label_matrix(sp.csr_matrix([[1, 0], [2, 3]]))
    >>> L.toarray(), n_classes
    (array([[1, 0],
           [2, 3]], dtype=int8), 3)
    """
    if L.ndim != 2:
        raise ValueError(f"{input_name} must be 2-D; got shape {L.shape}.")
    if L.shape[0] == 0 or L.shape[1] == 0:
        raise ValueError(
            f"{input_name} is empty: shape {L.shape}; need at least one sample and "
            "one source."
        )
    if L.format != "csr":
        # COO and friends sum repeated entries on conversion: a cell labelled
        # twice would become a different class. Refuse what would be lost.
        if L.format == "coo":
            cells = np.asarray(L.row, np.int64) * L.shape[1] + np.asarray(L.col)
            if len(np.unique(cells)) < len(cells):
                raise ValueError(
                    f"{input_name} is a COO matrix with repeated (row, column) "
                    "entries, which scipy would add up on conversion. Build it "
                    "with label_matrix_from_long, or pass a CSR matrix."
                )
        L = L.tocsr()
    data = L.data
    if data.dtype.kind not in "iuf" and data.dtype != bool:
        raise TypeError(
            f"{input_name} must hold numeric votes (class index + 1); got dtype "
            f"{data.dtype}."
        )
    if data.dtype.kind == "f":
        if not np.isfinite(data).all():
            raise ValueError(f"{input_name} contains NaN or inf.")
        if not np.array_equal(data, np.round(data)):
            raise ValueError(
                f"{input_name} contains non-integer stored values; a sparse label "
                "matrix stores class index + 1 (0 = no vote)."
            )
    if data.size and data.min() < 0:
        raise ValueError(
            f"{input_name} (sparse) contains the value {format_value(data.min())}; a "
            "sparse label matrix stores class index + 1 (1..n_classes), the "
            "implicit 0 is abstain. Shift -1-coded votes with L.data += 1 after "
            "dropping the abstains, or use label_matrix_from_long."
        )
    high = int(data.max()) if data.size else 0
    if n_classes is None:
        n_classes = n_classes_from_max(high - 1, input_name=input_name)
    elif high > n_classes:
        raise ValueError(
            f"{input_name} (sparse) stores the value {high} (class {high - 1}) but "
            f"n_classes={n_classes}; stored values are class index + 1 in "
            f"[1, {n_classes}]."
        )
    if require_votes and not (data > 0).any():
        raise ValueError(
            f"{input_name} contains no vote at all: every source abstains on every "
            "sample."
        )
    dtype = np.int8 if n_classes < 127 else (np.int16 if n_classes < 32767 else np.int32)
    keep = data != 0
    if keep.all():
        # Own copies of the index arrays: scipy canonicalises a matrix in
        # place (sum_duplicates, sort_indices), which would rewrite the
        # caller's matrix through shared arrays.
        out = sp.csr_matrix(
            (data.astype(dtype), L.indices.copy(), L.indptr.copy()), shape=L.shape,
            copy=False,
        )
    else:
        rows = np.repeat(np.arange(L.shape[0]), np.diff(L.indptr))
        counts = np.bincount(rows[keep], minlength=L.shape[0])
        indptr = np.zeros(L.shape[0] + 1, dtype=L.indptr.dtype)
        np.cumsum(counts, out=indptr[1:])
        out = sp.csr_matrix(
            (data[keep].astype(dtype), L.indices[keep], indptr), shape=L.shape
        )
    out.has_canonical_format = getattr(L, "has_canonical_format", False)
    return out, int(n_classes)


def sparse_is_covered(L):
    """Rows of a validated sparse label matrix with at least one vote."""
    return np.diff(L.indptr) > 0


def sparse_silent_sources(L, sample_weight=None):
    """Sources (columns) of a validated sparse label matrix that never vote."""
    indices = L.indices
    if sample_weight is not None:
        rows = np.repeat(np.arange(L.shape[0]), np.diff(L.indptr))
        indices = indices[np.asarray(sample_weight)[rows] > 0]
    return np.flatnonzero(np.bincount(indices, minlength=L.shape[1]) == 0)


def looks_like_long_table(L):
    """Whether a would-be label matrix is a long (task, worker, label) table.

    Recognised by three columns named like a task, a worker and a label
    (pandas), or, without names, three integer columns with no abstain
    (no -1) whose first column takes many distinct values. Returns the
    message for the error, or None.
    """
    columns = getattr(L, "columns", None)
    shape = getattr(L, "shape", None)
    if shape is None or len(shape) != 2 or shape[1] != 3:
        return None
    hint = (
        "It looks like a long table of crowd labels (one row per task, worker, "
        "label), not a label matrix (one row per task, one column per source). "
        "Build the label matrix with skweak_e2e.utils.label_matrix_from_long(data, "
        "task=..., worker=..., label=...) and fit on its .L (a sparse matrix)."
    )
    if columns is not None:
        names = [str(c).lower() for c in columns]
        groups = (_TASK_NAMES, _WORKER_NAMES, _LABEL_NAMES)
        hits = sum(any(n in g for n in names) for g in groups)
        if hits >= 2:
            return f"L has the columns {list(columns)}. {hint}"
        return None
    return None


def looks_like_long_array(arr):
    """An unnamed 3-column integer array that is likely a long table."""
    if arr.ndim != 2 or arr.shape[1] != 3 or arr.dtype.kind not in "iu":
        return None
    n = arr.shape[0]
    if n < 20 or (arr < 0).any():
        return None
    # A label matrix of 3 sources holds small class indices; a long table's
    # task column counts up to the number of tasks.
    if int(arr[:, 0].max()) >= 50 and len(np.unique(arr[:, 0])) > n // 20:
        return (
            f"L has 3 columns, no abstain and up to {int(arr.max())} in its first "
            "column: it looks like a long table of crowd labels (task, worker, "
            "label), not a label matrix (one row per task, one column per "
            "source). Build the label matrix with "
            "skweak_e2e.utils.label_matrix_from_long(data) and fit on its .L, or "
            "pass n_classes= if this really is a label matrix."
        )
    return None
