"""Apply labeling functions to records and build the label matrix."""

import math
import sys
from collections.abc import Mapping
from numbers import Integral

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, TransformerMixin, clone

from ..utils._sklearn_compat import (
    Interval,
    StrOptions,
    _fit_context,
    _get_output_config,
    _wrap_data_with_container,
)
from ..utils._targets import MAX_INFERRED_CLASSES
from ..utils._atomic import atomic_fit
from ._dask import is_lazy_frame, transform_lazy, type_name
from ._labeling_function import LabelingFunction, LabelingFunctionError
from ._columns import ChunkFields
from ._progress import make_progress

__all__ = ["LFApplier"]

_MAX_CHUNK = 4096  # records per chunk, parallel runs
_SEQUENTIAL_CHUNK = 1024  # records per chunk, sequential runs (progress steps)


# --------------------------------------------------------------------------
# Records: what the applier accepts and how it cuts it into chunks.
# --------------------------------------------------------------------------
def _pandas():
    # pandas objects can only be passed in if pandas was imported already, so
    # the applier never imports it itself.
    return sys.modules.get("pandas")


def _check_records(X):
    """Return ``(records, kind)`` with kind in {frame, series, array, list, dask}.

    ``"dask"`` (a dask DataFrame or Series) only serves ``fit``'s type check:
    ``transform`` sends those to ``_transform_lazy``.
    """
    pd = _pandas()
    if pd is not None and isinstance(X, pd.DataFrame):
        return X, "frame"
    if pd is not None and isinstance(X, pd.Series):
        return X, "series"
    if isinstance(X, np.ndarray):
        if X.ndim == 0:
            raise TypeError("Records must be a collection; got a 0-d array.")
        return X, "array"
    if isinstance(X, (str, bytes)):
        raise TypeError(
            "Records must be a collection of records; got a single string. Wrap "
            "it in a list: [text]."
        )
    if isinstance(X, Mapping):
        raise TypeError(
            "Records must be a sequence of records (a list, an array, a pandas "
            "DataFrame or Series); got a mapping. For a dict of columns, pass "
            "pandas.DataFrame(X)."
        )
    if is_lazy_frame(X):  # other lazy collections raise a TypeError
        return X, "dask"
    if hasattr(X, "to_pandas") and hasattr(X, "columns"):  # polars and friends
        X = X.to_pandas()
        return X, "frame"
    if isinstance(X, (list, tuple)):
        return X, "list"
    if hasattr(X, "columns") and hasattr(X, "__iter__"):
        # Iterating a table yields its column names, not its rows: a matrix
        # built from them would be silently wrong.
        raise TypeError(
            f"Records of type {type_name(X)} look like a table (they have "
            "columns), but neither pandas nor .to_pandas() can read them row by "
            "row; iterating them would give the column names. Pass a pandas "
            "DataFrame, a list or an array of records."
        )
    try:
        return list(X), "list"
    except TypeError:
        raise TypeError(
            "Records must be a list, a tuple, a numpy array, a pandas DataFrame or "
            f"Series, or another iterable; got {type(X).__name__}."
        ) from None


def _is_single_pass(X):
    """True for iterators (generators, file objects): iterating consumes them."""
    try:
        return iter(X) is X
    except TypeError:
        return False


#: Records with an index of labels besides their positions.
_PANDAS_KINDS = ("frame", "series")


class Chunk:
    """Records ``start`` to ``start + len(data) - 1``: the unit of work.

    It knows how its records are named in messages (position, and pandas
    index label), so that no check needs the kind of container; ``kind``
    itself only tells :class:`ChunkFields` how to read rows and columns.
    """

    def __init__(self, data, kind, start):
        self.data = data
        self.kind = kind
        self.start = start

    def __len__(self):
        return len(self.data)

    def position(self, i):
        """Position of the chunk's ``i``-th record among all records."""
        return self.start + i

    def describe(self, i):
        """How messages name the chunk's ``i``-th record.

        ``record 12``, plus its pandas index label when that differs from
        the position.
        """
        position = self.start + i
        if self.kind not in _PANDAS_KINDS:
            return f"record {position}"
        label = self.data.index[i]
        if isinstance(label, Integral) and int(label) == position:
            return f"record {position}"
        return f"record {position} (index label {label!r})"


def _chunks(records, kind, size):
    """The records cut into chunks of ``size``, lazily (a slice copies a list)."""
    take = (
        (lambda start: records.iloc[start : start + size])
        if kind in _PANDAS_KINDS
        else (lambda start: records[start : start + size])
    )
    return (Chunk(take(start), kind, start) for start in range(0, len(records), size))


# --------------------------------------------------------------------------
# Output checks.
# --------------------------------------------------------------------------
def _expected(abstain, n_classes):
    if n_classes is None:
        return (
            f"a class index in [0, {MAX_INFERRED_CLASSES - 1}] or {abstain} "
            "(abstain); declare n_classes for more classes"
        )
    return f"a class index in [0, {n_classes - 1}] or {abstain} (abstain)"


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(
        value, (bool, np.bool_)
    )


def _invalid_value_error(lf, value, chunk, i, abstain, n_classes):
    of_type = "" if _is_int(value) else f" of type {type(value).__name__}"
    return ValueError(
        f"labeling function {lf.name!r} returned {value!r}{of_type} on "
        f"{chunk.describe(i)}; expected {_expected(abstain, n_classes)}."
    )


def _check_range(arr, lf, chunk, abstain, n_classes):
    # Without n_classes, the class count the label models would infer from
    # the largest vote is bounded: a larger vote (an id, 2**32) must be
    # declared rather than stored, wrapped, in a small integer dtype.
    top = MAX_INFERRED_CLASSES if n_classes is None else n_classes
    valid = ((arr >= 0) & (arr < top)) | (arr == abstain)
    if not valid.all():
        i = int(np.flatnonzero(~valid)[0])
        raise _invalid_value_error(lf, arr[i].item(), chunk, i, abstain, n_classes)


def _check_record_values(values, lf, chunk, abstain, n_classes):
    """Integer array of one LF's per-record outputs, or a ValueError."""
    types = set(map(type, values))
    if all(
        issubclass(t, (int, np.integer)) and not issubclass(t, (bool, np.bool_))
        for t in types
    ):
        try:
            arr = np.array(values, dtype=np.int64)
        except OverflowError:  # a Python int beyond int64
            info = np.iinfo(np.int64)
            i = next(i for i, v in enumerate(values) if not info.min <= v <= info.max)
            raise _invalid_value_error(
                lf, values[i], chunk, i, abstain, n_classes
            ) from None
    else:
        for i, value in enumerate(values):  # error path only
            if not _is_int(value):
                raise _invalid_value_error(lf, value, chunk, i, abstain, n_classes)
    _check_range(arr, lf, chunk, abstain, n_classes)
    return arr


def _check_batch_values(values, lf, chunk, abstain, n_classes):
    n, start = len(chunk), chunk.start
    arr = np.asarray(values)
    if arr.shape != (n,):
        raise ValueError(
            f"batch labeling function {lf.name!r} returned an array of shape "
            f"{arr.shape} for records {start}-{start + n - 1}; expected shape "
            f"({n},), one label per record."
        )
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "O":
            return _check_record_values(list(arr), lf, chunk, abstain, n_classes)
        raise ValueError(
            f"batch labeling function {lf.name!r} returned an array of dtype "
            f"{arr.dtype} for records {start}-{start + n - 1}; expected integers: "
            f"{_expected(abstain, n_classes)}."
        )
    arr = arr.astype(np.int64, copy=False)
    _check_range(arr, lf, chunk, abstain, n_classes)
    return arr


# --------------------------------------------------------------------------
# The unit of work: all labeling functions on one chunk of records.
# --------------------------------------------------------------------------
def _preprocess(records, lf, chunk, memo):
    """The records as ``lf`` reads them, after its preprocessors.

    ``memo`` maps a chain of memoized preprocessors (by identity) to its
    outputs on this chunk, so that labeling functions sharing them reuse
    the outputs instead of recomputing them.
    """
    out = records
    chain = ()
    for p in lf.pre:
        chain += (id(p),)
        if p.memoize and chain in memo:
            out = memo[chain][1]
            continue
        new = []
        append = new.append
        for i, record in enumerate(out):
            try:
                append(p(record))
            except Exception as exc:
                raise LabelingFunctionError(
                    f"preprocessor {p.name!r} of labeling function {lf.name!r} "
                    f"failed on {chunk.describe(i)}: {exc!r}",
                    lf.name,
                    chunk.position(i),
                ) from exc
        out = new
        if p.memoize:
            memo[chain] = (lf.pre, out)  # keeps the preprocessors (and ids) alive
    return out


def _apply_chunk(chunk, lfs, row_type, abstain, n_classes):
    n, start = len(chunk), chunk.start
    out = np.empty((n, len(lfs)), dtype=np.int64)
    fields = ChunkFields(chunk.data, chunk.kind, row_type)
    memo = {}
    for j, lf in enumerate(lfs):
        if lf.batch:
            try:
                values = lf.func(chunk.data, **lf.resources)
            except Exception as exc:
                raise LabelingFunctionError(
                    f"batch labeling function {lf.name!r} failed on records "
                    f"{start}-{start + n - 1}: {exc!r}",
                    lf.name,
                    None,
                ) from exc
            out[:, j] = _check_batch_values(values, lf, chunk, abstain, n_classes)
            continue
        check = (lf, chunk, abstain, n_classes)
        # keyword_lf and regex_lf label a whole column of the chunk at once.
        votes = fields.votes(lf)
        if isinstance(votes, np.ndarray):
            _check_range(votes, *check)
            out[:, j] = votes
            continue
        if votes is not None:  # beyond int64: reported as on the record path
            out[:, j] = _check_record_values(votes, *check)
            continue
        records = fields.rows()
        seen = _preprocess(records, lf, chunk, memo) if lf.pre else records
        func, resources = lf.func, lf.resources
        values = []
        append = values.append
        for i, record in enumerate(seen):
            try:
                append(func(record, **resources))
            except Exception as exc:
                raise LabelingFunctionError(
                    f"labeling function {lf.name!r} failed on {chunk.describe(i)}: "
                    f"{exc!r}",
                    lf.name,
                    chunk.position(i),
                ) from exc
        out[:, j] = _check_record_values(values, *check)
    return out


def _smallest_signed(low, high):
    for dtype in (np.int8, np.int16, np.int32):
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return dtype
    return np.int64


def _vote_dtype(abstain, n_classes):
    """The smallest signed dtype that holds every vote allowed."""
    high = n_classes - 1 if n_classes is not None else MAX_INFERRED_CLASSES - 1
    return _smallest_signed(min(abstain, 0), high)


def _check_lfs(lfs):
    """Validate ``lfs`` and wrap plain callables; names must be unique."""
    if isinstance(lfs, (LabelingFunction, str)) or callable(lfs):
        raise TypeError(
            "lfs must be a list of labeling functions; wrap a single one in a "
            "list: [lf]."
        )
    lfs = list(lfs)
    if not lfs:
        raise ValueError("lfs is empty; pass at least one labeling function.")
    checked = []
    for i, lf in enumerate(lfs):
        if isinstance(lf, LabelingFunction):
            checked.append(lf)
        elif callable(lf):
            try:
                checked.append(LabelingFunction(lf))
            except ValueError:
                raise ValueError(
                    f"lfs[{i}] is a callable without a usable name; wrap it in "
                    "LabelingFunction(func, name=...)."
                ) from None
        else:
            raise TypeError(
                f"lfs[{i}] is a {type(lf).__name__}, not a labeling function (a "
                "LabelingFunction or a callable)."
            )
    names = [lf.name for lf in checked]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(
            f"Labeling functions need unique names (they name the columns of L); "
            f"duplicated: {dup}. Pass name= to tell them apart."
        )
    return checked


class _RecordsTransform:
    """``transform`` and ``fit_transform`` of :class:`LFApplier`.

    They sit on a base class on purpose. scikit-learn wraps the
    ``transform`` and ``fit_transform`` that a class defines itself in its
    ``set_output`` step, which would build a pandas DataFrame from a lazy
    result (computing it); methods inherited from a class that is not
    scikit-learn's are left alone. Records in memory go through that step
    explicitly; dask records get the lazy container that ``set_output``
    asks for from ``_transform_lazy``.
    """

    def transform(self, X):
        """Apply every labeling function to every record.

        Parameters
        ----------
        X : list, tuple, ndarray, pandas DataFrame or Series, or dask DataFrame or Series
            The records. A DataFrame passes its rows (see ``row_type``), a
            Series its values, an array its rows (or items when 1-D), a list
            its items. A dask DataFrame or Series is labeled lazily, partition
            by partition, each on a worker as a pandas object (``n_jobs`` and
            ``progress_bar`` are then ignored: the partitions are the parallel
            unit).

        Returns
        -------
        L : ndarray of shape (n_records, n_lfs), or dask array
            The votes, the smallest signed integer dtype that holds them
            (``abstain`` for no vote). For dask records: a dask array with
            one row chunk per partition (of unknown size), whose dtype holds
            every allowed vote (the in-memory dtype when ``n_classes`` is
            given; int16 without it, as the votes are unknown until computed).
            With ``set_output(transform="pandas")``: a dask DataFrame with the
            index of ``X`` and one column per labeling function.
        """
        if is_lazy_frame(X):
            return self._transform_lazy(X)
        return _wrap_data_with_container(
            "transform", self._transform_records(X), X, self
        )

    def fit_transform(self, X, y=None):
        """Validate the labeling functions and apply them to ``X``.

        Parameters
        ----------
        X : list, tuple, ndarray, pandas DataFrame or Series, iterable, or dask DataFrame or Series
            The records; a single-pass iterable (a generator) is read once, a
            dask collection lazily (see :meth:`transform`).
        y : None
            Ignored.

        Returns
        -------
        L : ndarray of shape (n_records, n_lfs), or dask array
            The votes (see :meth:`transform`).
        """
        if is_lazy_frame(X):
            return self.fit(X)._transform_lazy(X)
        records, _ = _check_records(X)
        return self.fit(records).transform(records)


class LFApplier(_RecordsTransform, TransformerMixin, BaseEstimator):
    """Apply labeling functions to records: records -> label matrix ``L``.

    A scikit-learn transformer, so it can be the first step of a
    :class:`~sklearn.pipeline.Pipeline` that ends with a label model.
    ``transform`` calls every labeling function on every record and returns
    the integer label matrix, one column per labeling function. It is
    stateless: ``fit`` only validates the labeling functions.

    Parameters
    ----------
    lfs : list of LabelingFunction or callable
        The labeling functions (sources). Plain callables are wrapped and
        named after their ``__name__``. Names must be unique: they are the
        output feature names.
    n_classes : int, default=None
        Number of classes. When given, every vote must lie in
        ``[0, n_classes - 1]``; when None, any non-negative class index is
        accepted.
    abstain : int, default=-1
        The value a labeling function returns to abstain.
    row_type : {"record", "series", "dict"}, default="record"
        What a labeling function receives for a row of a DataFrame:
        ``"record"``, a light namedtuple that also takes column-name keys
        (``x.text``, ``x["text"]``, ``x.get("text")`` and ``x[0]`` work); a
        pandas Series (the same access, plus the Series methods, but about
        ten times slower to build); or a dict. Other inputs pass their
        elements as they are: list items, Series values, array rows.
    batch_size : int or "auto", default="auto"
        Number of records per chunk (the unit of parallel work and of
        progress updates; batch labeling functions get one chunk per call).
        ``"auto"``: 1024 in a sequential run; about four chunks per worker,
        at most 4096 records each, in a parallel run.
    n_jobs : int, default=None
        Number of joblib workers over chunks of records. ``None`` means 1
        unless in a :func:`joblib.parallel_config` context; ``-1`` uses all
        processors. Labeling functions and their resources must then be
        picklable (functions defined in a script or notebook are shipped by
        value). Workers start once per session, which takes seconds, so
        parallelism pays off for expensive labeling functions, not for
        keyword lookups.
    progress_bar : bool or "auto", default="auto"
        Show progress on stderr (with tqdm when it is installed, else a plain
        line). ``"auto"`` shows it only for runs longer than 2 seconds.

    Attributes
    ----------
    lfs_ : list of LabelingFunction
        The validated labeling functions.
    n_sources_ : int
        Number of labeling functions (columns of ``L``).

    See Also
    --------
    labeling_function : Decorator that builds a labeling function.
    keyword_lf, regex_lf, model_lf : Ready-made labeling functions.

    Notes
    -----
    An exception inside a labeling function is re-raised as
    :class:`~skweak_e2e.labeling.LabelingFunctionError` naming the function
    and the record position; a return value that is not an integer in the
    allowed range raises a ``ValueError`` naming both as well.

    :func:`~skweak_e2e.labeling.keyword_lf` and
    :func:`~skweak_e2e.labeling.regex_lf` sources without preprocessors
    label a column at a time: their text field is read once per chunk and
    searched in one loop, with the same votes and errors as record by record.

    Examples
    --------
    >>> from skweak_e2e import LFApplier, MajorityVote, labeling_function
    >>> from sklearn.pipeline import make_pipeline
    >>> @labeling_function()
    ... def has_link(text):
    ...     return 1 if "http" in text else -1
    >>> @labeling_function()
    ... def is_short(text):
    ...     return 0 if len(text) < 20 else -1
    >>> texts = ["nice song", "visit http://spam.example now", "love it"]
    >>> applier = LFApplier([has_link, is_short])
    >>> applier.fit_transform(texts)
    array([[-1,  0],
           [ 1, -1],
           [-1,  0]], dtype=int8)
    >>> applier.get_feature_names_out()
    array(['has_link', 'is_short'], dtype=object)
    >>> pipe = make_pipeline(LFApplier([has_link, is_short]), MajorityVote())
    >>> pipe.fit(texts).predict(texts)
    array([0, 1, 0])
    """

    _parameter_constraints: dict = {
        "lfs": [list, tuple],
        "n_classes": [Interval(Integral, 1, None, closed="left"), None],
        "abstain": [Integral],
        "row_type": [StrOptions({"record", "series", "dict"})],
        "batch_size": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "n_jobs": [Integral, None],
        "progress_bar": ["boolean", StrOptions({"auto"})],
    }

    def __init__(
        self,
        lfs,
        *,
        n_classes=None,
        abstain=-1,
        row_type="record",
        batch_size="auto",
        n_jobs=None,
        progress_bar="auto",
    ):
        self.lfs = lfs
        self.n_classes = n_classes
        self.abstain = abstain
        self.row_type = row_type
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.progress_bar = progress_bar

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def fit(self, X, y=None):
        """Validate the labeling functions.

        Parameters
        ----------
        X : sequence of records or None
            Ignored apart from a type check; the applier learns nothing.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The applier.
        """
        self._validate_abstain()
        if X is not None and not _is_single_pass(X):
            # A generator is left alone: checking it would consume it.
            _check_records(X)
        self.lfs_ = _check_lfs(self.lfs)
        self.n_sources_ = len(self.lfs_)
        return self

    def _validate_abstain(self):
        if self.abstain >= 0:
            raise ValueError(
                f"abstain must be negative (class indices are >= 0); got "
                f"{self.abstain}."
            )

    def _transform_records(self, X):
        """The in-memory transform, without scikit-learn's set_output step.

        Also the kernel that labels each partition of a dask collection.
        """
        self._validate_params()
        self._validate_abstain()
        lfs = _check_lfs(self.lfs)
        records, kind = _check_records(X)
        n = len(records)
        n_jobs = effective_n_jobs(self.n_jobs)
        if self.batch_size == "auto":
            if n_jobs == 1:
                size = _SEQUENTIAL_CHUNK
            else:
                size = min(_MAX_CHUNK, max(1, math.ceil(n / (4 * n_jobs))))
        else:
            size = self.batch_size
        n_chunks = math.ceil(n / size)
        args = (lfs, self.row_type, self.abstain, self.n_classes)
        low = min(self.abstain, 0)
        # Chunks are stored compactly as they arrive (the label matrix can be
        # large); the final dtype is the smallest that holds every vote.
        part_dtype = _vote_dtype(self.abstain, self.n_classes)
        progress = make_progress(n, self.progress_bar)
        parts = []
        try:
            if n_jobs == 1 or n_chunks <= 1:
                for chunk in _chunks(records, kind, size):
                    part = _apply_chunk(chunk, *args)
                    parts.append(part.astype(part_dtype, copy=False))
                    progress.update(len(chunk))
            else:
                tasks = (
                    delayed(_apply_chunk)(chunk, *args)
                    for chunk in _chunks(records, kind, size)
                )
                try:  # results as they complete, for the progress bar
                    parallel = Parallel(n_jobs=self.n_jobs, return_as="generator")
                except TypeError:  # pragma: no cover - joblib < 1.3
                    parallel = Parallel(n_jobs=self.n_jobs)
                for part in parallel(tasks):
                    parts.append(part.astype(part_dtype, copy=False))
                    progress.update(len(part))
        finally:
            progress.close()
        if not parts:
            return np.empty((0, len(lfs)), dtype=_smallest_signed(low, 0))
        L = np.concatenate(parts, axis=0)
        return L.astype(_smallest_signed(low, int(L.max())), copy=False)

    def _transform_lazy(self, X):
        """Label a dask DataFrame or Series lazily, one task per partition."""
        self._validate_params()
        self._validate_abstain()
        lfs = _check_lfs(self.lfs)
        # The partitions are the parallel unit: no joblib workers nor
        # progress bars inside a dask worker.
        kernel = clone(self).set_params(n_jobs=1, progress_bar=False)
        return transform_lazy(
            kernel._transform_records,
            X,
            [lf.name for lf in lfs],
            _vote_dtype(self.abstain, self.n_classes),
            _get_output_config("transform", self)["dense"],
        )

    def __getattr__(self, name):
        # Only reached for missing attributes: point snorkel's applier
        # methods to their equivalents.
        if name in ("apply", "apply_lfs"):
            raise AttributeError(
                f"{type(self).__name__} has no {name}(); it is a scikit-learn "
                "transformer: use fit_transform(records) (or transform(records)), "
                "which returns the label matrix L like snorkel's "
                "PandasLFApplier(lfs).apply(df)."
            )
        raise AttributeError(
            f"{type(self).__name__!r} object has no attribute {name!r}"
        )

    def get_feature_names_out(self, input_features=None):
        """Return the names of the labeling functions (the columns of ``L``).

        Parameters
        ----------
        input_features : None
            Ignored; the output names come from the labeling functions.

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per labeling function, in column order.
        """
        return np.asarray([lf.name for lf in _check_lfs(self.lfs)], dtype=object)

    def __sklearn_is_fitted__(self):
        """The applier is stateless: it is always ready to transform."""
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.no_validation = True
        tags.input_tags.one_d_array = True
        tags.input_tags.string = True
        tags.input_tags.dict = True
        return tags
