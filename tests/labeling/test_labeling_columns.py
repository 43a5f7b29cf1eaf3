"""The column path of keyword_lf and regex_lf equals their record path.

LFApplier labels a chunk with a ``keyword_lf``/``regex_lf`` by reading the
text field once for the whole chunk and searching it in one loop. The
reference is the same labeling function called record by record (wrapped in
a plain function, which the applier can only call per record).
"""

import re

import numpy as np
import pandas as pd
import pytest

from skweak_e2e import LabelingFunction, LFApplier
from skweak_e2e.labeling import LabelingFunctionError, keyword_lf, regex_lf
from skweak_e2e.labeling._columns import ChunkFields

NAN = float("nan")

# Texts with missing values, numbers and words at Unicode word boundaries.
TEXTS = [
    "Check out my channel http://x.io",
    "ÇA VA? Le café est bon",
    "cafés et thés",
    None,
    NAN,
    "naïve subscribers: SUBSCRIBE",
    12,
    3.5,
    "日本語 my 日本",
    "my日本",
    "ſubscribe (long s)",
    "",
    "Straße STRASSE",
    np.float64(2.0),
    "under_score my_channel",
    "please subscribe now",
]


def sources(field):
    return [
        keyword_lf(["my", "my channel"], 1, field=field, name="kw_my"),
        keyword_lf("café", 0, field=field, name="kw_cafe"),
        keyword_lf(["subscribe"], 1, field=field, case_sensitive=True, name="kw_cs"),
        keyword_lf(["sub", "caf"], 1, field=field, whole_words=False, name="kw_sub"),
        keyword_lf(["straße", "12", "3.5"], 0, field=field, name="kw_odd"),
        regex_lf(r"https?://|日本", 1, field=field, name="re_link"),
        regex_lf(r"\b\w+é\b", 0, field=field, flags=re.IGNORECASE, name="re_accent"),
        regex_lf(re.compile(r"^\d"), 1, field=field, name="re_digit"),
        regex_lf(r"2\.0$", 0, field=field, name="re_float"),
    ]


def per_record(lf):
    """The same labeling function, which the applier calls per record."""
    return LabelingFunction(lambda record, lf=lf: lf(record), name=lf.name)


def apply_both(records, lfs, **params):
    fast = LFApplier(lfs, progress_bar=False, **params).fit_transform(records)
    slow = LFApplier(
        [per_record(lf) for lf in lfs], progress_bar=False, **params
    ).fit_transform(records)
    return fast, slow


def frame():
    return pd.DataFrame({"id": np.arange(len(TEXTS)), "text": TEXTS})


def string_frame(dtype):
    texts = [t if isinstance(t, str) or t is None else None for t in TEXTS]
    return pd.DataFrame(
        {"id": np.arange(len(texts)), "text": pd.Series(texts, dtype=dtype)}
    )


@pytest.mark.parametrize("row_type", ["record", "dict", "series"])
@pytest.mark.parametrize("batch_size", [4, "auto"])
def test_object_column_of_a_frame(row_type, batch_size):
    fast, slow = apply_both(
        frame(), sources("text"), row_type=row_type, batch_size=batch_size
    )
    np.testing.assert_array_equal(fast, slow)
    assert (fast >= 0).any(axis=0).all()  # every source fires somewhere


@pytest.mark.parametrize(
    "dtype", ["string[pyarrow]", "string[python]", "str", "category"]
)
@pytest.mark.parametrize("row_type", ["record", "dict", "series"])
@pytest.mark.parametrize("only_text", [False, True])
def test_string_columns_with_missing_texts(dtype, row_type, only_text):
    if "pyarrow" in dtype:
        pytest.importorskip("pyarrow")  # not among the oldest tested dependencies
    df = string_frame(dtype)
    if only_text:  # iterrows reads a one-column frame's own dtype
        df = df[["text"]]
    fast, slow = apply_both(df, sources("text"), row_type=row_type, batch_size=5)
    np.testing.assert_array_equal(fast, slow)
    missing = df["text"].isna().to_numpy()
    assert missing.any()
    assert (fast[missing] == -1).all()  # pd.NA and NaN abstain like None


def test_pandas_na_is_a_missing_text():
    lf = keyword_lf("my", 1)
    assert lf(pd.NA) == lf(None) == lf(NAN) == -1


def test_list_of_dicts_and_list_of_texts():
    dicts = [{"text": t, "n": i} for i, t in enumerate(TEXTS)]
    fast, slow = apply_both(dicts, sources("text"), batch_size=6)
    np.testing.assert_array_equal(fast, slow)
    on_texts, _ = apply_both(TEXTS, sources(None), batch_size=6)
    np.testing.assert_array_equal(on_texts, fast)
    as_series, _ = apply_both(pd.Series(TEXTS), sources(None))
    np.testing.assert_array_equal(as_series, fast)
    as_tuple, _ = apply_both(tuple(TEXTS), sources(None))
    np.testing.assert_array_equal(as_tuple, fast)


def test_numpy_arrays():
    texts = [t if isinstance(t, str) else "" for t in TEXTS]
    numbers = np.resize(np.array([0.1, 2.0, np.nan], dtype=np.float32), len(texts))
    structured = np.zeros(
        len(texts), dtype=[("text", "U40"), ("note", object), ("x", np.float32)]
    )
    structured["text"] = texts
    structured["note"] = TEXTS
    structured["x"] = numbers
    lfs = sources("text") + sources("note") + [
        regex_lf(r"^0\.1$", 1, field="x", name="x_str"),  # float32's own str
        regex_lf("nan", 0, field="x", name="x_nan"),
    ]
    for i, lf in enumerate(lfs):
        lf.name = f"{lf.name}_{i}"
    fast, slow = apply_both(structured, lfs, batch_size=7)
    np.testing.assert_array_equal(fast, slow)
    assert fast[:, -2].tolist() == np.resize([1, -1, -1], len(texts)).tolist()

    table = np.array([[i, t] for i, t in enumerate(TEXTS)], dtype=object)
    fast, slow = apply_both(table, sources(1))
    np.testing.assert_array_equal(fast, slow)
    unicode = np.array(texts)
    fast, slow = apply_both(unicode, sources(None))
    np.testing.assert_array_equal(fast, slow)
    fast, slow = apply_both(unicode.reshape(-1, 1), sources(-1))
    np.testing.assert_array_equal(fast, slow)


def test_callable_and_attribute_fields():
    class Comment:
        def __init__(self, text):
            self.text = text

    records = [Comment(t) for t in TEXTS]
    fast, slow = apply_both(records, sources("text"))  # attributes
    np.testing.assert_array_equal(fast, slow)
    fast_call, slow_call = apply_both(records, sources(lambda c: c.text))
    np.testing.assert_array_equal(fast_call, slow_call)
    np.testing.assert_array_equal(fast_call, fast)


def test_the_column_path_is_taken_and_reads_a_field_once():
    reads = []

    class Counting(dict):
        def __getitem__(self, key):
            reads.append(key)
            return super().__getitem__(key)

    records = [Counting(text=t) for t in TEXTS]
    lfs = sources("text")
    LFApplier(lfs, progress_bar=False).fit_transform(records)
    assert len(reads) == len(TEXTS)  # once per record, not once per source
    reads.clear()
    LFApplier([per_record(lf) for lf in lfs], progress_bar=False).fit_transform(records)
    assert len(reads) == len(TEXTS) * len(lfs)

    df = frame()
    fields = ChunkFields(df, "frame", "record")
    assert fields.values("text") is fields.values("text")
    assert fields._rows is None  # read from the column, no rows built
    assert isinstance(fields.votes(lfs[0]), np.ndarray)
    with_pre = LabelingFunction(lfs[0].func, name="pre", pre=[lambda r: r])
    assert fields.votes(with_pre) is None


def _error(records, lf, **params):
    with pytest.raises(Exception) as info:
        LFApplier([lf], progress_bar=False, **params).fit_transform(records)
    return info.value


@pytest.mark.parametrize(
    "records, field",
    [
        (["a", "b", True, "c"], None),  # bool: not a text
        (["a", "b", b"bytes", "c"], None),
        (pd.DataFrame({"text": ["a", "b", {"k": 1}, "c"]}, index=[5, 6, 7, 8]), "text"),
        (pd.DataFrame({"text": ["a", "b", "c", "d"]}), None),  # rows are not texts
        (pd.DataFrame({"text": ["a", "b", "c", "d"]}), "missing"),
        ([{"text": "a"}, {"text": "b"}, {"txt": "c"}, {"text": "d"}], "text"),
        (pd.DataFrame({"t": pd.to_datetime(["2014-01-05"] * 4)}), "t"),
        (["a", "b", "c", ("x", "y")], None),
        ([{"text": "a"}, {"text": "b"}], None),
    ],
)
@pytest.mark.parametrize("make", [keyword_lf, regex_lf])
def test_errors_match_the_record_path(records, field, make):
    lf = make("a", 1, field=field, name="src")
    fast = _error(records, lf, batch_size=3)
    slow = _error(records, per_record(lf), batch_size=3)
    assert type(fast) is type(slow) is LabelingFunctionError
    assert str(fast) == str(slow)
    assert (fast.lf_name, fast.record_index) == (slow.lf_name, slow.record_index)
    assert type(fast.__cause__) is type(slow.__cause__)
    assert "'src'" in str(fast) and f"record {fast.record_index}" in str(fast)


def test_bytes_pattern_is_labeled_record_by_record():
    lf = regex_lf(re.compile(b"a"), 1, name="src")
    fast = _error([None, b"abc"], lf)
    slow = _error([None, b"abc"], per_record(lf))
    assert str(fast) == str(slow) and "bytes" in str(fast)


@pytest.mark.parametrize(
    "label, params",
    [(3, {"n_classes": 2}), (1, {"abstain": -2}), (2**70, {}), (2**64 - 1, {})],
)
def test_invalid_votes_match_the_record_path(label, params):
    lf = keyword_lf("my", label, field="text", name="src")
    fast = _error(frame(), lf, **params)
    slow = _error(frame(), per_record(lf), **params)
    assert type(fast) is type(slow) is ValueError
    assert str(fast) == str(slow)
    assert "'src'" in str(fast)


def test_record_calls_still_work():
    lf = keyword_lf(["my channel"], 1, field="text")
    assert lf({"text": "visit MY channel"}) == 1
    assert lf.func.column(["my channel", None, 3, "x"]).tolist() == [1, -1, -1, -1]
    with pytest.raises(TypeError, match="expected a text but got a bool"):
        lf.func.column(["a", True])


@pytest.mark.parametrize("row_type", ["record", "dict", "series"])
def test_number_columns_read_as_the_rows_give_them(row_type):
    # iterrows casts an all-number row to float: 1 reads "1.0" there.
    df = pd.DataFrame({"n": [1, 2, 3], "x": [0.5, 1.0, np.nan]})
    lfs = [
        regex_lf(r"^1$", 1, field="n", name="n_int"),
        regex_lf(r"^1\.0$", 1, field="n", name="n_float"),
        regex_lf(r"^1\.0$", 0, field="x", name="x_float"),
    ]
    fast, slow = apply_both(df, lfs, row_type=row_type)
    np.testing.assert_array_equal(fast, slow)
    expected = [-1, 1, 0] if row_type == "series" else [1, -1, 0]
    assert fast[[0, 0, 1], [0, 1, 2]].tolist() == expected
