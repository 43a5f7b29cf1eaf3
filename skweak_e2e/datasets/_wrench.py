"""Reader for benchmarks in the WRENCH format.

A WRENCH data set is a directory holding ``train.json``, ``valid.json`` and
``test.json`` and, usually, ``label.json``. Each split file maps a sample id
to a record ``{"data": {...}, "label": gold, "weak_labels": [votes]}`` where
a vote of ``-1`` means abstain; ``data`` holds ``"text"`` for text data sets
and/or ``"feature"`` (a list of numbers) for tabular ones. ``label.json``
maps class index (as a string) to class name.
"""

import itertools
import json
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ..utils._targets import n_classes_from_max

__all__ = ["load_wrench"]

SPLITS = ("train", "valid", "test")


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None


def _read_target_names(directory):
    path = directory / "label.json"
    if not path.is_file():
        return None
    names = _read_json(path)
    if not isinstance(names, dict):
        # A malformed file is a bad value, not a bad Python type.
        raise ValueError(f"{path} must map class indices to class names.")  # noqa: TRY004
    try:
        keys = sorted(int(k) for k in names)
    except ValueError:
        raise ValueError(
            f'{path} must map class indices ("0", "1", ...) to names; got keys '
            f"{sorted(names)[:5]}."
        ) from None
    if keys != list(range(len(keys))):
        raise ValueError(f"{path} must number the classes 0..n_classes-1; got {keys}.")
    return [str(names[str(k)]) for k in keys]


def _is_json_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _int_array(values, ndim):
    """``values`` as an int64 array of ``ndim`` dimensions, or None.

    None when anything is not a plain integer: a float (0.7 would be
    truncated to 0), a bool, a string, a nested list (a 3-D ``L``) or an
    integer beyond int64.
    """
    try:
        arr = np.asarray(values)
    except (ValueError, OverflowError):
        return None
    if arr.dtype.kind == "i" and bool in set(
        map(type, itertools.chain.from_iterable(values) if ndim == 2 else values)
    ):
        return None  # JSON true/false would pass as 1/0
    if arr.ndim != ndim or arr.dtype.kind != "i":
        return None
    return arr.astype(np.int64, copy=False)


def _first_non_int(ids, lists):
    """``(record id, value)`` of the first entry that is not an integer."""
    for rid, values in zip(ids, lists):
        for value in values:
            if not _is_json_int(value) or not -(2**63) <= value < 2**63:
                return rid, value
    raise AssertionError("no offending value")  # pragma: no cover


def _read_split(directory, split, target_names):
    path = directory / f"{split}.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"WRENCH split file {path} not found; a WRENCH data set directory holds "
            f"{', '.join(s + '.json' for s in SPLITS)} and label.json."
        )
    records = _read_json(path)
    if not isinstance(records, dict) or not records:
        raise ValueError(
            f"{path} must be a non-empty JSON object mapping sample ids to records."
        )
    ids = list(records)
    entries = list(records.values())
    missing = [
        i
        for i, rec in zip(ids, entries)
        if not isinstance(rec, dict) or "weak_labels" not in rec
    ]
    if missing:
        raise ValueError(
            f"{path}: record(s) {missing[:5]} have no 'weak_labels' field."
        )
    votes = [rec["weak_labels"] for rec in entries]
    widths = [len(v) if isinstance(v, list) else -1 for v in votes]
    for rid, v, width in zip(ids, votes, widths):
        if width != widths[0] or width < 0:
            raise ValueError(
                f"{path}: 'weak_labels' must be lists of the same length for every "
                f"record; record {ids[0]!r} has {widths[0]} but record {rid!r} has "
                f"{width if width >= 0 else repr(v)}."
            )
    if widths[0] == 0:
        raise ValueError(f"{path}: 'weak_labels' are empty lists (no source).")
    L = _int_array(votes, 2)
    if L is None:
        rid, value = _first_non_int(ids, votes)
        raise ValueError(
            f"{path}: record {rid!r} has the weak label {value!r}; "
            "'weak_labels' must be lists of integers (class indices, -1 = abstain)."
        )
    # A missing or null gold label is "unknown" (-1), as in sklearn's
    # semi-supervised convention.
    gold = [rec.get("label") for rec in entries]
    gold = [-1 if g is None else g for g in gold]
    y = _int_array(gold, 1)
    if y is None:
        rid, value = _first_non_int(ids, [[g] for g in gold])
        raise ValueError(
            f"{path}: record {rid!r} has the label {value!r}; 'label' must be an "
            "integer class index (or null when unknown)."
        )
    low = np.minimum(L.min(axis=1), y)
    if (low < -1).any():
        i = int(np.flatnonzero(low < -1)[0])
        raise ValueError(
            f"{path}: record {ids[i]!r} holds the label {int(low[i])}, below -1 "
            "(-1 = abstain/unknown)."
        )
    data = [rec.get("data", {}) for rec in entries]
    texts = None
    if all(isinstance(d, dict) and "text" in d for d in data):
        texts = [d["text"] for d in data]
    X = None
    if all(isinstance(d, dict) and "feature" in d for d in data):
        X = np.asarray([d["feature"] for d in data], dtype=np.float64)
    if target_names is not None:
        n_classes = len(target_names)
        high = np.maximum(L.max(axis=1), y)
        if (high >= n_classes).any():
            i = int(np.flatnonzero(high >= n_classes)[0])
            raise ValueError(
                f"{path}: record {ids[i]!r} holds the class {int(high[i])} but "
                f"label.json names only {n_classes} classes."
            )
    return Bunch(
        L=L, y=y, texts=texts, X=X, ids=ids, data=data, target_names=target_names
    )


def load_wrench(path, split=None):
    """Load a data set in the WRENCH benchmark format.

    Parameters
    ----------
    path : str or path-like
        Directory holding ``train.json``, ``valid.json``, ``test.json`` and
        optionally ``label.json`` (class index -> class name).
    split : {"train", "valid", "test"} or None, default=None
        The split to load; all three when None.

    Returns
    -------
    data : Bunch
        For one split: ``L`` (int array ``(n_samples, n_sources)``, ``-1`` =
        abstain), ``y`` (gold labels, ``-1`` where the file has none),
        ``texts`` (list of str, or None when the records have no ``"text"``),
        ``X`` (float array of the records' ``"feature"`` vectors, or None),
        ``ids`` (sample ids in file order), ``data`` (the raw ``"data"``
        dicts), ``target_names`` (from ``label.json``, or None when absent)
        and ``n_classes``. With ``split=None``: a Bunch with keys ``train``,
        ``valid`` and ``test`` (each as above), ``target_names`` and
        ``n_classes``.

    Raises
    ------
    FileNotFoundError
        When the directory or a split file is missing.
    ValueError
        On an unknown split, malformed JSON, records without
        ``weak_labels``, votes of different lengths, or classes not named in
        ``label.json``.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> record = {"data": {"text": "buy now"}, "label": 1, "weak_labels": [1, -1]}
    >>> for name in ("train", "valid", "test"):
    ...     _ = (root / f"{name}.json").write_text(json.dumps({"0": record}))
    >>> _ = (root / "label.json").write_text(json.dumps({"0": "ham", "1": "spam"}))
    >>> data = load_wrench(root, split="train")
    >>> data.L, data.y, data.texts, data.target_names
    (array([[ 1, -1]]), array([1]), ['buy now'], ['ham', 'spam'])
    """
    directory = Path(path)
    if not directory.is_dir():
        raise FileNotFoundError(f"WRENCH data set directory {directory} not found.")
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS} or None; got {split!r}.")
    target_names = _read_target_names(directory)
    wanted = SPLITS if split is None else (split,)
    if split is None:
        absent = [s for s in SPLITS if not (directory / f"{s}.json").is_file()]
        if absent:
            raise FileNotFoundError(
                f"{directory} lacks {', '.join(s + '.json' for s in absent)}; pass "
                "split=... to load the splits that exist."
            )
    splits = {s: _read_split(directory, s, target_names) for s in wanted}
    widths = {s: b.L.shape[1] for s, b in splits.items()}
    if len(set(widths.values())) > 1:
        raise ValueError(f"The splits have different numbers of sources: {widths}.")
    if target_names is not None:
        n_classes = len(target_names)
    else:
        top = max(max(int(b.L.max()), int(b.y.max())) for b in splits.values())
        n_classes = n_classes_from_max(
            top,
            input_name=f"The data set {directory}",
            declare=f"a label.json in {directory} naming every class",
        )
    for bunch in splits.values():
        bunch.n_classes = n_classes
    if split is not None:
        return splits[split]
    return Bunch(**splits, target_names=target_names, n_classes=n_classes)
