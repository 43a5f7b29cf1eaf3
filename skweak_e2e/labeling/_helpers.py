"""Ready-made labeling functions: keywords, regular expressions, models."""

import math
import re
import sys
from numbers import Real

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..utils._validation import is_integral_number
from ._labeling_function import LabelingFunction

__all__ = ["keyword_lf", "model_lf", "regex_lf"]


def get_field(record, field):
    """Read ``field`` from one record.

    ``None`` returns the record itself, a callable is applied to it, an
    integer indexes it, and a string is looked up as an item (dict, pandas
    Series, LFApplier's DataFrame rows, structured array row) or, where items
    cannot be read by name (namedtuples, plain objects), as an attribute.
    """
    if field is None:
        return record
    if callable(field):
        return field(record)
    try:
        return record[field]
    except (TypeError, IndexError):
        if isinstance(field, str):
            return getattr(record, field)
        raise


def _batch_field(batch, field):
    """Read ``field`` from a whole chunk of records (vectorised when possible)."""
    if field is None:
        return batch
    if callable(field):
        return field(batch)
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(batch, pd.DataFrame):
        return batch[field]
    if isinstance(batch, np.ndarray) and batch.ndim == 2 and batch.dtype.names is None:
        return batch[:, field]
    if isinstance(batch, np.ndarray) and batch.dtype.names is not None:
        return batch[field]
    return [get_field(record, field) for record in batch]


def _check_label(label, abstain):
    if not is_integral_number(label) or label < 0:
        raise ValueError(f"label must be a class index (an int >= 0); got {label!r}.")
    if not is_integral_number(abstain) or abstain >= 0:
        raise ValueError(f"abstain must be a negative int; got {abstain!r}.")


def _short(text, width=40):
    return text if len(text) <= width else text[: width - 3] + "..."


def _not_a_text_error(value, field):
    """TypeError for a record (row, dict, tuple...) read where a text was expected."""
    keys = getattr(value, "keys", None)
    columns = ""
    if callable(keys):
        try:
            columns = f" with fields {list(keys())[:8]!r}"
        except Exception:  # pragma: no cover - exotic mappings
            columns = ""
    where = (
        "pass field= to name the text column (e.g. field='text'); the whole "
        "record is never searched, so column names and other cells cannot match"
        if field is None
        else f"field={field!r} must lead to a string"
    )
    return TypeError(
        f"expected a text but got a {type(value).__name__}{columns}; {where}."
    )


def _is_missing(value):
    """None, a float NaN or pandas' NA (the missing value of its string dtypes)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    pd = sys.modules.get("pandas")
    return pd is not None and value is pd.NA


_INT64 = np.iinfo(np.int64)


class _TextMatcher:
    """Votes ``label`` when a compiled pattern matches the text, else abstains.

    A missing text (None, NaN or pandas' NA) abstains; a number is matched
    as its ``str``; any other object (a DataFrame row, a dict, a tuple) is a
    TypeError: searching its ``str`` would also search column names.

    Besides one record at a time, it labels a whole column of texts at once
    (:meth:`column`), which :class:`LFApplier` uses when the labeling
    function has no preprocessor: it reads ``field`` once per chunk of
    records and skips a Python call per record.
    """

    #: LabelingFunction exposes :meth:`column` to the applier (see
    #: _labeling_function.column_labeler).
    labels_columns = True

    def __init__(self, pattern, label, field, abstain):
        self.pattern = pattern
        self.label = label
        self.field = field
        self.abstain = abstain

    def __call__(self, record):
        return self.vote(get_field(record, self.field))

    def vote(self, text):
        """The vote on one text (the value of ``field`` in a record)."""
        if not isinstance(text, str):
            if _is_missing(text):
                return self.abstain
            if not isinstance(text, (Real, np.number)) or isinstance(text, bool):
                raise _not_a_text_error(text, self.field)
            text = str(text)
        return self.label if self.pattern.search(text) else self.abstain

    def column(self, texts):
        """The votes on a sequence of texts: ``[self.vote(t) for t in texts]``.

        Returns an int64 array, or a list of ints for votes beyond int64
        (which the applier then reports as it does for any labeling function).
        Raises what :meth:`vote` raises on the first text it rejects.
        """
        label, abstain = self.label, self.abstain
        fits = all(_INT64.min <= v <= _INT64.max for v in (label, abstain))
        if fits and isinstance(self.pattern.pattern, str):
            try:
                # The search loop runs in C. With a str pattern it succeeds
                # only on str texts (bytes raise), so any other text sends
                # the whole column to the per-text loop below.
                hits = np.fromiter(
                    map(bool, map(self.pattern.search, texts)),
                    dtype=bool,
                    count=len(texts),
                )
            except Exception:
                pass
            else:
                return np.where(hits, np.int64(label), np.int64(abstain))
        votes = [self.vote(text) for text in texts]
        return np.array(votes, dtype=np.int64) if fits else votes


def keyword_lf(
    keywords,
    label,
    *,
    field=None,
    case_sensitive=False,
    whole_words=True,
    name=None,
    abstain=-1,
):
    """Labeling function that votes ``label`` when a keyword occurs.

    Parameters
    ----------
    keywords : str or iterable of str
        Keywords or phrases; any one of them triggers the vote.
    label : int
        Class index to vote.
    field : str, int, callable or None, default=None
        Where the text is in a record: None for the record itself (a list of
        strings, a Series of texts), a column/key/attribute name, a position,
        or a function of the record. Records that are not texts (DataFrame
        rows, dicts) need ``field``: without it the labeling function raises
        a TypeError rather than search the whole row, column names included.
    case_sensitive : bool, default=False
        Match case exactly.
    whole_words : bool, default=True
        Match keywords only as whole words (``"check"`` does not fire on
        ``"checkout"``, ``"http"`` not on ``"https"``); False matches
        substrings, like ``keyword in text.lower()`` in a snorkel labeling
        function. A word boundary is any character that is not a letter,
        digit or underscore.
    name : str, default=None
        Source name; defaults to ``"keyword_"`` followed by the keywords.
    abstain : int, default=-1
        Returned when no keyword occurs (or the text is missing).

    Returns
    -------
    lf : LabelingFunction
        The labeling function, ready for :class:`~skweak_e2e.LFApplier`.

    See Also
    --------
    regex_lf : Vote on a regular-expression match.

    Notes
    -----
    Porting from snorkel: a snorkel keyword labeling function usually tests
    ``any(word in x.text.lower() for word in keywords)``, a substring test.
    The default here matches whole words, which fires less often (``"my"``
    no longer fires on ``"myself"``); pass ``whole_words=False`` for
    snorkel's coverage.

    Examples
    --------
    >>> from skweak_e2e.labeling import keyword_lf
    >>> lf = keyword_lf(["subscribe", "my channel"], label=1)
    >>> lf.name
    'keyword_subscribe_my_channel'
    >>> lf("Please SUBSCRIBE!"), lf("check my channel"), lf("subscribers")
    (1, 1, -1)

    Whole words (the default) against snorkel's substring test:

    >>> keyword_lf("http", 1)("see https://x.io"), keyword_lf(
    ...     "http", 1, whole_words=False)("see https://x.io")
    (-1, 1)

    On DataFrame rows, name the text column:

    >>> import pandas as pd
    >>> from skweak_e2e import LFApplier
    >>> df = pd.DataFrame({"date": ["2014-01-05"], "text": ["love it"]})
    >>> LFApplier([keyword_lf("2014", 1, field="text")]).fit_transform(df)
    array([[-1]], dtype=int8)
    """
    if isinstance(keywords, str):
        keywords = [keywords]
    keywords = [k for k in keywords]
    if not keywords or not all(isinstance(k, str) and k for k in keywords):
        raise ValueError(
            f"keywords must be a non-empty string or list of non-empty strings; "
            f"got {keywords!r}."
        )
    _check_label(label, abstain)
    # Longest first, so that the alternation prefers "my channel" to "my".
    body = "|".join(re.escape(k) for k in sorted(keywords, key=len, reverse=True))
    source = rf"(?<!\w)(?:{body})(?!\w)" if whole_words else f"(?:{body})"
    pattern = re.compile(source, 0 if case_sensitive else re.IGNORECASE)
    if name is None:
        words = "_".join(re.sub(r"\W+", "_", k).strip("_") for k in keywords)
        name = "keyword_" + _short(words)
    return LabelingFunction(_TextMatcher(pattern, label, field, abstain), name=name)


def regex_lf(
    pattern, label, *, field=None, case_sensitive=False, flags=0, name=None, abstain=-1
):
    """Labeling function that votes ``label`` when a regular expression matches.

    Parameters
    ----------
    pattern : str or re.Pattern
        Searched anywhere in the text (:func:`re.search`).
    label : int
        Class index to vote.
    field : str, int, callable or None, default=None
        Where the text is in a record (see :func:`keyword_lf`); required
        when the records are not texts (DataFrame rows, dicts).
    case_sensitive : bool, default=False
        Match case exactly. By default case is ignored, as in
        :func:`keyword_lf` (a rule ``^what does`` also fires on "What
        does ..."). A compiled pattern keeps its own flags.
    flags : int, default=0
        More :mod:`re` flags, e.g. ``re.MULTILINE`` (only for a string
        pattern).
    name : str, default=None
        Source name; defaults to ``"regex_"`` followed by the pattern.
    abstain : int, default=-1
        Returned when the pattern does not match (or the text is missing).

    Returns
    -------
    lf : LabelingFunction
        The labeling function, ready for :class:`~skweak_e2e.LFApplier`.

    See Also
    --------
    keyword_lf : Vote on keywords.

    Examples
    --------
    >>> from skweak_e2e.labeling import regex_lf
    >>> lf = regex_lf(r"https?://\\S+", label=1, field="text")
    >>> lf.name
    'regex_https?://\\\\S+'
    >>> lf({"text": "go to http://x.io"}), lf({"text": "no link"})
    (1, -1)
    >>> what = regex_lf(r"^what does", label=0)
    >>> what("What does it mean?"), regex_lf(r"^what does", 0, case_sensitive=True)("What does")
    (0, -1)
    """
    if isinstance(pattern, re.Pattern):
        if flags:
            raise ValueError("flags cannot be combined with a compiled pattern.")
        compiled = pattern
    elif isinstance(pattern, str):
        if not case_sensitive:
            flags |= re.IGNORECASE
        try:
            compiled = re.compile(pattern, flags)
        except re.error as exc:
            raise ValueError(f"Invalid regular expression {pattern!r}: {exc}") from exc
    else:
        raise TypeError(
            f"pattern must be a string or a compiled re.Pattern; got "
            f"{type(pattern).__name__}."
        )
    _check_label(label, abstain)
    if name is None:
        name = "regex_" + _short(compiled.pattern)
    return LabelingFunction(_TextMatcher(compiled, label, field, abstain), name=name)


class _ModelVoter:
    """Batch labeling function: a fitted classifier's confident predictions."""

    def __init__(self, estimator, threshold, field, abstain):
        self.estimator = estimator
        self.threshold = threshold
        self.field = field
        self.abstain = abstain

    def __call__(self, batch):
        X = _batch_field(batch, self.field)
        if self.threshold is None:
            return np.asarray(self.estimator.predict(X))
        proba = np.asarray(self.estimator.predict_proba(X))
        classes = np.asarray(self.estimator.classes_)
        votes = classes[np.argmax(proba, axis=1)].astype(np.int64)
        votes[proba.max(axis=1) < self.threshold] = self.abstain
        return votes


def model_lf(estimator, *, threshold=None, field=None, name=None, abstain=-1):
    """Use a fitted classifier as a source ("model as a labeling function").

    The returned labeling function is a batch one: :class:`LFApplier` calls
    the estimator once per chunk of records, not once per record.

    Parameters
    ----------
    estimator : fitted classifier
        Anything with ``predict`` (and ``predict_proba`` for a threshold) and
        ``classes_``, which must be class indices ``0..n_classes-1``. A
        :class:`~sklearn.pipeline.Pipeline` (e.g. a vectoriser followed by a
        classifier) can work on raw records.
    threshold : float in [0, 1], default=None
        With a threshold, vote the most probable class where its
        ``predict_proba`` is at least ``threshold`` and abstain elsewhere
        (needs ``predict_proba``). With None, always vote ``predict``.
    field : str, int, list, callable or None, default=None
        What the estimator receives for a chunk of records: None for the
        chunk itself (a list of texts, a slice of a feature array or of a
        DataFrame), a column name or list of names (DataFrame columns, or a
        key/attribute read from every record), a column index (2-D arrays),
        or a function of the chunk that returns the estimator's input.
    name : str, default=None
        Source name; defaults to ``"model_"`` followed by the estimator's (or
        the pipeline's last step's) class name.
    abstain : int, default=-1
        Returned where the estimator is not confident enough.

    Returns
    -------
    lf : LabelingFunction
        A batch labeling function.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        When ``estimator`` is not fitted.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skweak_e2e import LFApplier
    >>> from skweak_e2e.labeling import model_lf
    >>> X = np.array([[-2.0], [-1.0], [0.0], [1.0], [2.0]])
    >>> clf = LogisticRegression().fit(X, [0, 0, 0, 1, 1])
    >>> lf = model_lf(clf, threshold=0.7)
    >>> LFApplier([lf]).fit_transform(X).ravel()
    array([ 0,  0, -1, -1,  1], dtype=int8)
    """
    if hasattr(estimator, "__sklearn_tags__"):
        check_is_fitted(estimator)  # duck-typed models are checked via classes_
    if threshold is not None:
        if not isinstance(threshold, Real) or not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be None or in [0, 1]; got {threshold!r}.")
        if not hasattr(estimator, "predict_proba"):
            raise TypeError(
                f"threshold needs predict_proba, which {type(estimator).__name__} "
                "does not have; pass threshold=None to vote predict()."
            )
    if not hasattr(estimator, "predict"):
        raise TypeError(f"{type(estimator).__name__} has no predict method.")
    classes = getattr(estimator, "classes_", None)
    if classes is None:
        raise TypeError(
            f"{type(estimator).__name__} has no classes_; model_lf needs a fitted "
            "classifier."
        )
    classes = np.asarray(classes)
    if classes.dtype.kind not in "iu" or (classes < 0).any():
        raise ValueError(
            "model_lf votes the estimator's classes_, which must be class indices "
            f"0..n_classes-1; got {classes.tolist()!r}. Fit the estimator on "
            "integer labels (e.g. with a LabelEncoder)."
        )
    if not is_integral_number(abstain) or abstain >= 0:
        raise ValueError(f"abstain must be a negative int; got {abstain!r}.")
    if name is None:
        final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
        name = f"model_{type(final).__name__}"
    voter = _ModelVoter(estimator, threshold, field, abstain)
    return LabelingFunction(voter, name=name, batch=True)
