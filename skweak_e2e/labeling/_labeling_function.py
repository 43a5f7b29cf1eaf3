"""Labeling functions: named, picklable callables that vote or abstain."""

import sys

from ._preprocessor import check_preprocessors

__all__ = [
    "LabelingFunction",
    "LabelingFunctionError",
    "column_labeler",
    "labeling_function",
]


class LabelingFunctionError(RuntimeError):
    """A labeling function raised an exception on a record.

    The message names the labeling function and the position of the record in
    the input; the original exception is chained as ``__cause__`` (in the
    sequential path) and its ``repr`` is part of the message (always, also
    when the error crossed a process boundary).

    Parameters
    ----------
    message : str
        Full error message.
    lf_name : str, default=None
        Name of the labeling function that failed.
    record_index : int, default=None
        Position of the record in the input (``None`` for a batch failure).
    """

    def __init__(self, message, lf_name=None, record_index=None):
        super().__init__(message)
        self.lf_name = lf_name
        self.record_index = record_index

    def __reduce__(self):
        # Keep the extra fields when the error comes back from a worker.
        return (type(self), (self.args[0], self.lf_name, self.record_index))


def _getattr_path(obj, dotted):
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


class LabelingFunction:
    """A named labeling function.

    A labeling function reads one record (a string, a DataFrame row, a
    feature vector...) and returns a class index ``0..n_classes-1`` or ``-1``
    to abstain. :class:`LFApplier` applies a list of them to a collection of
    records and builds the label matrix ``L``.

    Parameters
    ----------
    func : callable
        ``func(record, **resources) -> int``. With ``batch=True``,
        ``func(records, **resources) -> array of int``, where ``records`` is a
        chunk of the input in its own container type (a list for a list, a
        DataFrame slice for a DataFrame, an ndarray slice for an ndarray, a
        Series slice for a Series).
    name : str, default=None
        Name of the source (the column name of ``L``). Defaults to
        ``func.__name__``.
    resources : dict, default=None
        Keyword arguments passed to every call of ``func`` (lexicons, fitted
        models, ...). They must be picklable for parallel application.
    batch : bool, default=False
        Whether ``func`` labels a whole chunk of records at once (one
        vectorised call per chunk instead of one call per record).
    pre : list of Preprocessor or callable, default=None
        Preprocessors applied in order to each record before ``func`` reads
        it (see :class:`~skweak_e2e.labeling.Preprocessor`; plain callables
        are wrapped). Only for per-record functions (``batch=False``).

    Attributes
    ----------
    name : str
        Name of the source.
    func : callable
        The wrapped function.
    resources : dict
        Keyword arguments of every call.
    batch : bool
        Whether ``func`` takes a chunk of records.
    pre : tuple of Preprocessor
        The preprocessors, in the order they run.

    See Also
    --------
    labeling_function : Decorator that builds a LabelingFunction.
    LFApplier : Applies labeling functions to records.

    Examples
    --------
    >>> from skweak_e2e.labeling import LabelingFunction
    >>> def has_link(text):
    ...     return 1 if "http" in text else -1
    >>> lf = LabelingFunction(has_link)
    >>> lf
    LabelingFunction(name='has_link')
    >>> lf("see http://x.y"), lf("nice song")
    (1, -1)
    """

    def __init__(self, func, name=None, resources=None, batch=False, pre=None):
        if not callable(func):
            raise TypeError(
                f"A labeling function must wrap a callable; got {type(func).__name__}."
            )
        if name is None:
            name = getattr(func, "__name__", None)
            if name is None or name == "<lambda>":
                raise ValueError(
                    "This labeling function has no usable name (a lambda or a "
                    "callable object); pass name=."
                )
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty string; got {name!r}.")
        if resources is None:
            resources = {}
        elif not isinstance(resources, dict):
            raise TypeError(
                f"resources must be a dict of keyword arguments; got "
                f"{type(resources).__name__}."
            )
        self.func = func
        self.name = name
        self.resources = dict(resources)
        self.batch = bool(batch)
        self.pre = check_preprocessors(pre)
        if self.pre and self.batch:
            raise ValueError(
                f"pre= works record by record; the batch labeling function "
                f"{name!r} can transform its chunk of records itself."
            )
        doc = getattr(func, "__doc__", None)
        if doc and not isinstance(func, type):
            self.__doc__ = doc

    def __call__(self, record):
        """Label one record (or one chunk of records when ``batch=True``)."""
        for p in self.pre:
            record = p(record)
        return self.func(record, **self.resources)

    def __repr__(self):
        extra = ", batch=True" if self.batch else ""
        return f"{type(self).__name__}(name={self.name!r}{extra})"

    def __deepcopy__(self, memo):
        # Like a Python function, a labeling function is treated as
        # immutable: sklearn.clone (grid search, cross-validation) shares it
        # instead of copying its resources (lexicons, fitted models).
        return self

    def __getstate__(self):
        self._expose_wrapped_function()
        return self.__dict__.copy()

    def _expose_wrapped_function(self):
        """Make a decorated module-level function picklable by reference.

        ``@labeling_function()`` rebinds the module name of the function to
        this object, so ``pickle`` can no longer find the function under its
        qualified name ("not the same object as module.f"). Pointing the
        function's ``__qualname__`` at ``f.func`` (this object's attribute)
        restores that: plain ``pickle`` then stores a reference, and
        cloudpickle (used by joblib's workers) stores a reference for an
        importable module and the function's code for ``__main__``.
        """
        func = self.func
        qualname = getattr(func, "__qualname__", None)
        module = sys.modules.get(getattr(func, "__module__", None) or "")
        if module is None or not isinstance(qualname, str) or "<locals>" in qualname:
            return
        try:
            found = _getattr_path(module, qualname)
        except AttributeError:
            return
        if found is self:
            func.__qualname__ = f"{qualname}.func"


def labeling_function(name=None, resources=None, *, batch=False, pre=None):
    """Decorator that turns a function into a :class:`LabelingFunction`.

    Parameters
    ----------
    name : str, default=None
        Name of the source; defaults to the function's name. The decorator
        can also be used bare (``@labeling_function``).
    resources : dict, default=None
        Keyword arguments passed to every call of the function.
    batch : bool, default=False
        Whether the function labels a whole chunk of records at once (see
        :class:`LabelingFunction`).
    pre : list of Preprocessor or callable, default=None
        Preprocessors applied to each record first (see
        :class:`LabelingFunction`).

    Returns
    -------
    decorator : callable
        Turns ``f(record, **resources) -> int`` into a
        :class:`LabelingFunction` (or, used bare, the LabelingFunction
        itself).

    Examples
    --------
    >>> from skweak_e2e.labeling import labeling_function
    >>> SPAM, HAM, ABSTAIN = 1, 0, -1
    >>> @labeling_function(resources={"words": ("subscribe", "my channel")})
    ... def lf_promo(text, words):
    ...     return SPAM if any(w in text.lower() for w in words) else ABSTAIN
    >>> lf_promo.name, lf_promo("Subscribe to me!"), lf_promo("great song")
    ('lf_promo', 1, -1)
    """
    if callable(name) and resources is None:
        # Bare use: @labeling_function
        return LabelingFunction(name, batch=batch, pre=pre)

    def decorator(func):
        return LabelingFunction(
            func, name=name, resources=resources, batch=batch, pre=pre
        )

    return decorator


def column_labeler(lf):
    """``(field, column)`` when a chunk can be labeled a column at a time.

    ``column(values)`` must return the votes of ``lf.func`` on records whose
    ``field`` (as ``get_field`` reads it) holds ``values``; the ready-made
    text labeling functions provide it (``labels_columns``). Only without
    preprocessors, resources or batching, which the record path applies.
    """
    func = lf.func
    if lf.pre or lf.resources or lf.batch:
        return None
    if not getattr(type(func), "labels_columns", False):
        return None
    return func.field, func.column
