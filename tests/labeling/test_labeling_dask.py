"""LFApplier on dask DataFrames and Series: lazy, partition-aligned, and equal
to the in-memory applier on the same records."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skweak_e2e import LFApplier, MajorityVote, labeling_function
from skweak_e2e.labeling import (
    LabelingFunctionError,
    keyword_lf,
    preprocessor,
    regex_lf,
)

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")
da = pytest.importorskip("dask.array")

SPAM, HAM, ABSTAIN = 1, 0, -1

WORDS = np.array(["great", "song", "check", "out", "my", "channel", "love", "voice",
                  "subscribe", "http://x.io", "free", "the", "now"])


def _comments(n=203, seed=0):
    """Comments with an unsorted string index (dask must keep its order)."""
    rng = np.random.RandomState(seed)
    lengths = rng.randint(1, 9, size=n)
    picks = rng.randint(0, len(WORDS), size=lengths.sum())
    texts = [" ".join(w) for w in np.split(WORDS[picks], np.cumsum(lengths)[:-1])]
    index = [f"c{k}" for k in rng.permutation(n)]
    return pd.DataFrame(
        {"text": texts, "likes": rng.randint(0, 300, size=n)}, index=index
    )


@labeling_function()
def popular(x):
    return HAM if x.likes > 150 else ABSTAIN


@labeling_function(batch=True)
def long_text(rows):
    return np.where(rows["text"].str.len() > 30, SPAM, ABSTAIN)


def _lfs():
    return [
        keyword_lf(["subscribe", "channel"], SPAM, field="text"),
        regex_lf(r"https?://", SPAM, field="text", name="link"),
        keyword_lf(["song", "voice", "love"], HAM, field="text", name="music"),
        popular,
        long_text,
    ]


def _split(frame, npartitions=4):
    # sort=False keeps the row order of the pandas frame (its index is not
    # sorted), so that the two results can be compared row by row.
    return dd.from_pandas(frame, npartitions=npartitions, sort=False)


@pytest.mark.parametrize("n_classes", [2, None])
def test_matches_the_in_memory_applier(dask_client, n_classes):
    frame = _comments()
    ddf = _split(frame)
    applier = LFApplier(_lfs(), n_classes=n_classes)
    expected = applier.fit_transform(frame)
    assert len(np.unique(expected)) == 3  # every value occurs: a real check

    L = applier.fit_transform(ddf)
    assert isinstance(L, da.Array)
    assert len(L.chunks[0]) == ddf.npartitions and L.chunks[1] == (5,)
    computed = L.compute()
    np.testing.assert_array_equal(computed, expected)
    # The dtype is declared before any vote is seen: the in-memory one when
    # n_classes bounds the votes, else one that holds any inferable class.
    assert L.dtype == computed.dtype
    assert L.dtype == (expected.dtype if n_classes else np.int16)
    np.testing.assert_array_equal(applier.transform(ddf).compute(), expected)


def test_pandas_output_keeps_the_index_and_names_the_columns(dask_client):
    frame = _comments()
    applier = LFApplier(_lfs(), n_classes=2).set_output(transform="pandas")
    expected = applier.fit_transform(frame)
    ddf = _split(frame, npartitions=3)
    out = applier.fit_transform(ddf)
    assert isinstance(out, dd.DataFrame) and out.npartitions == 3
    names = list(applier.get_feature_names_out())
    assert list(out.columns) == names == list(expected.columns)
    assert out.dtypes.tolist() == expected.dtypes.tolist()
    result = out.compute()
    # dask stores string indexes as pyarrow strings: the index is the dask
    # frame's, with the labels of the pandas one.
    pd.testing.assert_index_equal(result.index, ddf.index.compute())
    pd.testing.assert_frame_equal(result, expected, check_index_type=False)
    assert list(result.index) == list(frame.index)


def test_series_input(dask_client):
    frame = _comments()
    lfs = [keyword_lf("subscribe", SPAM), regex_lf("http", SPAM, name="link")]
    applier = LFApplier(lfs, n_classes=2)
    expected = applier.fit_transform(frame["text"])
    L = applier.transform(_split(frame["text"], npartitions=5))
    np.testing.assert_array_equal(L.compute(), expected)
    framed = applier.set_output(transform="pandas").transform(_split(frame["text"]))
    assert list(framed.compute().index) == list(frame.index)


def test_lazy_until_computed_and_no_meta_inference():
    # The synchronous scheduler runs the tasks in this process, so the calls
    # of a labeling function are visible: none before compute (dask does not
    # call it on made-up rows to infer the output), one per record after.
    calls = []

    @labeling_function()
    def counted(x):
        calls.append(x.text)
        return ABSTAIN

    frame = _comments(n=40)
    ddf = _split(frame, npartitions=4)
    with dask.config.set(scheduler="sync"):
        L = LFApplier([counted]).fit_transform(ddf)
        framed = LFApplier([counted]).set_output(transform="pandas").transform(ddf)
        assert calls == []
        assert dask.is_dask_collection(L) and dask.is_dask_collection(framed)
        L.compute()
    assert sorted(calls) == sorted(frame["text"])


def test_memoized_preprocessor_runs_per_partition(dask_client):
    @preprocessor(memoize=True)
    def add_words(x):
        x.words = x.text.split()
        return x

    @labeling_function(pre=[add_words])
    def short(x):
        return HAM if len(x.words) < 3 else ABSTAIN

    @labeling_function(pre=[add_words])
    def asks(x):
        return SPAM if "subscribe" in x.words else ABSTAIN

    frame = _comments()
    applier = LFApplier([short, asks])
    expected = applier.fit_transform(frame)
    assert (expected != ABSTAIN).any(axis=0).all()
    # On the cluster: the preprocessor travels to the workers with the LFs.
    np.testing.assert_array_equal(applier.transform(_split(frame)).compute(), expected)

    # In one process: the memo is per partition, so each record is
    # preprocessed once although two functions read it.
    seen = []

    @preprocessor(memoize=True)
    def traced(x):
        seen.append(x.text)
        x.words = x.text.split()
        return x

    lfs = [labeling_function(pre=[traced], name=n)(f) for n, f in
           (("a", short.func), ("b", asks.func))]
    with dask.config.set(scheduler="sync"):
        L = LFApplier(lfs).transform(_split(frame, npartitions=3)).compute()
    np.testing.assert_array_equal(L, expected)
    assert len(seen) == len(frame)


def test_empty_partitions(dask_client):
    frame = _comments()
    ddf = _split(frame)
    subset = ddf[ddf["likes"] > 290]  # leaves some partitions empty
    applier = LFApplier(_lfs(), n_classes=2)
    expected = applier.transform(frame[frame["likes"] > 290])
    np.testing.assert_array_equal(applier.transform(subset).compute(), expected)


def test_feeds_a_label_model_after_compute(dask_client):
    frame = _comments()
    applier = LFApplier(_lfs(), n_classes=2)
    L_memory = applier.fit_transform(frame)
    L = applier.transform(_split(frame)).compute()
    model = MajorityVote(n_classes=2).fit(L)
    np.testing.assert_allclose(
        model.predict_proba(L),
        MajorityVote(n_classes=2).fit(L_memory).predict_proba(L_memory),
    )
    framed = applier.set_output(transform="pandas").transform(_split(frame)).compute()
    model = MajorityVote(n_classes=2).fit(framed)
    assert list(model.feature_names_in_) == list(applier.get_feature_names_out())


def test_errors_name_the_function_the_record_and_the_partition(dask_client):
    frame = _comments(n=20)
    target = frame.index[13]

    @labeling_function()
    def fragile(x):
        if x.likes == frame.loc[target, "likes"] and x.text == frame.loc[target, "text"]:
            raise KeyError("boom")
        return ABSTAIN

    L = LFApplier([fragile]).transform(_split(frame, npartitions=2))
    with pytest.raises(LabelingFunctionError, match=(
        rf"'fragile' failed on record 3 \(index label '{target}'\).*KeyError.*"
        r"partition 1 of the dask collection"
    )) as info:
        L.compute()
    assert info.value.lf_name == "fragile" and info.value.record_index == 3

    bad = labeling_function(name="bad")(lambda x: 7 if x.likes > 150 else ABSTAIN)
    with pytest.raises(ValueError, match=r"'bad' returned 7 .*expected a class "
                       r"index in \[0, 1\].*partition"):
        LFApplier([bad], n_classes=2).transform(_split(frame)).compute()


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: da.from_array(np.array(["a", "b"], dtype=object), chunks=1),
         r"dask\.array\.core\.Array.*from_dask_array"),
        (lambda: dask.bag.from_sequence(["a", "b"]), r"dask\.bag.*to_dataframe\(\)"),
        (lambda: dask.delayed(["a", "b"]), r"lazy collection dask\.delayed.*\.compute\(\)"),
        (lambda: _split(_comments(n=8)).index, r"lazy collection .*Index.*\.to_series\(\)"),
    ],
    ids=["array", "bag", "delayed", "index"],
)
@pytest.mark.parametrize("method", ["fit", "transform", "fit_transform"])
def test_other_lazy_collections_are_refused(make, match, method):
    pytest.importorskip("dask.bag")
    applier = LFApplier([keyword_lf("a", SPAM)])
    with pytest.raises(TypeError, match=match):
        getattr(applier, method)(make())


def test_polars_output_has_no_lazy_counterpart():
    pytest.importorskip("polars")
    applier = LFApplier([keyword_lf("a", SPAM)]).set_output(transform="polars")
    with pytest.raises(TypeError, match=r"'polars'.*set_output\(transform='pandas'\)"):
        applier.transform(_split(_comments(n=8))["text"])


def test_dask_is_imported_only_when_a_dask_collection_arrives():
    code = (
        "import sys, pandas as pd\n"
        "from skweak_e2e import LFApplier\n"
        "from skweak_e2e.labeling import keyword_lf\n"
        "L = LFApplier([keyword_lf('a', 1)]).fit_transform(pd.Series(['a', 'b']))\n"
        "assert L.tolist() == [[1], [-1]]\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'dask'], 'dask'\n"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)

