"""Per-source statistics of a label matrix."""

import numpy as np

from ..utils._dask import refuse_dask
from ..utils._optional import import_optional
from ..utils._targets import check_gold_labels
from ..utils._validation import as_array, check_label_matrix

# What refuse_dask advises for a dask label matrix: these are summaries of a
# matrix one inspects, which a sample of its rows estimates well.
_ON_A_SAMPLE = "summarise a sample of its rows (e.g. L[:100_000].compute())"

__all__ = ["source_summary"]


def check_hard_votes(L, n_classes, abstain):
    """The hard label matrix that the source statistics read, and its class count."""
    return check_label_matrix(
        as_array(L),
        n_classes=n_classes,
        abstain=abstain,
        allow_soft=False,
        require_votes=False,
    )


def _looks_like_lfs(y):
    """Whether ``y`` is a non-empty list of callables (labeling functions)."""
    if y is None or isinstance(y, np.ndarray) or hasattr(y, "dtype"):
        return False
    try:
        items = list(y)
    except TypeError:
        return False
    return bool(items) and all(callable(item) for item in items)


def source_summary(
    L, y=None, *, n_classes=None, abstain=-1, source_names=None, as_frame="auto"
):
    """Coverage, overlap, conflict and (with gold labels) accuracy of each source.

    Parameters
    ----------
    L : array-like of shape (n_samples, n_sources)
        Hard votes, ``abstain`` for no vote. A DataFrame's column names are
        used as source names.
    y : array-like of shape (n_samples,), default=None
        Gold labels (``-1`` where unknown; those rows are left out of the
        accuracy columns). Adds the ``correct``, ``incorrect`` and
        ``accuracy`` columns.
    n_classes : int, default=None
        Number of classes; inferred from the votes when None.
    abstain : int, default=-1
        Value of ``L`` that means "no vote".
    source_names : list of str or of labeling functions, default=None
        One name per source (a labeling function stands for its ``name``).
        Defaults to the DataFrame columns of ``L``, else ``0..n_sources-1``.
    as_frame : bool or "auto", default="auto"
        Return a pandas DataFrame (``True``), a dict of arrays (``False``), or
        a DataFrame when pandas can be imported and a dict otherwise
        (``"auto"``).

    Returns
    -------
    summary : pandas.DataFrame or dict
        One row per source, indexed by source name, with columns

        - ``polarity``: tuple of the classes the source votes for;
        - ``coverage``: fraction of rows where it votes;
        - ``overlap``: fraction of rows where it votes and another source
          votes too;
        - ``conflict``: fraction of rows where it votes and another source
          votes a different class;
        - with ``y``: ``correct`` and ``incorrect`` (numbers of votes that
          agree or disagree with a known gold label) and ``accuracy``
          (``correct / (correct + incorrect)``, NaN for a source with no vote
          on a row with a known label).

        The dict form maps ``"source"`` (the names) and each column name to a
        list or array of length ``n_sources``.

    Raises
    ------
    ValueError
        On an invalid label matrix (see
        :func:`~skweak_e2e.utils.check_label_matrix`; soft votes are not
        accepted), gold labels of the wrong length or with invalid values, or
        a wrong number of source names.
    ImportError
        With ``as_frame=True`` when pandas is not installed.

    See Also
    --------
    label_matrix_summary : Coverage, overlap and conflict of the whole matrix.
    label_buckets : The rows behind a combination of votes, for error analysis.

    Examples
    --------
    >>> import numpy as np
    >>> from skweak_e2e.metrics import source_summary
    >>> L = np.array([[0, 0, -1], [1, 0, -1], [-1, 1, 1], [-1, -1, -1]])
    >>> y = np.array([0, 1, 1, 0])
    >>> summary = source_summary(L, y, as_frame=False)
    >>> summary["coverage"], summary["conflict"]
    (array([0.5 , 0.75, 0.25]), array([0.25, 0.25, 0.  ]))
    >>> summary["accuracy"].round(3)
    array([1.   , 0.667, 1.   ])
    >>> summary["polarity"]
    [(0, 1), (0, 1), (1,)]
    """
    refuse_dask(
        "skweak_e2e.metrics", "source_summary",
        _ON_A_SAMPLE,
        L=L, y=y,
    )
    if as_frame not in (True, False, "auto"):
        raise ValueError(f"as_frame must be True, False or 'auto'; got {as_frame!r}.")
    if _looks_like_lfs(y):
        # snorkel's LFAnalysis(L, lfs): the second argument here is gold labels.
        raise TypeError(
            "source_summary(L, y): y is the gold labels, but got labeling "
            "functions. Pass them as source_names=lfs (their names label the "
            "rows), or pass source_names=applier.get_feature_names_out(); "
            "gold labels, if any, go in y."
        )
    raw = L
    L, n_cls = check_hard_votes(L, n_classes, abstain)
    n_samples, n_sources = L.shape
    if source_names is None:
        columns = getattr(raw, "columns", None)
        source_names = (
            [str(c) for c in columns] if columns is not None else list(range(n_sources))
        )
    else:
        # Labeling functions stand for their names.
        source_names = [getattr(s, "name", s) for s in source_names]
        if len(source_names) != n_sources:
            raise ValueError(
                f"source_names has {len(source_names)} entries but L has "
                f"{n_sources} sources."
            )

    voted = L >= 0
    # Votes per (row, class) and the classes each source votes for (one
    # pass per class; no (n, m, C) array).
    class_votes = np.empty((n_samples, n_cls), dtype=np.int64)
    voted_classes = np.empty((n_sources, n_cls), dtype=bool)
    for c in range(n_cls):
        is_c = L == c
        class_votes[:, c] = is_c.sum(axis=1)
        voted_classes[:, c] = is_c.any(axis=0)
    n_votes = class_votes.sum(axis=1)
    # For a vote of source j: another source votes when n_votes > 1, and
    # another source votes a different class when n_votes exceeds the votes
    # for j's class.
    own = np.take_along_axis(class_votes, np.where(voted, L, 0).astype(np.intp), axis=1)
    overlap = voted & (n_votes[:, None] > 1)
    conflict = voted & (n_votes[:, None] > own)
    columns = {
        "polarity": [tuple(np.flatnonzero(row).tolist()) for row in voted_classes],
        "coverage": voted.mean(axis=0),
        "overlap": overlap.mean(axis=0),
        "conflict": conflict.mean(axis=0),
    }
    if y is not None:
        y = check_gold_labels(
            y, n_samples, n_classes=None if n_classes is None else n_cls
        )
        scored = voted & (y != -1)[:, None]
        correct = (scored & (L == y[:, None])).sum(axis=0)
        incorrect = scored.sum(axis=0) - correct
        total = correct + incorrect
        with np.errstate(invalid="ignore", divide="ignore"):
            accuracy = np.where(total > 0, correct / np.maximum(total, 1), np.nan)
        columns.update(correct=correct, incorrect=incorrect, accuracy=accuracy)

    pandas = None
    if as_frame is not False:
        pandas = import_optional(
            "pandas", "source_summary(as_frame=True)", required=as_frame is True
        )
    if pandas is None:
        return {"source": source_names, **columns}
    frame = pandas.DataFrame(columns, index=pandas.Index(source_names, name="source"))
    return frame
