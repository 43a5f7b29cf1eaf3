"""Atomic fits: a fit that raises leaves the estimator as it was.

A fit sets its fitted attributes one after the other; when it raises (or
the user interrupts it) half-way, the estimator would mix the new
attributes with the old ones (``classes_`` of the new data next to the
network of the old fit) and ``check_is_fitted`` would pass on an estimator
that cannot predict. :func:`atomic_fit` snapshots the instance's
``__dict__`` before the fit and restores it when anything, including
``KeyboardInterrupt``, escapes: the previous fitted state (or the unfitted
one) survives intact.
"""

import contextlib
import copy
import functools

__all__ = ["atomic_fit", "atomic_state"]


@contextlib.contextmanager
def atomic_state(estimator, *, deep=False):
    """Restore ``estimator.__dict__`` when the ``with`` block raises.

    The form of :func:`atomic_fit` for a fit that should not be entered
    through a wrapper defined here: the fit calls down into this context
    manager, and control never climbs from ``utils`` back into the
    estimator's own layer.

    Parameters
    ----------
    estimator : object
    deep : bool, default=False
        As in :func:`atomic_fit`.

    Examples
    --------
    >>> class Model:
    ...     pass
    >>> model = Model()
    >>> try:
    ...     with atomic_state(model):
    ...         model.coef_ = 1
    ...         raise ValueError("bad")
    ... except ValueError:
    ...     pass
    >>> hasattr(model, "coef_")
    False
    """
    saved = dict(estimator.__dict__)
    if deep:
        saved = {
            key: copy.deepcopy(value) if key.endswith("_") else value
            for key, value in saved.items()
        }
    try:
        yield estimator
    except BaseException:
        # Everything the failed block set, rebound or deleted goes.
        estimator.__dict__.clear()
        estimator.__dict__.update(saved)
        raise


def atomic_fit(method=None, *, deep=False):
    """Decorate a fit method so that it commits all of its state or none.

    Parameters
    ----------
    method : callable
        ``method(self, ...)``, a fit-like method.
    deep : bool, default=False
        Deep-copy the fitted attributes (names ending with ``_``) of the
        snapshot, for methods that update them in place (``partial_fit``).
        A plain fit only rebinds attributes, so a shallow snapshot suffices.

    Returns
    -------
    wrapped : callable

    Examples
    --------
    >>> class Model:
    ...     @atomic_fit
    ...     def fit(self, fail):
    ...         self.coef_ = 1
    ...         if fail:
    ...             raise ValueError("bad")
    ...         return self
    >>> model = Model()
    >>> try:
    ...     model.fit(fail=True)
    ... except ValueError:
    ...     pass
    >>> hasattr(model, "coef_")
    False
    """
    if method is None:
        return functools.partial(atomic_fit, deep=deep)

    @functools.wraps(method)
    def wrapped(self, *args, **kwargs):
        with atomic_state(self, deep=deep):
            return method(self, *args, **kwargs)

    return wrapped
