"""The examples in README.rst run and print what they claim."""

import doctest
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.rst"


def test_readme_examples():
    result = doctest.testfile(
        str(README),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert result.attempted > 5
    assert result.failed == 0


def _conventions():
    text = README.read_text()
    start = text.index("Conventions\n")
    return text[start : text.index("Benchmarks\n", start)]


def test_readme_random_state_promise_matches_the_estimators():
    """The README names exactly the public estimators without random_state."""
    import inspect

    from sklearn.base import BaseEstimator

    import skweak_e2e

    conventions = " ".join(_conventions().split())
    end = conventions.index("have none of")
    sentence = conventions[conventions.rindex(";", 0, end) : end]
    for name in skweak_e2e.__all__:
        obj = getattr(skweak_e2e, name)
        if not (inspect.isclass(obj) and issubclass(obj, BaseEstimator)):
            continue
        has = "random_state" in inspect.signature(obj).parameters
        assert has != (f"``{name}``" in sentence), name


def test_readme_uncovered_rows_promise():
    """All-abstain rows: the prior, or with model_abstain the abstain posterior."""
    import numpy as np

    from skweak_e2e import DawidSkene, MajorityVote, Snorkel
    from skweak_e2e.datasets import make_weak_supervision

    # Coverage depends on the class, so abstaining is informative.
    _, L, _ = make_weak_supervision(
        2000, 5, coverage=[[0.2, 0.8]] * 5, random_state=0
    )
    none = np.full((1, 5), -1)
    for model in (
        DawidSkene(model_abstain=False),
        Snorkel(n_epochs=300, random_state=0),
        MajorityVote(),
    ):
        model.fit(L)
        np.testing.assert_allclose(
            model.predict_proba(none)[0], model.class_prior_, rtol=1e-9
        )
    # These sources vote for both classes: the default leaves their abstains
    # out (the prior, above); modelling them gives the abstain posterior.
    np.testing.assert_allclose(
        DawidSkene().fit(L).predict_proba(none)[0],
        DawidSkene().fit(L).class_prior_,
        rtol=1e-9,
    )
    ds = DawidSkene(model_abstain=True).fit(L)
    post = ds.class_prior_ * np.prod(ds.confusion_[:, :, 0], axis=0)
    np.testing.assert_allclose(ds.predict_proba(none)[0], post / post.sum(), rtol=1e-9)
    # ... and it is not the prior here: class 0 is abstained on far more often.
    assert ds.predict_proba(none)[0, 0] > ds.class_prior_[0] + 0.2
