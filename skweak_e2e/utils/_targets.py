"""One encoding of votes for every estimator: classes, codes, soft labels.

Every estimator that reads votes (label models, :class:`LabelModelClassifier`,
:class:`WeaSELClassifier`) infers its classes and encodes the votes to class
codes through this module, so that the same ``L`` gives the same
``classes_`` everywhere and every bad input gets the same sentence.

The class rule
--------------
1. Classes declared by the user (``classes=``, or ``n_classes`` of a label
   model) are the classes; a vote outside them is an error.
2. Otherwise, when every vote is a non-negative integer, the votes are class
   *indices* (the library's convention): the classes are
   ``0..max(votes)``, and at least two. A class that no source votes for is
   still a class: ``[0, 2]`` gives ``[0, 1, 2]``, exactly as the label models
   (``n_classes_ = max + 1``) and the column index of ``predict_proba``.
   So that one stray id or sentinel (``2e9``) cannot make a model allocate
   arrays sized by it, an inferred count above :data:`MAX_INFERRED_CLASSES`
   is refused, and the error says how to declare the count.
3. Otherwise (strings, or negative labels with another abstain value) the
   classes are the sorted distinct votes, as in scikit-learn.
"""

import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, column_or_1d

from ._warnings import user_stacklevel

__all__ = [
    "MAX_INFERRED_CLASSES",
    "TIE_TOL",
    "abstain_mask",
    "as_array",
    "check_vote_target",
    "encode_vote_target",
    "fill_masked",
    "proba_to_labels",
    "check_gold_labels",
    "gold_label_vector",
    "check_sample_alignment",
    "refuse_missing_votes",
    "encode_votes",
    "expand_soft_labels",
    "infer_classes",
    "n_classes_from_max",
]

# Largest class count inferred from the largest vote. A real problem with
# more classes declares them (n_classes= or classes=); an undeclared larger
# count is almost always an id column, a sentinel or a wrapped-around -1.
MAX_INFERRED_CLASSES = 1000

# No class index (declared or inferred) reaches this; a larger gold label is
# an id or a corrupt value, refused before the integer cast.
_LARGEST_LABEL = 2**31

# Integer label ranges up to this width are encoded with one lookup table.
_TABLE_WIDTH = 1 << 20


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def format_value(value):
    """The user's value as they would write it (``1e+20``, ``255``, ``'-1'``)."""
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:g}"
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


# ----------------------------------------------------------------- messages
def no_vote_error(input_name, abstain):
    return ValueError(
        f"{input_name} contains no vote at all: every entry equals "
        f"abstain={abstain!r}."
    )


def too_many_classes_error(high, input_name, declare):
    return ValueError(
        f"{input_name} contains the vote {format_value(high)}: the number of "
        "classes is inferred as the largest vote + 1, and more than "
        f"{MAX_INFERRED_CLASSES} classes must be declared. If the value is an id "
        "column, a sentinel or a missing-value code, drop it or map it to -1 "
        f"(abstain); if there really are that many classes, declare them with "
        f"{declare}."
    )


def wrapped_abstain_error(high, dtype, input_name):
    return ValueError(
        f"{input_name} has the unsigned dtype {dtype} and contains {high}, the "
        f"value -1 (abstain) wraps around to in {dtype}. Store the votes in a "
        "signed dtype (e.g. L.astype(np.int16)) before writing -1 for abstain."
    )


def below_abstain_error(low, input_name, hint):
    return ValueError(
        f"{input_name} contains the vote {format_value(low)}, below abstain=-1: "
        f"votes are class indices 0..n_classes-1, or -1 for abstain. {hint}"
    )


def unknown_labels_error(labels, classes, input_name):
    shown = [format_value(v) for v in list(labels)[:10]]
    return ValueError(
        f"{input_name} contains labels that are not classes: [{', '.join(shown)}]; "
        f"the classes are {np.asarray(classes).tolist()}."
    )


# ------------------------------------------------------------- the class rule
def n_classes_from_max(high, *, input_name="L", dtype=None, declare="n_classes="):
    """Number of classes implied by the largest vote: ``max(high + 1, 2)``.

    Parameters
    ----------
    high : int or float
        The largest (non-abstain) vote; ``-1`` when there is none.
    input_name : str, default="L"
        Name of the argument, for the messages.
    dtype : dtype, default=None
        Original dtype of the votes: an unsigned matrix whose largest value is
        the dtype's maximum holds a wrapped-around ``-1``.
    declare : str, default="n_classes="
        How the caller's user declares the classes (shown in the message).

    Returns
    -------
    n_classes : int

    Raises
    ------
    ValueError
        When the count would exceed :data:`MAX_INFERRED_CLASSES`, or the
        largest value is a wrapped-around ``-1`` of an unsigned dtype.

    Examples
    --------
    >>> n_classes_from_max(2)
    3
    >>> n_classes_from_max(-1)
    2
    """
    if dtype is not None and np.dtype(dtype).kind == "u":
        if high == np.iinfo(dtype).max:
            raise wrapped_abstain_error(int(high), np.dtype(dtype), input_name)
    if high >= MAX_INFERRED_CLASSES:
        raise too_many_classes_error(high, input_name, declare)
    return max(int(high) + 1, 2)


def _string_abstain_error(abstain, input_name):
    text = str(abstain)
    return ValueError(
        f"{input_name} holds strings, among them {text!r}, but abstain={abstain!r} "
        f"is a number and matches no string. Pass abstain={text!r}, or convert "
        f"{input_name} to integers."
    )


def abstain_mask(y, abstain, input_name="y"):
    """Boolean mask of the entries of ``y`` equal to ``abstain``.

    A numeric ``abstain`` never matches a string and a string ``abstain``
    never matches a number; when that mismatch would hide abstains (the
    string ``"-1"`` in a string matrix with ``abstain=-1``) it is an error
    rather than a silent extra class.

    Parameters
    ----------
    y : ndarray
        Votes of any dtype.
    abstain : int, float, str or None
        The "no vote" value; None: every entry is a vote.
    input_name : str, default="y"

    Returns
    -------
    mask : ndarray of bool, shape of ``y``

    Examples
    --------
    >>> import numpy as np
    >>> abstain_mask(np.array([0, -1, 2]), -1)
    array([False,  True, False])
    """
    if abstain is None:
        return np.zeros(y.shape, dtype=bool)
    kind = y.dtype.kind
    numeric_abstain = not isinstance(abstain, str)
    if kind in "US" and numeric_abstain:
        if y.size and (y == str(abstain)).any():
            raise _string_abstain_error(abstain, input_name)
        return np.zeros(y.shape, dtype=bool)
    if kind in "biuf" and not numeric_abstain:
        try:
            as_number = float(abstain)
        except ValueError:
            return np.zeros(y.shape, dtype=bool)
        if y.size and (y == as_number).any():
            raise ValueError(
                f"{input_name} holds numbers, among them {format_value(as_number)}, "
                f"but abstain={abstain!r} is a string and matches no number. "
                f"Pass abstain={format_value(as_number)}."
            )
        return np.zeros(y.shape, dtype=bool)
    if kind == "O" and numeric_abstain and y.size:
        # pandas string columns arrive as objects: the same "-1" trap.
        if (y == str(abstain)).any():
            raise _string_abstain_error(abstain, input_name)
    # Object arrays compare element by element (in C).
    return np.asarray(y == abstain, dtype=bool)


def _unique(values):
    """Sorted distinct values; a counting pass for small-range integers."""
    values = np.asarray(values).ravel()
    if values.dtype.kind in "iu" and values.size:
        wide = values.astype(np.int64, copy=False)
        low, high = int(wide.min()), int(wide.max())
        if high - low < _TABLE_WIDTH:
            present = np.bincount(wide - low, minlength=high - low + 1)
            return (np.flatnonzero(present) + low).astype(values.dtype)
    try:
        return np.unique(values)
    except TypeError:  # mixed, unorderable types in an object array
        raise TypeError(
            "The votes mix types that cannot be ordered (e.g. strings and "
            f"numbers): {sorted({type(v).__name__ for v in values})}."
        ) from None


def _check_numeric_votes(votes, input_name):
    """Integral, finite numeric votes, or a ValueError naming the first bad one."""
    if votes.dtype.kind != "f":
        return
    bad = ~np.isfinite(votes)
    if bad.any():
        raise ValueError(
            f"{input_name} contains {format_value(votes[bad][0])}; votes must be "
            "class labels (use the abstain value for 'no vote')."
        )
    frac = votes != np.round(votes)
    if frac.any():
        # "Unknown label type" is scikit-learn's sentence for continuous
        # targets given to a classifier (its common checks look for it).
        raise ValueError(
            f"Unknown label type: {input_name} contains the non-integer vote "
            f"{format_value(votes[frac][0])}; hard votes are class labels (pass "
            "soft votes as a 3-D array (n_samples, n_sources, n_classes))."
        )


def _as_label_array(y):
    if hasattr(y, "to_numpy") and not isinstance(y, np.ndarray):
        y = y.to_numpy()
    return np.asarray(y)


def infer_classes(
    y,
    *,
    classes=None,
    n_classes=None,
    abstain=-1,
    input_name="y",
    declare="classes=",
    below_abstain_hint=(
        "To use negative labels, declare them with classes=, or set abstain to "
        "the value that marks no vote."
    ),
):
    """The classes of a vote array, by the library's one class rule.

    Parameters
    ----------
    y : array-like
        Votes (any shape), ``abstain`` for no vote; numbers or strings.
    classes : array-like of shape (n_classes,), default=None
        Declared classes; every vote must be one of them.
    n_classes : int, default=None
        Declared number of classes (a label model's ``n_classes``): integer
        votes are then the indices ``0..n_classes-1``, and other labels must
        number exactly ``n_classes``.
    abstain : int, float, str or None, default=-1
        The "no vote" value.
    input_name : str, default="y"
        Argument name for the messages.
    declare : str, default="classes="
        How the caller's user declares classes, for the messages.
    below_abstain_hint : str
        Sentence added to the "vote below -1" error.

    Returns
    -------
    classes : ndarray of shape (n_classes,)
        Sorted class labels; ``0..max`` for non-negative integer votes.

    Raises
    ------
    ValueError
        No vote, NaN or non-integer numeric votes, votes below ``-1`` with
        ``abstain=-1``, too many inferred classes, a wrapped unsigned ``-1``,
        fewer than two classes, or votes outside the declared classes.

    Examples
    --------
    >>> import numpy as np
    >>> infer_classes(np.array([[0, -1], [2, 0]]))
    array([0, 1, 2])
    >>> infer_classes(np.array([["ham", "-"], ["spam", "ham"]]), abstain="-")
    array(['ham', 'spam'], dtype='<U4')
    """
    y = _as_label_array(y)
    mask = abstain_mask(y, abstain, input_name)
    votes = y[~mask]
    if votes.size == 0:
        raise no_vote_error(input_name, abstain)
    if classes is not None:
        declared = np.asarray(classes)
        if declared.ndim != 1 or declared.size < 2:
            raise ValueError(
                f"classes must be a 1-D array of at least 2 distinct labels; got "
                f"{declared.tolist()!r}."
            )
        sorted_classes = _unique(declared)
        if sorted_classes.size != declared.size:
            raise ValueError(
                f"classes must hold distinct labels; got {declared.tolist()!r}."
            )
        encode_votes(votes, sorted_classes, abstain=None, input_name=input_name)
        return sorted_classes
    if votes.dtype.kind == "O" and all(
        isinstance(v, numbers.Number) for v in votes.tolist()
    ):
        # Numbers in an object array (pandas) follow the numeric rule.
        votes = np.asarray(votes.tolist())
    if votes.dtype.kind == "b":
        votes = votes.astype(np.int8)
    if votes.dtype.kind in "iuf":
        _check_numeric_votes(votes, input_name)
        low, high = votes.min(), votes.max()
        if low < -1 and _is_int(abstain) and abstain == -1:
            raise below_abstain_error(low, input_name, below_abstain_hint)
        if low >= 0:
            if n_classes is None:
                n_classes = n_classes_from_max(
                    high, input_name=input_name, dtype=y.dtype, declare=declare
                )
            elif high >= n_classes:
                raise ValueError(
                    f"{input_name} contains the vote {format_value(high)} but "
                    f"n_classes={n_classes}; votes must be in [-1, {n_classes - 1}]."
                )
            return np.arange(n_classes)
    elif votes.dtype.kind == "c":
        raise TypeError(f"{input_name} must hold class labels; got complex numbers.")
    found = _unique(votes)
    if n_classes is not None and found.size != n_classes:
        raise ValueError(
            f"{input_name} holds {found.size} class(es) "
            f"{[format_value(v) for v in found[:10]]} but n_classes={n_classes}."
        )
    if found.size < 2:
        raise ValueError(
            f"{input_name} holds a single class, {format_value(found[0])}; at least "
            f"2 classes are needed (declare the others with {declare})."
        )
    return found


def encode_votes(y, classes, *, abstain=-1, input_name="y"):
    """Class codes of the votes: the index in ``classes``, ``-1`` for abstain.

    Parameters
    ----------
    y : array-like
        Votes (any shape); numbers, strings or objects.
    classes : ndarray of shape (n_classes,)
        Sorted class labels (as returned by :func:`infer_classes`).
    abstain : int, float, str or None, default=-1
        The "no vote" value.
    input_name : str, default="y"
        Argument name for the messages.

    Returns
    -------
    codes : ndarray of int64, shape of ``y``

    Raises
    ------
    ValueError
        When a vote is not one of ``classes`` (the message lists them).

    Examples
    --------
    >>> import numpy as np
    >>> encode_votes(np.array(["b", "-", "a"]), np.array(["a", "b"]), abstain="-")
    array([ 1, -1,  0])
    """
    y = _as_label_array(y)
    classes = np.asarray(classes)
    codes = _encode_small_ints(y, classes, abstain)
    if codes is not None:
        unknown = codes == -2
        if unknown.any():
            raise unknown_labels_error(_unique(y[unknown]), classes, input_name)
        return codes
    mask = abstain_mask(y, abstain, input_name)
    votes = y[~mask]
    if votes.dtype.kind == "f":
        _check_numeric_votes(votes, input_name)
    try:
        # classes is sorted: one binary search per vote, no sort of y.
        index = np.searchsorted(classes, votes)
        unknown = classes[np.minimum(index, classes.size - 1)] != votes
        if np.ndim(unknown) == 0:
            # numpy < 1.25 compares numbers with strings as one scalar.
            unknown = np.full(votes.shape, bool(unknown))
    except TypeError:  # labels of mixed, unorderable types
        index = None
        unknown = np.ones(votes.shape, dtype=bool)
    if unknown.any():
        raise unknown_labels_error(_unique_safe(votes[unknown]), classes, input_name)
    codes = np.full(y.shape, -1, dtype=np.int64)
    codes[~mask] = index
    return codes


def _unique_safe(values):
    try:
        return _unique(values)
    except TypeError:
        return values


def _encode_small_ints(y, classes, abstain):
    """Lookup-table codes of integer votes in a small range, or None.

    ``-1`` for abstain and ``-2`` for a value that is not a class.
    """
    if y.dtype.kind not in "iu" or classes.dtype.kind not in "iu" or not y.size:
        return None
    if y.dtype.kind == "u" and y.dtype.itemsize == 8:
        return None
    low = min(int(y.min()), int(classes.min()))
    high = max(int(y.max()), int(classes.max()))
    if high - low >= _TABLE_WIDTH:
        return None
    table = np.full(high - low + 1, -2, dtype=np.int64)
    table[classes.astype(np.int64) - low] = np.arange(classes.size)
    if _is_int(abstain) and low <= abstain <= high:
        table[int(abstain) - low] = -1
    return table[y.astype(np.int64, copy=False) - low]


def check_sample_alignment(n_left, n_right, left="X", right="L"):
    """Raise when two sample-aligned inputs have different lengths."""
    if n_left != n_right:
        raise ValueError(
            f"{left} and {right} have different numbers of samples: {n_left} and "
            f"{n_right}."
        )


def gold_label_vector(y, *, input_name="y_val"):
    """Gold labels of any type as a 1-D array (a column vector is raveled).

    The check both classifiers apply to their validation labels; a label
    matrix passed by mistake is named as such.

    Examples
    --------
    >>> gold_label_vector([["a"], ["b"]])
    array(['a', 'b'], dtype='<U1')
    """
    y = check_array(
        y, ensure_2d=False, dtype=None, ensure_min_samples=0, input_name=input_name
    )
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(
            f"{input_name} must be 1-D gold labels (n_samples,), not votes; got "
            f"shape {y.shape}."
        )
    return y


def check_gold_labels(y, n_samples, *, n_classes=None, input_name="y", left="L"):
    """Validate gold class indices: 1-D, aligned, integral, ``-1`` = unknown.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
    n_samples : int
        Number of rows of the input ``y`` goes with.
    n_classes : int, default=None
        When given, labels must be below it; otherwise labels beyond the
        classes count as wrong predictions wherever they are scored.
    input_name, left : str
        Names of ``y`` and of the input it goes with, for the messages.

    Returns
    -------
    y : ndarray of int64 of shape (n_samples,)

    Examples
    --------
    >>> check_gold_labels([1, -1, 0.0], 3)
    array([ 1, -1,  0])
    """
    y = _as_label_array(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(
            f"{input_name} must be 1-D gold labels (n_samples,); got shape {y.shape}."
        )
    check_sample_alignment(n_samples, y.shape[0], left, input_name)
    if y.dtype.kind == "b" or y.dtype.kind not in "iuf":
        raise ValueError(
            f"{input_name} must hold integer class indices (-1 for unknown); got "
            f"dtype {y.dtype}."
        )
    if y.size == 0:
        return y.astype(np.int64)
    _check_numeric_votes(y, input_name)
    low, high = y.min(), y.max()
    if low < -1:
        raise ValueError(
            f"{input_name} contains {format_value(low)}, below -1; gold labels "
            "are class indices, or -1 for unknown."
        )
    if high >= _LARGEST_LABEL:
        # Beyond any class index: the int64 cast would wrap a float like 1e20.
        raise ValueError(
            f"{input_name} contains {format_value(high)}, which is not a class "
            "index; gold labels are class indices, or -1 for unknown."
        )
    if n_classes is not None and high >= n_classes:
        raise ValueError(
            f"{input_name} contains the class {format_value(high)} but there are "
            f"{n_classes} classes (0..{n_classes - 1})."
        )
    return y.astype(np.int64)


def expand_soft_labels(proba, rows, sample_weight=None):
    """Rows of a soft-label training set: one per (sample, class) with mass.

    Training an estimator whose loss is a weighted sum over rows on the
    expanded rows minimises the expected loss under the soft labels.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
        Soft labels.
    rows : ndarray of int
        The samples to expand.
    sample_weight : ndarray of shape (n_samples,), default=None
        Non-negative weights, multiplied into the expansion weights.

    Returns
    -------
    index : ndarray of int
        Sample index of each expanded row.
    labels : ndarray of int
        Class code of each expanded row.
    weight : ndarray of float
        Positive weight of each expanded row.

    Examples
    --------
    >>> import numpy as np
    >>> index, labels, weight = expand_soft_labels(
    ...     np.array([[0.25, 0.75], [1.0, 0.0]]), np.array([0, 1]))
    >>> index.tolist(), labels.tolist(), weight.tolist()
    ([0, 0, 1], [0, 1, 0], [0.25, 0.75, 1.0])
    """
    P = proba[rows]
    r, labels = np.nonzero(P > 0)
    index = rows[r]
    weight = P[r, labels]
    if sample_weight is not None:
        weight = weight * sample_weight[index]
        positive = weight > 0
        index, labels, weight = index[positive], labels[positive], weight[positive]
    return index, labels, weight


# ------------------------------------------------ containers of votes
def as_array(L):
    """Return ``L`` as a numpy array, accepting pandas objects."""
    if hasattr(L, "to_numpy") and not isinstance(L, np.ndarray):
        L = L.to_numpy()
    if sp.issparse(L):
        raise TypeError(
            "This function takes a dense label matrix (-1 for abstain). The label "
            "models fit sparse matrices directly (stored value = class index + 1, "
            "implicit zero = abstain); see label_matrix_from_long."
        )
    return np.asarray(L)


def fill_masked(L, abstain=-1, input_name="L"):
    """A masked label matrix with its masked entries turned into abstains.

    ``np.asarray`` (and so every numpy and scikit-learn validation) reads a
    masked array through its mask: the hidden values would become votes. A
    masked vote means "no vote": it becomes ``abstain`` (hard votes) or no
    vote mass (soft votes, 3-D). Anything else is returned unchanged.

    Parameters
    ----------
    L : array-like
    abstain : int, str or None, default=-1
        The value masked hard votes become; None (no abstain value) refuses
        a masked matrix whose mask hides something.
    input_name : str, default="L"

    Returns
    -------
    L : array-like
        ``L`` itself, or a plain ndarray when it was masked.

    Examples
    --------
    >>> import numpy as np
    >>> L = np.ma.masked_array([[0, 7], [1, 1]], mask=[[False, True], [False, False]])
    >>> fill_masked(L)
    array([[ 0, -1],
           [ 1,  1]])
    """
    if not isinstance(L, np.ma.MaskedArray):
        return L
    mask = np.ma.getmaskarray(L)
    data = np.ma.getdata(L)
    if not mask.any():
        return data
    if data.ndim == 3 and data.dtype.kind in "fiu":
        return np.where(mask, 0.0, data)
    if abstain is None:
        raise ValueError(
            f"{input_name} is a masked array with {int(mask.sum())} masked "
            "entries, but abstain=None: there is no abstain value to read them "
            f"as. Set abstain, or fill the mask ({input_name}.filled(value))."
        )
    # A typed abstain: numpy then promotes (uint8 votes with -1 -> int16).
    return np.where(mask, np.asarray(abstain), data)


# ------------------------------------------------- the classifiers' door
def y_required_error(owner):
    return ValueError(
        f"{owner} requires y to be passed, but the target y is None. "
        "Pass the label matrix L as y."
    )


def refuse_missing_votes(y):
    """None or NaN among object votes: say how to mark abstains.

    Labeling functions written for strings often return None to abstain;
    scikit-learn then says "Input contains NaN", or the classes fail to sort,
    neither of which says what to do.

    Parameters
    ----------
    y : array-like
        The votes, before scikit-learn's conversion.

    Raises
    ------
    ValueError
        When an object array, DataFrame or list of votes holds None or NaN.

    Examples
    --------
    >>> refuse_missing_votes([["a", "b"], ["b", ""]])   # '' can be the abstain
    >>> refuse_missing_votes([["a", None]])
    Traceback (most recent call last):
    ...
    ValueError: y holds 1 missing value(s) (None or NaN) among its votes. ...
    """
    try:
        # Lists as objects: numpy would turn a NaN among strings into "nan".
        values = np.asarray(
            getattr(y, "values", y), dtype=object if isinstance(y, list) else None
        )
    except ValueError:  # ragged lists: check_array names the problem
        return
    if values.dtype != object or not values.size:
        return
    missing = np.equal(values, None) | (values != values)  # None, NaN
    if missing.any():
        raise ValueError(
            f"y holds {int(missing.sum())} missing value(s) (None or NaN) among "
            "its votes. Mark the abstains with one value of the votes' type and "
            "pass it as abstain, e.g. abstain='' with string votes "
            "(numpy.where(pandas.isna(y), '', y)); abstain=None means that every "
            "value is a vote."
        )


def check_vote_target(y, *, abstain=-1, owner="LabelModelClassifier", block=False):
    """Validate the votes passed as ``y`` and give them a label matrix's shape.

    The front door of the classifiers that take their label matrix as
    ``y`` (:class:`LabelModelClassifier`, :class:`WeaSELClassifier`, and
    each row block of a dask ``y``): a 1-D ``y`` (or a column vector, with
    scikit-learn's ``DataConversionWarning``) is one source; masked votes
    are abstains.

    Parameters
    ----------
    y : array-like of shape (n_samples,), (n_samples, n_sources) or (n_samples, n_sources, n_classes)
    abstain : int, str or None, default=-1
    owner : str, default="LabelModelClassifier"
        The estimator's name, for the messages.
    block : bool, default=False
        ``y`` is one row block of a larger ``y`` whose shape the caller
        has checked: a block may be empty, and a column vector is one
        source without the warning (given once for the whole ``y``, not
        once per block).

    Returns
    -------
    Y : ndarray of shape (n_samples, n_sources) or (n_samples, n_sources, n_classes)

    Examples
    --------
    >>> check_vote_target([0, 1, -1]).shape
    (3, 1)
    """
    if y is None:
        raise y_required_error(owner)
    if sp.issparse(y):
        as_array(y)  # the label-matrix message: zeros would be votes
    y = fill_masked(y, abstain, "y")  # masked votes are abstains
    refuse_missing_votes(y)
    y = check_array(
        y,
        ensure_2d=False,
        allow_nd=True,
        dtype=None,
        ensure_min_samples=0 if block else 1,
        estimator=owner,
        input_name="y",
    )
    if y.ndim == 1:
        return y[:, None]
    if y.ndim == 2 and y.shape[1] == 1:
        return column_or_1d(y, warn=not block)[:, None]
    if y.ndim in (2, 3):
        return y
    raise ValueError(
        "y must be 1-D (one source), a label matrix (n_samples, n_sources) or "
        f"soft votes (n_samples, n_sources, n_classes); got shape {y.shape}."
    )


def encode_vote_target(
    Y,
    *,
    abstain=-1,
    n_classes=None,
    declare="n_classes=",
    below_abstain_hint=(
        "To use negative labels, encode them as 0..n_classes-1 or as "
        "strings, or set abstain to the value that marks no vote."
    ),
):
    """Class codes of checked votes ``Y``, and their class labels (or None).

    Classes follow the class rule of this module, with a declared
    ``n_classes``; soft votes pass as float64. None for the classes means
    that the votes are class indices ``0..n_classes-1`` already, so that a
    label model's own class count decides.

    Parameters
    ----------
    Y : ndarray of shape (n_samples, n_sources) or (n_samples, n_sources, n_classes)
        As returned by :func:`check_vote_target`.
    abstain : int, str or None, default=-1
    n_classes : int, default=None
        Declared number of classes (a label model's ``n_classes``).
    declare : str, default="n_classes="
        How the user declares the classes, for the messages.
    below_abstain_hint : str
        Sentence added to the "vote below -1" error.

    Returns
    -------
    codes : ndarray
        int64 class codes with ``-1`` for abstain, or float64 soft votes.
    classes : ndarray of shape (n_classes,) or None

    Examples
    --------
    >>> import numpy as np
    >>> codes, classes = encode_vote_target(np.array([["a", "b"], ["b", "-"]]), abstain="-")
    >>> codes.tolist(), classes.tolist()
    ([[0, 1], [1, -1]], ['a', 'b'])
    """
    if Y.ndim == 3:
        if Y.dtype.kind not in "iuf":
            raise ValueError(f"Soft y must be numeric; got dtype {Y.dtype}.")
        return Y.astype(np.float64), None
    classes = infer_classes(
        Y,
        n_classes=n_classes,
        abstain=abstain,
        declare=declare,
        below_abstain_hint=below_abstain_hint,
    )
    _warn_string_votes_without_abstain(Y, classes, abstain)
    codes = encode_votes(Y, classes, abstain=abstain)
    if classes.dtype.kind in "iu" and np.array_equal(classes, np.arange(classes.size)):
        return codes, None
    return codes, classes


def _warn_string_votes_without_abstain(y, classes, abstain):
    """String votes with a numeric ``abstain``: nothing can be "no vote".

    A label matrix of strings usually marks abstains with a string too
    ("NONE", "ABSTAIN"); with the default ``abstain=-1`` that string
    silently becomes a class of its own.
    """
    if y.ndim != 2 or y.shape[1] < 2 or abstain is None:
        return
    if isinstance(abstain, str) or not any(
        isinstance(c, str) for c in classes.tolist()
    ):
        return
    warnings.warn(
        f"y holds string votes, but abstain={abstain!r} is a number that "
        "no string equals, so every value is read as a vote: the classes are "
        f"{classes.tolist()[:10]}. Set abstain to the string that marks no "
        "vote (e.g. abstain='NONE'), or abstain=None if every value is a vote.",
        UserWarning,
        stacklevel=user_stacklevel(),
    )


# ------------------------------------------------ from votes to labels
TIE_TOL = 1e-5




def proba_to_labels(
    proba, tie_break="abstain", random_state=None, tol=TIE_TOL, by_content=False
):
    """Turn class probabilities into hard labels with a tie policy.

    Classes within ``tol`` of a row's maximum are tied.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
    tie_break : {"abstain", "random", "lowest"}, default="abstain"
        ``"abstain"`` returns -1 on ties, ``"random"`` draws one of the tied
        classes, ``"lowest"`` returns the smallest tied class.
    random_state : int, RandomState instance or None, default=None
        Used by ``"random"``.
    tol : float, default=1e-5
    by_content : bool, default=False
        With ``"random"``: draw each row's class from a seeded hash of the
        row's probabilities instead of a stream over the rows, so that a
        row's label does not depend on the other rows (their order, or which
        subset is predicted); equal rows get equal labels. None seeds it
        with 0.

    Returns
    -------
    labels : ndarray of shape (n_samples,)

    Examples
    --------
    >>> import numpy as np
    >>> proba_to_labels(np.array([[0.2, 0.8], [0.5, 0.5]]))
    array([ 1, -1])
    >>> proba_to_labels(np.array([[0.5, 0.5]]), tie_break="lowest")
    array([0])
    """
    tied = proba >= proba.max(axis=1, keepdims=True) - tol
    labels = np.argmax(tied, axis=1)
    n_tied = tied.sum(axis=1)
    if tie_break == "abstain":
        labels[n_tied > 1] = -1
    elif tie_break == "random":
        if by_content:
            pick = _content_hash(proba, tied, tol, random_state) % n_tied
        else:
            rng = check_random_state(random_state)
            # Choose uniformly among the tied classes, row by row but
            # vectorised: the k-th tied class with k ~ U{0..n_tied-1}.
            pick = np.floor(rng.random_sample(len(proba)) * n_tied).astype(np.intp)
        rank = np.cumsum(tied, axis=1) - 1
        labels = np.argmax(tied & (rank == pick[:, None]), axis=1)
    elif tie_break != "lowest":
        raise ValueError(
            f"tie_break must be 'abstain', 'random' or 'lowest'; got {tie_break!r}."
        )
    return labels


def _content_hash(proba, tied, tol, random_state):
    """A seeded integer per row from its probabilities, the same for equal rows.

    The probabilities are quantised at the tie tolerance (rows that differ by
    rounding alone hash alike) and mixed with seeded odd multipliers modulo
    a Mersenne prime; the tie pattern enters too, so that rows of equal
    quantised values but different ties are spread as well.
    """
    if random_state is None:
        random_state = 0
    seed_rng = check_random_state(random_state)
    n_classes = proba.shape[1]
    mult = seed_rng.randint(1, 2**20, size=(2, n_classes)).astype(np.int64) * 2 + 1
    # Quantised values lie in [0, 1 / tol]; with multipliers below 2**21 and
    # a product reduced modulo 2**31 - 1 class by class, nothing overflows.
    prime = np.int64(2**31 - 1)
    quantised = np.rint(np.clip(proba, 0.0, 1.0) / tol).astype(np.int64)
    mixed = (quantised * mult[0]) % prime + tied.astype(np.int64) * mult[1]
    return (mixed.sum(axis=1) % prime).astype(np.intp)
