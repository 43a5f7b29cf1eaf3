"""Preprocessors (``pre=``): what labeling functions read, and memoization."""

import pickle

import numpy as np
import pandas as pd
import pytest

from skweak_e2e import LabelingFunction, LFApplier, labeling_function
from skweak_e2e.labeling import LabelingFunctionError, Preprocessor, preprocessor


class Counter:
    """A preprocessor body that counts its calls (picklable, module level)."""

    def __init__(self):
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        x.n_words = len(x.text.split())
        return x


def _frame():
    return pd.DataFrame(
        {"text": ["nice song", "check out my channel now", "x", "love it a lot"]}
    )


def test_labeling_functions_read_the_preprocessed_record():
    add = preprocessor()(Counter())

    @labeling_function(pre=[add])
    def short(x):
        return 0 if x.n_words < 3 else -1

    @labeling_function(pre=[add])
    def long(x):
        return 1 if x["n_words"] >= 4 else -1  # key access to the new field

    L = LFApplier([short, long]).fit_transform(_frame())
    np.testing.assert_array_equal(L, [[0, -1], [-1, 1], [0, -1], [-1, 1]])


@pytest.mark.parametrize("memoize, expected_calls", [(False, 8), (True, 4)])
def test_memoize_shares_the_output_between_labeling_functions(memoize, expected_calls):
    counter = Counter()
    add = Preprocessor(counter, name="add", memoize=memoize)
    lfs = [
        LabelingFunction(lambda x: 0 if x.n_words < 3 else -1, name="a", pre=[add]),
        LabelingFunction(lambda x: 1 if x.n_words > 3 else -1, name="b", pre=[add]),
    ]
    LFApplier(lfs).fit_transform(_frame())
    assert counter.calls == expected_calls


def test_preprocessors_work_on_copies():
    df = _frame()
    seen = {}

    @preprocessor
    def shout(x):
        x.text = None  # a column cannot be overwritten on a record
        return x

    @labeling_function()
    def plain(x):
        seen.setdefault("fields", x.keys())
        return -1

    with pytest.raises(LabelingFunctionError, match="preprocessor 'shout'.*record 0"):
        LFApplier([LabelingFunction(plain.func, name="p", pre=[shout])]).fit_transform(
            df
        )

    @preprocessor
    def add_flag(x):
        x["flag"] = True
        return x

    # dict rows: the preprocessor's edit does not reach the other functions.
    lfs = [LabelingFunction(lambda x: -1, name="with", pre=[add_flag]), plain]
    LFApplier(lfs, row_type="dict").fit_transform(df)
    assert "flag" not in seen["fields"]
    # Plain texts chain through several preprocessors, in order.
    lf = LabelingFunction(
        lambda t: 1 if t == "NICE SONG!" else -1,
        name="chain",
        pre=[str.upper, lambda t: t + "!"],
    )
    assert LFApplier([lf]).fit_transform(["nice song", "x"]).ravel().tolist() == [1, -1]


def test_bad_pre_arguments():
    with pytest.raises(TypeError, match="list of preprocessors"):
        LabelingFunction(len, name="n", pre=str.upper)
    with pytest.raises(TypeError, match=r"pre\[0\] is a int"):
        LabelingFunction(len, name="n", pre=[3])
    with pytest.raises(ValueError, match="record by record"):
        LabelingFunction(len, name="n", pre=[str.upper], batch=True)


def test_labeling_function_with_pre_pickles():
    lf = LabelingFunction(len, name="n", pre=[Preprocessor(str.strip, memoize=True)])
    again = pickle.loads(pickle.dumps(lf))
    assert again("  ab ") == 2
    assert repr(again.pre[0]) == "Preprocessor(name='strip', memoize=True)"
