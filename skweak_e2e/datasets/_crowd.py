"""Simulated crowds: workers with confusion matrices label a few tasks each."""

import numpy as np
from sklearn.utils import Bunch, check_random_state

from ..utils._optional import import_optional

__all__ = ["make_crowd"]


def _check_count(name, value, low):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}; got {value!r}.")
    return int(value)


def _distinct_workers(rng, n_tasks, n_workers, k, activity):
    """``k`` distinct workers per task, drawn with probabilities ``activity``.

    Drawn with replacement, then the (rare when n_workers >> k) rows with a
    repeated worker are drawn again: no (n_tasks, n_workers) array.
    """
    workers = rng.choice(n_workers, size=(n_tasks, k), p=activity)
    redo = np.arange(n_tasks)
    for _ in range(1000):
        block = np.sort(workers[redo], axis=1)
        bad = (np.diff(block, axis=1) == 0).any(axis=1)
        redo = redo[bad]
        if redo.size == 0:
            return workers
        workers[redo] = rng.choice(n_workers, size=(redo.size, k), p=activity)
    raise ValueError(  # pragma: no cover - needs k close to the active workers
        f"could not draw {k} distinct workers per task; lower labels_per_task."
    )


def make_crowd(
    n_tasks=1000,
    n_workers=100,
    labels_per_task=5,
    n_classes=2,
    *,
    accuracy=(0.55, 0.95),
    spammer_fraction=0.0,
    class_prior=None,
    activity="uniform",
    as_frame=False,
    random_state=None,
):
    """Simulated crowdsourced labels as a long (task, worker, label) table.

    Every task has a true class drawn from ``class_prior``; ``labels_per_task``
    distinct workers label it, chosen independently of the class (as a crowd
    platform assigns tasks). Worker ``j`` answers from its own confusion
    matrix: the true class with probability ``a_j ~ U(accuracy)``, otherwise
    a wrong class drawn from a worker-specific distribution (so that errors
    are systematic, not uniform). Spammers answer uniformly at random.

    Parameters
    ----------
    n_tasks : int, default=1000
        Number of tasks (items to label).
    n_workers : int, default=100
        Number of workers.
    labels_per_task : int, default=5
        Distinct workers per task (at most ``n_workers``).
    n_classes : int, default=2
        Number of classes.
    accuracy : tuple of float, default=(0.55, 0.95)
        Range of the workers' accuracies.
    spammer_fraction : float, default=0.0
        Fraction of the workers who answer at random.
    class_prior : array-like of shape (n_classes,), default=None
        Uniform when None.
    activity : {"uniform", "zipf"}, default="uniform"
        How tasks are spread over workers: evenly, or with a few very
        active workers and a long tail (weights ``1 / rank``), as on real
        platforms.
    as_frame : bool, default=False
        Return ``data`` as a pandas DataFrame (needs pandas) instead of a
        dict of arrays.
    random_state : int, RandomState instance or None, default=None
        Seeds every draw.

    Returns
    -------
    crowd : Bunch
        ``data`` (columns ``task``, ``worker``, ``label``: integer ids and
        class indices, one row per label), ``y`` (true class of every
        task), ``confusion`` (n_workers, n_classes, n_classes) with
        ``confusion[j, c, k]`` = P(worker j answers k | class c), and
        ``accuracy`` (n_workers,).

    Examples
    --------
    >>> from skweak_e2e.datasets import make_crowd
    >>> crowd = make_crowd(n_tasks=4, n_workers=10, labels_per_task=3, random_state=0)
    >>> len(crowd.data["label"]), crowd.y.shape, crowd.confusion.shape
    (12, (4,), (10, 2, 2))
    """
    n_tasks = _check_count("n_tasks", n_tasks, 1)
    n_workers = _check_count("n_workers", n_workers, 1)
    k = _check_count("labels_per_task", labels_per_task, 1)
    C = _check_count("n_classes", n_classes, 2)
    if k > n_workers:
        raise ValueError(
            f"labels_per_task={k} exceeds n_workers={n_workers}: the workers of a "
            "task are distinct."
        )
    low, high = accuracy
    if not 0.0 <= low <= high <= 1.0:
        raise ValueError(f"accuracy must be a range within [0, 1]; got {accuracy!r}.")
    if not 0.0 <= spammer_fraction <= 1.0:
        raise ValueError(f"spammer_fraction must lie in [0, 1]; got {spammer_fraction!r}.")
    if activity not in ("uniform", "zipf"):
        raise ValueError(f"activity must be 'uniform' or 'zipf'; got {activity!r}.")
    rng = check_random_state(random_state)
    prior = np.full(C, 1.0 / C) if class_prior is None else np.asarray(class_prior, float)
    if prior.shape != (C,) or (prior < 0).any() or prior.sum() <= 0:
        raise ValueError(
            f"class_prior must hold {C} non-negative numbers; got {class_prior!r}."
        )
    prior = prior / prior.sum()

    acc = rng.uniform(low, high, size=n_workers)
    # Wrong answers follow a worker-specific distribution over the other classes.
    wrong = rng.dirichlet(np.ones(C - 1), size=(n_workers, C))
    confusion = np.empty((n_workers, C, C))
    off = ~np.eye(C, dtype=bool)
    confusion[:, off] = (wrong * (1.0 - acc)[:, None, None]).reshape(n_workers, -1)
    confusion[:, np.arange(C), np.arange(C)] = acc[:, None]
    spammers = rng.random_sample(n_workers) < spammer_fraction
    confusion[spammers] = 1.0 / C
    acc = np.where(spammers, 1.0 / C, acc)

    y = rng.choice(C, size=n_tasks, p=prior)
    if activity == "uniform":
        weights = np.full(n_workers, 1.0 / n_workers)
    else:
        weights = 1.0 / np.arange(1, n_workers + 1)
        weights = rng.permutation(weights / weights.sum())
    workers = _distinct_workers(rng, n_tasks, n_workers, k, weights).ravel()
    tasks = np.repeat(np.arange(n_tasks), k)
    cumulative = np.cumsum(confusion[workers, y[tasks]], axis=1)
    u = rng.random_sample(len(workers))[:, None]
    labels = np.minimum((u > cumulative).sum(axis=1), C - 1)
    data = {"task": tasks, "worker": workers, "label": labels}
    if as_frame:
        pd = import_optional("pandas", "make_crowd(as_frame=True)")
        data = pd.DataFrame(data)
    return Bunch(data=data, y=y, confusion=confusion, accuracy=acc)
