"""Validation and encodings of label matrices.

Every estimator of the library reads its label matrix through
:func:`check_label_matrix`, so the conventions live in one place:

* a *hard* label matrix ``L`` is an integer array ``(n_samples, n_sources)``
  whose entries are class indices ``0..n_classes-1`` or the abstain value
  (``-1`` by default);
* a *soft* (probabilistic) label matrix is a float array
  ``(n_samples, n_sources, n_classes)`` whose fibres are non-negative and sum
  to at most one; the missing mass is the probability of abstaining.

Internally the votes are encoded as a sparse CSR one-hot matrix with one
column per (source, class) pair, so that every label-model step is a single
sparse-dense product whose cost grows with the number of votes.
"""

import numbers

import numpy as np
import scipy.sparse as sp

from ._crowd import looks_like_long_array, looks_like_long_table
# as_array and fill_masked live with the vote targets, which need them; they
# are imported here for the modules that read them from this one.
from ._targets import (  # noqa: F401
    as_array,
    fill_masked,
    format_value,
    n_classes_from_max,
    wrapped_abstain_error,
)

__all__ = [
    "check_label_matrix",
    "check_class_prior",
    "infer_n_classes",
]

_SOFT_TOL = 1e-6
# Integer matrices with at least this many entries are scanned in blocks of
# about _SCAN_BLOCK entries (400 kB of int64: they stay in the L2 cache).
_BLOCKED_SCAN_MIN = 1 << 20
_SCAN_BLOCK = 1 << 16


def check_vote_container(L, input_name="L"):
    """Refuse sparse, string and other non-numeric label matrices up front.

    scikit-learn's own validation would answer with a message about "X" or
    about conversions; a label matrix deserves one that names it and says
    what it must hold. ``L`` is returned unchanged (pandas objects keep
    their column names for ``feature_names_in_``).
    """
    if sp.issparse(L):
        as_array(L)  # raises the sparse message
    long_table = looks_like_long_table(L)
    if long_table is not None:
        raise ValueError(long_table)
    dtypes = getattr(L, "dtypes", None)
    if dtypes is None and hasattr(L, "dtype") and hasattr(L, "to_numpy"):
        dtypes = L.dtype  # a pandas Series
    if dtypes is not None and not isinstance(L, np.ndarray):
        # A DataFrame has one dtype per column; a Series has one dtype (and a
        # numpy dtype has a __len__ of its own in older numpy versions).
        dtypes = list(dtypes) if hasattr(L, "columns") else [dtypes]
        columns = getattr(L, "columns", [input_name])
        for position, (column, dtype) in enumerate(zip(columns, dtypes)):
            if getattr(dtype, "kind", "O") not in "iufb" and not hasattr(
                dtype, "categories"
            ):
                # object, python or pyarrow strings: the message of numpy strings.
                values = L.iloc[:1000, position] if hasattr(L, "columns") else L.iloc[:1000]
                _refuse_strings(values.to_numpy(dtype=object), input_name)
            categories = getattr(dtype, "categories", None)
            numeric = np.asarray(categories).dtype.kind in "iufb"
            if categories is not None and not numeric:
                raise ValueError(
                    f"{input_name} column {column!r} is categorical with "
                    f"non-numeric categories (e.g. {categories[0]!r}); label models "
                    "take numeric class indices 0..n_classes-1 with -1 for "
                    "abstain. Use "
                    "the category codes (L[col].cat.codes, where -1 marks a "
                    "missing value) or LabelModelClassifier, which encodes labels."
                )
        return L
    if hasattr(L, "dtype"):
        arr = L
    else:
        try:
            arr = np.asarray(L)
        except ValueError:
            _refuse_ragged(input_name)
    kind = getattr(arr, "dtype", np.dtype(float)).kind
    if kind in "USO":
        flat = np.asarray(arr).ravel()
        _refuse_strings(flat[: min(flat.size, 1000)], input_name)
    return L


def _refuse_ragged(input_name):
    raise ValueError(
        f"{input_name} is ragged or holds sequences in its cells (rows of "
        "different lengths, or lists where votes belong); a label matrix is a "
        "rectangular array with one vote per (sample, source): -1 for abstain, "
        "else a class index. Pad short rows with -1, and pass soft votes as a "
        "3-D array (n_samples, n_sources, n_classes)."
    )


def _refuse_strings(values, input_name):
    """Raise on the first string of ``values``, or on a sequence in a cell."""
    for value in values:
        if isinstance(value, (str, bytes)):
            raise ValueError(
                f"{input_name} holds strings (e.g. {str(value)!r}); label models "
                "take numeric class indices 0..n_classes-1 with -1 for abstain. "
                "Encode the labels first, or use LabelModelClassifier or "
                "WeaSELClassifier, which accept string votes."
            )
        if isinstance(value, (list, tuple, np.ndarray)):
            _refuse_ragged(input_name)


def _smallest_int_dtype(n_classes):
    """Smallest signed integer dtype that holds ``-1..n_classes-1``."""
    for dtype in (np.int8, np.int16, np.int32):
        if n_classes - 1 <= np.iinfo(dtype).max:
            return dtype
    return np.int64


def infer_n_classes(L):
    """Infer the number of classes of a validated hard label matrix.

    The number of classes is ``max(L) + 1`` (and at least 2). Classes that no
    source ever votes for cannot be seen, so pass ``n_classes`` explicitly
    when some class may receive no vote.

    Parameters
    ----------
    L : ndarray of shape (n_samples, n_sources)
        Integer label matrix with ``-1`` for abstain.

    Returns
    -------
    n_classes : int
        ``max(2, max(L) + 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> infer_n_classes(np.array([[0, -1], [2, 1]]))
    3
    """
    return n_classes_from_max(int(L.max()) if L.size else -1)


def _numeric_votes(arr, input_name):
    """``arr`` with a numeric dtype: object numbers converted, bool as int8."""
    if arr.dtype.kind in "OUSV" or arr.dtype.kind == "c":
        # Object arrays of numbers (e.g. from pandas) are converted; anything
        # else (strings, complex) is rejected with the offending dtype.
        if arr.dtype.kind == "O":
            try:
                arr = arr.astype(np.float64)
            except (TypeError, ValueError):
                raise TypeError(
                    f"{input_name} must hold numeric votes; got dtype object with "
                    "non-numeric entries."
                ) from None
        else:
            raise TypeError(
                f"{input_name} must hold numeric votes; got dtype {arr.dtype}."
            )
    if arr.dtype == bool:
        arr = arr.astype(np.int8)
    return arr


def _integer_votes(arr, n_classes, abstain, input_name):
    """Hard votes as a signed integer array with ``-1`` for abstain.

    Float votes must be finite integers within range before the cast (a
    vote like 1e20 would wrap around); unsigned input is widened so that it
    can hold ``-1``.
    """
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ValueError(
                f"{input_name} contains NaN or inf; votes must be integers with "
                f"{abstain} for abstain."
            )
        if not np.array_equal(arr, np.round(arr)):
            raise ValueError(
                f"{input_name} contains non-integer votes; hard votes must be "
                "integer class indices (pass soft votes as a 3-D array "
                "(n_samples, n_sources, n_classes))."
            )
        # Check the range before the integer cast, which would wrap a vote
        # like 1e20 around to an unrelated number.
        votes = arr if abstain is None else arr[arr != abstain]
        if votes.size:
            _check_vote_range(votes.min(), votes.max(), n_classes, input_name, None)
    if arr.dtype.kind not in "iu":
        arr = arr.astype(np.int64)
    elif arr.dtype.kind == "u":
        # Unsigned input cannot hold -1; widen so that abstains can be mapped.
        arr = arr.astype(np.int64)
    if abstain is not None and abstain != -1:
        is_abstain = arr == abstain
        arr = np.where(is_abstain, -1, arr)
        if (arr[~is_abstain] < 0).any():
            raise ValueError(
                f"{input_name} contains negative votes; classes are 0..n_classes-1 "
                f"and abstain is {abstain}."
            )
    elif abstain is None and (arr < 0).any():
        raise ValueError(
            f"{input_name} contains negative votes but abstain=None; classes are "
            "0..n_classes-1."
        )
    return arr


def check_label_matrix(
    L,
    *,
    n_classes=None,
    abstain=-1,
    allow_soft=True,
    require_votes=True,
    input_name="L",
):
    """Validate a label matrix and return it in the library's canonical form.

    Parameters
    ----------
    L : array-like of shape (n_samples, n_sources) or (n_samples, n_sources, n_classes)
        Hard votes (integers, ``abstain`` for no vote) or soft votes (floats in
        ``[0, 1]`` whose sum over classes is at most 1). pandas DataFrames are
        accepted for hard votes.
    n_classes : int, default=None
        Number of classes. Inferred from the votes when None.
    abstain : int, default=-1
        Value that means "no vote". It is mapped to ``-1`` in the output.
    allow_soft : bool, default=True
        Whether a 3-D soft label matrix is accepted.
    require_votes : bool, default=True
        Raise when the matrix contains no vote at all.
    input_name : str, default="L"
        Name used in error messages.

    Returns
    -------
    L : ndarray
        Hard votes as a small signed integer array with ``-1`` for abstain, or
        soft votes as a float64 array of shape (n_samples, n_sources, n_classes).
    n_classes : int
        The declared or inferred number of classes.

    Raises
    ------
    ValueError
        On a wrong number of dimensions, an empty matrix, NaN or infinite
        entries, non-integer hard votes, votes outside ``[-1, n_classes-1]``,
        invalid soft votes, or (with ``require_votes``) a matrix with no vote.
    TypeError
        On sparse, complex, string or object input.

    Examples
    --------
    >>> import numpy as np
    >>> L, n_classes = check_label_matrix([[0, -1], [1, 1]])
    >>> L.dtype, n_classes
    (dtype('int8'), 2)
    """
    arr = _numeric_votes(as_array(fill_masked(L, abstain, input_name)), input_name)
    if arr.ndim == 3:
        if not allow_soft:
            raise ValueError(
                f"{input_name} must be 2-D (n_samples, n_sources); got a 3-D array "
                f"of shape {arr.shape}, and this estimator does not take soft votes."
            )
        return _check_soft(arr, n_classes, require_votes, input_name)
    if arr.ndim != 2:
        expected = (
            "(n_samples, n_sources) or (n_samples, n_sources, n_classes)"
            if allow_soft
            else "(n_samples, n_sources)"
        )
        raise ValueError(
            f"{input_name} must be a 2-D array {expected}; got {arr.ndim} "
            f"dimension(s) with shape {arr.shape}. Reshape a single source with "
            "L.reshape(-1, 1)."
        )
    n_samples, n_sources = arr.shape
    if n_samples == 0 or n_sources == 0:
        raise ValueError(
            f"{input_name} is empty: shape {arr.shape}; need at least one sample "
            "and one source."
        )
    orig_dtype = arr.dtype
    arr = _integer_votes(arr, n_classes, abstain, input_name)
    if n_classes is None and n_sources == 3:
        long_table = looks_like_long_array(arr)
        if long_table is not None:
            raise ValueError(long_table)
    # The smallest vote, the largest vote (which serves the class count, the
    # range check and the "no vote at all" check) and the int8 copy, in one
    # pass over the matrix.
    low, high, narrow = _range_and_int8(arr)
    n_classes = _check_vote_range(low, high, n_classes, input_name, orig_dtype)
    if require_votes and high < 0:
        raise ValueError(
            f"{input_name} contains no vote at all: every source abstains on "
            "every sample."
        )
    dtype = _smallest_int_dtype(n_classes)
    if narrow is not None and dtype == np.int8:
        return narrow, int(n_classes)
    return arr.astype(dtype, copy=False), int(n_classes)


def _check_vote_range(low, high, n_classes, input_name, dtype):
    """Refuse votes outside ``[-1, n_classes - 1]``; return the class count.

    When ``n_classes`` is None it is inferred by the library's one rule
    (:func:`~skweak_e2e.utils._targets.n_classes_from_max`), which refuses
    a count sized by a stray huge vote. ``dtype`` is the user's dtype, so
    that a wrapped-around unsigned -1 is named as such.
    """
    if low < -1:
        raise ValueError(
            f"{input_name} contains the vote {format_value(low)}; votes must be "
            "class indices 0..n_classes-1 or -1 for abstain."
        )
    if n_classes is None:
        return n_classes_from_max(high, input_name=input_name, dtype=dtype)
    if high >= n_classes:
        if dtype is not None and dtype.kind == "u" and high == np.iinfo(dtype).max:
            raise wrapped_abstain_error(int(high), dtype, input_name)
        raise ValueError(
            f"{input_name} contains the vote {format_value(high)} but "
            f"n_classes={n_classes}; votes must be in [-1, {n_classes - 1}]."
        )
    return n_classes


def _range_and_int8(arr):
    """``(min, max, arr as int8 or None)`` of a 2-D integer array.

    A large matrix is read once, in blocks that stay in cache, instead of
    three times (min, max, conversion): about 1.5x faster on 1e8 int64
    entries. The int8 copy is returned only when every value fits.
    """
    if arr.dtype == np.int8:
        return int(arr.min()), int(arr.max()), arr
    if arr.size < _BLOCKED_SCAN_MIN:
        return int(arr.min()), int(arr.max()), None
    rows = max(1, _SCAN_BLOCK // arr.shape[1])
    narrow = np.empty(arr.shape, dtype=np.int8)
    lows, highs = [], []
    for start in range(0, arr.shape[0], rows):
        block = arr[start : start + rows]
        lows.append(block.min())
        highs.append(block.max())
        narrow[start : start + rows] = block  # wraps around where it does not fit
    low, high = int(min(lows)), int(max(highs))
    fits = np.iinfo(np.int8).min <= low and high <= np.iinfo(np.int8).max
    return low, high, narrow if fits else None


def _check_soft(arr, n_classes, require_votes, input_name):
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"Soft {input_name} must be numeric; got dtype {arr.dtype}.")
    n_samples, n_sources, n_cls = arr.shape
    if n_samples == 0 or n_sources == 0:
        raise ValueError(f"{input_name} is empty: shape {arr.shape}.")
    if n_cls < 2:
        raise ValueError(
            f"Soft {input_name} must have at least 2 classes on its last axis; "
            f"got shape {arr.shape}."
        )
    if n_classes is not None and n_cls != n_classes:
        raise ValueError(
            f"Soft {input_name} has {n_cls} classes on its last axis but "
            f"n_classes={n_classes}."
        )
    arr = arr.astype(np.float64, copy=False)
    if not np.isfinite(arr).all():
        raise ValueError(f"Soft {input_name} contains NaN or inf.")
    if (arr < 0).any():
        raise ValueError(f"Soft {input_name} contains negative probabilities.")
    if (arr.sum(axis=2) > 1 + _SOFT_TOL).any():
        raise ValueError(
            f"Soft {input_name} has a (sample, source) fibre whose class "
            "probabilities sum to more than 1."
        )
    if require_votes and not (arr > 0).any():
        raise ValueError(
            f"{input_name} contains no vote at all: every source abstains on "
            "every sample."
        )
    return arr, int(n_cls)


def check_class_prior(class_prior, n_classes):
    """Validate a class prior, or return the uniform prior when None.

    Parameters
    ----------
    class_prior : array-like of shape (n_classes,) or None
        Non-negative class probabilities; they are normalised to sum to 1.
    n_classes : int
        Expected length.

    Returns
    -------
    prior : ndarray of shape (n_classes,)
        The normalised prior (uniform when ``class_prior`` is None).

    Examples
    --------
    >>> check_class_prior(None, 4)
    array([0.25, 0.25, 0.25, 0.25])
    """
    if class_prior is None:
        return np.full(n_classes, 1.0 / n_classes)
    prior = np.asarray(class_prior, dtype=np.float64).ravel()
    if prior.shape != (n_classes,):
        raise ValueError(
            f"class_prior has {prior.size} entries but there are {n_classes} classes."
        )
    if not np.isfinite(prior).all() or (prior < 0).any() or prior.sum() <= 0:
        raise ValueError(
            "class_prior must hold finite non-negative probabilities with a "
            f"positive sum; got {prior.tolist()}."
        )
    return prior / prior.sum()


def check_sample_weight(sample_weight, n_samples, input_name="sample_weight"):
    """Validate sample weights: 1-D, aligned, finite and non-negative.

    A negative weight has no meaning in a weighted loss; dropping it (or
    letting it flip the sign of a term) would be a silent wrong answer.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,) or None
    n_samples : int
    input_name : str, default="sample_weight"

    Returns
    -------
    sample_weight : ndarray of float64 of shape (n_samples,)
        Ones when ``sample_weight`` is None.

    Examples
    --------
    >>> check_sample_weight([1, 2], 2)
    array([1., 2.])
    """
    if sample_weight is None:
        return np.ones(n_samples)
    try:
        weight = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"{input_name} must hold numbers; got {type(sample_weight).__name__}."
        ) from None
    if weight.ndim == 0:
        weight = np.full(n_samples, float(weight))
    if weight.ndim != 1:
        raise ValueError(
            f"{input_name} must be 1-D; got shape {weight.shape}."
        )
    if weight.shape[0] != n_samples:
        raise ValueError(
            f"{input_name} has {weight.shape[0]} entries but there are "
            f"{n_samples} samples."
        )
    if not np.isfinite(weight).all():
        raise ValueError(f"{input_name} contains NaN or inf.")
    negative = np.flatnonzero(weight < 0)
    if negative.size:
        i = int(negative[0])
        raise ValueError(
            f"{input_name} must be non-negative; got {weight[i]:g} at index {i}."
        )
    return weight


def check_label_proba(proba, n_samples, owner, n_classes=None, hint=""):
    """Validate the class probabilities a (user-supplied) label model returned.

    Rows are renormalised to sum to one; a row that cannot be (negative,
    non-finite or all zero: no class has any mass) is an error naming the
    row, instead of a NaN label downstream.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
    n_samples : int
        Expected number of rows.
    owner : str
        Who returned it, for the message (e.g. ``"DawidSkene"``).
    n_classes : int, default=None
        Expected number of columns; any number >= 2 when None.
    hint : str, default=""
        Sentence added to the shape error.

    Returns
    -------
    proba : ndarray of float64 of shape (n_samples, n_classes)
        Rows summing to one.

    Examples
    --------
    >>> check_label_proba([[1, 3], [1, 1]], 2, "model")
    array([[0.25, 0.75],
           [0.5 , 0.5 ]])
    """
    proba = np.asarray(proba, dtype=np.float64)
    expected = "n_classes" if n_classes is None else n_classes
    if (
        proba.ndim != 2
        or proba.shape[0] != n_samples
        or proba.shape[1] < 2
        or (n_classes is not None and proba.shape[1] != n_classes)
    ):
        raise ValueError(
            f"{owner}.predict_proba returned shape {proba.shape}, expected "
            f"({n_samples}, {expected}) with at least 2 classes. {hint}".rstrip()
        )
    bad = ~np.isfinite(proba) | (proba < 0)
    if bad.any():
        i, c = np.argwhere(bad)[0]
        raise ValueError(
            f"{owner}.predict_proba returned {proba[i, c]} for sample {i}, class "
            f"{c}; probabilities must be finite and non-negative."
        )
    total = proba.sum(axis=1, keepdims=True)
    empty = np.flatnonzero(total[:, 0] <= 0)
    if empty.size:
        raise ValueError(
            f"{owner}.predict_proba returned a row of zeros for {empty.size} "
            f"sample(s) (the first is sample {empty[0]}): no class has any "
            "probability, so these rows have no label."
        )
    return proba / total


def check_fits_in_dtype(X, dtype, input_name="X"):
    """Refuse finite features that overflow ``dtype`` (e.g. float32).

    A value beyond ``np.finfo(dtype).max`` (3.4e38 for float32) becomes
    ``inf`` on the cast, and every probability downstream becomes NaN.

    Parameters
    ----------
    X : ndarray or sparse matrix
        Validated, finite features.
    dtype : dtype or str
        The dtype the features will be cast to.
    input_name : str, default="X"

    Raises
    ------
    ValueError
        Naming the first overflowing value, its position and the fix.

    Examples
    --------
    >>> import numpy as np
    >>> check_fits_in_dtype(np.array([[1.0, 2.0]]), "float32")
    """
    dtype = np.dtype(dtype)
    values = X.data if sp.issparse(X) else np.asarray(X)
    if values.dtype.kind != "f" or values.dtype.itemsize <= dtype.itemsize:
        return
    limit = np.finfo(dtype).max
    over = np.abs(values) > limit
    if over.any():
        flat = int(np.flatnonzero(over.ravel())[0])
        position = tuple(int(i) for i in np.unravel_index(flat, values.shape))
        where = "" if sp.issparse(X) else f" at {position}"
        raise ValueError(
            f"{input_name} contains {values.ravel()[flat]:g}{where}, beyond the "
            f"largest {dtype} ({limit:.3g}); it would become inf and the "
            f"probabilities NaN. Rescale {input_name} (e.g. StandardScaler) or "
            "use dtype='float64'."
        )


def check_n_sources(n_sources, expected, owner):
    """Raise when the number of sources differs from the fitted one."""
    if n_sources != expected:
        raise ValueError(
            f"L has {n_sources} sources (columns) but {owner} was fitted with "
            f"{expected}."
        )


def is_integral_number(value):
    """True for Python/numpy integers (bools excluded)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
