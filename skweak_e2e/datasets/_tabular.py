"""The embedded default: scikit-learn's bundled data sets with built-in sources.

No download is needed. The labeling functions are shallow decision trees fitted
on a small labelled *seed* set, each on a bootstrap sample and a random subset
of the features, that vote only in the leaves where they are confident and
abstain elsewhere. They are then applied to the remaining rows, which gives
label matrices with the usual traits of hand-written labeling functions:
partial coverage, accuracies that vary from source to source, overlaps and
conflicts.
"""

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils import Bunch, check_random_state

__all__ = ["load_tabular_weak_supervision"]

_MAX_ATTEMPTS = 100


def _load_breast_cancer():
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer()


def _load_wine():
    from sklearn.datasets import load_wine

    return load_wine()


def _load_digits():
    from sklearn.datasets import load_digits

    return load_digits()


# name -> (loader, default number of sources, default seed-set size,
#          tree depths, (min, max) number of features per source)
_DATASETS = {
    "breast_cancer": (_load_breast_cancer, 10, 40, (1, 2), (1, 3)),
    "wine": (_load_wine, 9, 30, (1, 2), (2, 4)),
    "digits": (_load_digits, 30, 250, (2, 3, 4), (10, 30)),
}


class TreeLabelingFunction:
    """A labeling function that is a shallow decision tree with abstaining leaves.

    Instances are built by :func:`load_tabular_weak_supervision`; they are
    exposed so that the same sources can be applied to new rows.

    Parameters
    ----------
    tree : DecisionTreeClassifier
        Fitted tree over ``X[:, features]``.
    features : ndarray of int
        Columns of ``X`` the tree reads.
    leaf_votes : ndarray of int of shape (``tree.tree_.node_count``,)
        Vote of every node of the tree (only leaves are used): a class index,
        or -1 where the leaf is not confident enough and the source abstains.
    name : str
        Short name of the source.
    description : str
        One-line human-readable description.
    """

    def __init__(self, tree, features, leaf_votes, name, description):
        self.tree = tree
        self.features = features
        self.leaf_votes = leaf_votes
        self.name = name
        self.description = description

    def apply(self, X):
        """Votes of the source on ``X`` (``-1`` = abstain).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        votes : ndarray of shape (n_samples,)
        """
        X = np.asarray(X, dtype=np.float64)
        return self.leaf_votes[self.tree.apply(X[:, self.features])]

    def __repr__(self):
        return f"TreeLabelingFunction({self.name!r})"


def _fit_labeling_function(
    X_seed,
    y_seed,
    target,
    rng,
    *,
    depths,
    n_features_range,
    min_confidence,
    feature_names,
    target_names,
    index,
):
    """Fit one tree source on a bootstrap of the seed set (None if it never votes)."""
    n_seed = X_seed.shape[0]
    # Features that vary on the seed set (digits has constant border pixels).
    usable = np.flatnonzero(X_seed.std(axis=0) > 0)
    low, high = n_features_range
    n_feat = min(int(rng.randint(low, high + 1)), usable.size)
    features = np.sort(rng.choice(usable, size=n_feat, replace=False))
    depth = int(rng.choice(depths))
    boot = rng.randint(0, n_seed, size=n_seed)
    is_target = (y_seed == target).astype(np.int64)
    tree = DecisionTreeClassifier(
        max_depth=depth,
        min_samples_leaf=max(2, n_seed // 30),
        random_state=rng.randint(np.iinfo(np.int32).max),
    ).fit(X_seed[boot][:, features], is_target[boot])
    # Leaf statistics on the whole seed set (bootstrap duplicates would make
    # them optimistic): smoothed share of the target class,
    # (n_target + 1) / (n_leaf + 2), so that tiny pure leaves do not vote.
    leaves = tree.apply(X_seed[:, features])
    n_nodes = tree.tree_.node_count
    size = np.bincount(leaves, minlength=n_nodes)
    hits = np.bincount(leaves, weights=is_target, minlength=n_nodes)
    confidence = (hits + 1.0) / (size + 2.0)
    votes = np.where(confidence >= min_confidence, target, -1).astype(np.int64)
    if not (votes[leaves] >= 0).any():
        return None
    used = ", ".join(str(feature_names[f]) for f in features)
    label = str(target_names[target])
    name = f"tree{index:02d}_{label}".replace(" ", "-")
    description = (
        f"depth-{depth} tree on [{used}]; votes {label} where its leaf's "
        f"smoothed share of {label} is >= {min_confidence:g}, else abstains"
    )
    return TreeLabelingFunction(tree, features, votes, name, description)


def _check_parameters(name, n_sources, min_confidence, valid_size, test_size):
    """The data set's recipe, once the parameters are known to be valid."""
    if name not in _DATASETS:
        raise ValueError(
            f"Unknown data set {name!r}; choose one of {sorted(_DATASETS)}."
        )
    if n_sources is not None and (
        not isinstance(n_sources, (int, np.integer)) or n_sources < 1
    ):
        raise ValueError(f"n_sources must be a positive integer; got {n_sources!r}.")
    if not 0.5 <= min_confidence <= 1.0:
        raise ValueError(f"min_confidence must lie in [0.5, 1]; got {min_confidence}.")
    for label, frac in (("valid_size", valid_size), ("test_size", test_size)):
        if not 0.0 < frac < 1.0:
            raise ValueError(f"{label} must lie in (0, 1); got {frac}.")
    if valid_size + test_size >= 1.0:
        raise ValueError("valid_size + test_size must be below 1.")
    return _DATASETS[name]


def _read(loader):
    """Features, targets, feature names and class names of a scikit-learn set."""
    raw = loader()
    X = np.asarray(raw.data, dtype=np.float64)
    y = np.asarray(raw.target, dtype=np.int64)
    target_names = [str(t) for t in raw.target_names]
    feature_names = (
        [str(f) for f in raw.feature_names]
        if getattr(raw, "feature_names", None) is not None
        else [f"x{k}" for k in range(X.shape[1])]
    )
    return X, y, feature_names, target_names


def _split_rows(y, n_classes, name, seed_size, valid_size, test_size, rng):
    """Stratified seed, train, valid and test row indices, in that order."""
    if isinstance(seed_size, float):
        seed_size = round(seed_size * len(y))
    if not n_classes * 2 <= seed_size <= len(y) // 2:
        raise ValueError(
            f"seed_size must give between {2 * n_classes} and {len(y) // 2} rows "
            f"for {name!r}; got {seed_size}."
        )

    def split(idx, size):
        return train_test_split(
            idx,
            test_size=size,
            stratify=y[idx],
            random_state=rng.randint(np.iinfo(np.int32).max),
        )

    # The seed is drawn first so that the sources never see the other rows.
    rest, seed = split(np.arange(len(y)), seed_size)
    rest, test = split(rest, test_size)
    train, valid = split(rest, valid_size / (1.0 - test_size))
    return seed, train, valid, test


def _build_sources(X_seed, y_seed, X_pool, targets, rng, **lf_params):
    """One labeling function per target class, redrawn until it votes.

    A candidate must vote on 1% of the unlabelled pool ``X_pool``: a source
    that never fires would be a column of abstains.
    """
    min_votes = max(1, int(np.ceil(0.01 * len(X_pool))))
    lfs = []
    for target in targets:
        for _ in range(_MAX_ATTEMPTS):
            lf = _fit_labeling_function(
                X_seed, y_seed, target, rng, index=len(lfs), **lf_params
            )
            if lf is not None and (lf.apply(X_pool) >= 0).sum() >= min_votes:
                lfs.append(lf)
                break
        else:
            raise ValueError(
                f"Could not build a source for class "
                f"{lf_params['target_names'][target]!r} that votes with "
                f"min_confidence={lf_params['min_confidence']}; lower it or "
                "enlarge the seed set."
            )
    return lfs


def load_tabular_weak_supervision(
    name="breast_cancer",
    *,
    n_sources=None,
    seed_size=None,
    valid_size=0.1,
    test_size=0.25,
    min_confidence=0.75,
    random_state=None,
):
    """Load a bundled scikit-learn data set with built-in weak sources.

    The embedded default of the library: it runs anywhere, with no download.
    A small labelled *seed* set is drawn first (stratified) and the other
    rows are split into train, validation and test sets (stratified). Each
    source looks for one *target* class (targets cycle over the classes, so
    every class gets sources): it is a shallow decision tree (depth 1-2, or
    2-4 for digits) fitted on a bootstrap sample of the seed set, restricted
    to a few random features (1-3; 2-4 for wine; 10-30 pixels for digits),
    split on "target vs. rest". It votes its target class in the leaves where
    the target's smoothed share of the seed rows,
    ``(n_target + 1) / (n_leaf + 2)``, is at least ``min_confidence``, and
    abstains (``-1``) elsewhere. Like hand-written labeling functions, the
    sources therefore have one polarity, partial coverage, varied accuracies,
    overlaps and conflicts. A candidate that votes on fewer than 1% of the
    (unlabelled) train rows is redrawn. Every source is applied to all splits.

    Typical source statistics on the train split (means over the sources
    and over ``random_state`` 0-4): breast_cancer coverage 0.43, accuracy
    0.83, majority-vote test accuracy 0.91; wine 0.32, 0.79, 0.88; digits
    0.06, 0.73, 0.65 (with ten classes a one-class source covers at most
    about 10% of the rows; 80% of the rows get at least one vote).

    Parameters
    ----------
    name : {"breast_cancer", "wine", "digits"}, default="breast_cancer"
        The scikit-learn data set: 569 x 30 with 2 classes, 178 x 13 with 3
        classes, or 1797 x 64 (8 x 8 images) with 10 classes.
    n_sources : int, default=None
        Number of sources; 10, 9 and 30 respectively when None.
    seed_size : int or float, default=None
        Size of the labelled seed set the sources are fitted on (a fraction
        of the rows when a float); 40, 30 and 250 respectively when None.
    valid_size : float, default=0.1
        Fraction of the non-seed rows kept as a labelled validation set.
    test_size : float, default=0.25
        Fraction of the non-seed rows kept as the test set.
    min_confidence : float, default=0.75
        Smoothed share of the target class ``(n_target + 1) / (n_leaf + 2)``
        from which a leaf votes. Higher values give sources with lower coverage
        and higher accuracy.
    random_state : int, RandomState instance or None, default=None
        Seeds the splits and the sources. Pass an int for reproducible data.

    Returns
    -------
    data : Bunch
        With keys ``X_train``, ``L_train``, ``y_train``, ``X_valid``,
        ``L_valid``, ``y_valid``, ``X_test``, ``L_test``, ``y_test`` (features,
        label matrices with ``-1`` = abstain, gold labels), ``X_seed`` and
        ``y_seed`` (the labelled seed set the sources were fitted on),
        ``source_names``, ``source_descriptions``, ``labeling_functions``
        (:class:`TreeLabelingFunction` objects, whose ``apply(X)`` gives the
        votes on new rows), ``feature_names``, ``target_names``,
        ``n_classes`` and ``DESCR``.

    Raises
    ------
    ValueError
        On an unknown name, invalid sizes, or when no voting source can be
        built for some class (``min_confidence`` too high for the seed set).

    See Also
    --------
    make_weak_supervision : Synthetic data with planted source parameters.
    load_wrench : Read a benchmark in the WRENCH format.

    Examples
    --------
    >>> from skweak_e2e.datasets import load_tabular_weak_supervision
    >>> data = load_tabular_weak_supervision("wine", random_state=0)
    >>> data.L_train.shape[1], data.n_classes
    (9, 3)
    >>> data.X_train.shape[0] == data.L_train.shape[0] == data.y_train.shape[0]
    True
    """
    loader, default_sources, default_seed, depths, n_features_range = (
        _check_parameters(name, n_sources, min_confidence, valid_size, test_size)
    )
    n_sources = default_sources if n_sources is None else n_sources
    rng = check_random_state(random_state)
    X, y, feature_names, target_names = _read(loader)
    n_classes = len(target_names)
    seed_size = default_seed if seed_size is None else seed_size
    seed, train, valid, test = _split_rows(
        y, n_classes, name, seed_size, valid_size, test_size, rng
    )
    lfs = _build_sources(
        X[seed],
        y[seed],
        X[train],
        rng.permutation(np.resize(np.arange(n_classes), n_sources)),
        rng,
        depths=depths,
        n_features_range=n_features_range,
        min_confidence=min_confidence,
        feature_names=feature_names,
        target_names=target_names,
    )
    X_seed, y_seed = X[seed], y[seed]

    def label_matrix(rows):
        return np.stack([lf.apply(X[rows]) for lf in lfs], axis=1)

    descr = (
        f"{name} (scikit-learn) with {n_sources} built-in weak sources.\n"
        f"{len(seed)} labelled seed rows fitted the sources; "
        f"{len(train)} train / {len(valid)} valid / {len(test)} test rows "
        f"carry their votes (-1 = abstain).\n"
        "Each source is a shallow decision tree on a few random features of a "
        "bootstrap of the seed set, split on 'target class vs. rest'; it votes its "
        "target class only in leaves whose smoothed share of that class is "
        f">= {min_confidence:g}, and abstains elsewhere.\n\n"
        + "\n".join(f"  {lf.name}: {lf.description}" for lf in lfs)
    )
    return Bunch(
        X_train=X[train],
        L_train=label_matrix(train),
        y_train=y[train],
        X_valid=X[valid],
        L_valid=label_matrix(valid),
        y_valid=y[valid],
        X_test=X[test],
        L_test=label_matrix(test),
        y_test=y[test],
        X_seed=X_seed,
        y_seed=y_seed,
        source_names=[lf.name for lf in lfs],
        source_descriptions=[lf.description for lf in lfs],
        labeling_functions=lfs,
        feature_names=feature_names,
        target_names=target_names,
        n_classes=n_classes,
        DESCR=descr,
    )
