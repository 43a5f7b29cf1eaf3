"""Preprocessors: functions of a record that labeling functions read through ``pre=``."""

import copy

__all__ = ["Preprocessor", "preprocessor"]


class Preprocessor:
    """A named function that maps a record to the record a labeling function reads.

    A labeling function built with ``pre=[p, ...]`` receives ``p(record)``
    instead of ``record``: computed fields (a text's length, a parsed
    document, a lower-cased copy) are written once and shared by every
    labeling function that needs them.

    Each preprocessor receives a shallow copy of its input, so it may set
    fields on it (``x.n_words = ...`` on a DataFrame row, ``x["n_words"] =
    ...`` on a dict or Series) and return it without changing what the other
    labeling functions see.

    Parameters
    ----------
    func : callable
        ``func(record) -> record``; what it returns is what the labeling
        function (or the next preprocessor) receives.
    name : str, default=None
        Name used in error messages; defaults to ``func.__name__``.
    memoize : bool, default=False
        Compute the output once per record in each
        :meth:`LFApplier.transform <skweak_e2e.LFApplier.transform>` call and
        share it between the labeling functions that use this preprocessor
        (worth it for expensive work such as parsing). Without it, the
        preprocessor runs once per labeling function, as in snorkel. The
        outputs are kept for one chunk of records at a time (``batch_size``),
        never across calls: unlike snorkel's memoization, there is no cache
        to reset and memory stays bounded.

    Attributes
    ----------
    func : callable
        The wrapped function.
    name : str
        Name of the preprocessor.
    memoize : bool
        Whether outputs are shared between labeling functions.

    See Also
    --------
    preprocessor : Decorator that builds a Preprocessor.
    LabelingFunction : Takes preprocessors through ``pre=``.

    Examples
    --------
    >>> from skweak_e2e.labeling import LabelingFunction, preprocessor
    >>> @preprocessor(memoize=True)
    ... def lower(text):
    ...     return text.lower()
    >>> def shouts_subscribe(text):
    ...     return 1 if "subscribe" in text else -1
    >>> lf = LabelingFunction(shouts_subscribe, pre=[lower])
    >>> lf("SUBSCRIBE NOW"), lf("nice")
    (1, -1)
    """

    def __init__(self, func, name=None, memoize=False):
        if not callable(func):
            raise TypeError(
                f"A preprocessor must wrap a callable; got {type(func).__name__}."
            )
        if name is None:
            name = getattr(func, "__name__", None) or type(func).__name__
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty string; got {name!r}.")
        self.func = func
        self.name = name
        self.memoize = bool(memoize)

    def __call__(self, record):
        """Return the preprocessed copy of ``record``."""
        out = self.func(copy.copy(record))
        if out is None:
            # Almost always a forgotten ``return x``; passing None on would
            # blame the labeling function, or silently make it abstain.
            raise TypeError(
                f"preprocessor {self.name!r} returned None; a preprocessor must "
                "return the record (did its function forget `return x`?)."
            )
        return out

    def __repr__(self):
        extra = ", memoize=True" if self.memoize else ""
        return f"{type(self).__name__}(name={self.name!r}{extra})"

    def __deepcopy__(self, memo):
        # Treated as immutable, like a labeling function (see LabelingFunction).
        return self


def preprocessor(name=None, *, memoize=False):
    """Decorator that turns a function into a :class:`Preprocessor`.

    Parameters
    ----------
    name : str, default=None
        Name of the preprocessor; defaults to the function's name. The
        decorator can also be used bare (``@preprocessor``).
    memoize : bool, default=False
        Share the output between the labeling functions that use it (see
        :class:`Preprocessor`).

    Returns
    -------
    decorator : callable
        Turns ``f(record) -> record`` into a :class:`Preprocessor` (or, used
        bare, the Preprocessor itself).

    Examples
    --------
    >>> import pandas as pd
    >>> from skweak_e2e import LFApplier, labeling_function
    >>> from skweak_e2e.labeling import preprocessor
    >>> @preprocessor(memoize=True)
    ... def add_n_words(x):
    ...     x.n_words = len(x.text.split())  # a new field on a copy of the row
    ...     return x
    >>> @labeling_function(pre=[add_n_words])
    ... def short(x):
    ...     return 0 if x.n_words < 4 else -1
    >>> df = pd.DataFrame({"text": ["nice song", "check out my new channel"]})
    >>> LFApplier([short]).fit_transform(df).ravel()
    array([ 0, -1], dtype=int8)
    """
    if callable(name):  # bare use: @preprocessor
        return Preprocessor(name, memoize=memoize)

    def decorator(func):
        return Preprocessor(func, name=name, memoize=memoize)

    return decorator


def check_preprocessors(pre):
    """Validate ``pre=``: a list of Preprocessor objects (callables are wrapped)."""
    if pre is None:
        return ()
    if isinstance(pre, Preprocessor) or callable(pre):
        raise TypeError(
            "pre must be a list of preprocessors; wrap a single one in a list: "
            "pre=[p]."
        )
    checked = []
    for i, p in enumerate(pre):
        if isinstance(p, Preprocessor):
            checked.append(p)
        elif callable(p):
            checked.append(Preprocessor(p))
        else:
            raise TypeError(
                f"pre[{i}] is a {type(p).__name__}, not a preprocessor (a "
                "Preprocessor or a callable)."
            )
    return tuple(checked)
