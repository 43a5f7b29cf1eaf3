"""The main job: ``python -m skweak_e2e demo`` (CI runs ``--quick``)."""

import pytest

import skweak_e2e
from skweak_e2e.__main__ import LABEL_MODELS, format_report, main, run_demo


@pytest.fixture(scope="module")
def results():
    return run_demo(quick=True)


def test_demo_results(results):
    fitted = results["label_models"]
    # Every label model of the library is run (LinearizedApprox under the
    # name of the model it linearises).
    assert sorted(k.split("(")[0] for k in fitted) == sorted(LABEL_MODELS)
    assert all(hasattr(skweak_e2e, name) for name in LABEL_MODELS)
    for name, scores in fitted.items():
        assert 0.75 < scores["accuracy"] <= 1.0, (name, scores)
        assert scores["fit_time"] >= 0
    end = results["end_models"]
    assert end["supervised: train gold labels (upper bound)"]["accuracy"] > 0.9
    weak = [v["accuracy"] for k, v in end.items() if k.startswith("weak: labels")]
    assert len(weak) == len(fitted) and min(weak) > 0.75
    sources = results["sources"]
    assert len(sources) == results["data"]["n_sources"]
    overall = results["label_matrix"]
    assert overall["coverage"] >= max(s["coverage"] for s in sources)


def test_demo_shows_where_weak_supervision_pays_off(results):
    payoff = results["payoff"]
    weak, supervised = payoff["weak"], payoff["supervised"]
    # More unlabelled rows do not hurt, and the weak model with no gold label
    # beats a classifier trained on a hundred gold labels.
    sizes = sorted(weak)
    assert weak[sizes[-1]] >= weak[sizes[0]]
    assert weak[sizes[-1]] > supervised[100]
    matched = payoff["gold_labels_matched"]
    assert matched is None or matched > 100
    assert matched is None or supervised[matched] >= weak[sizes[-1]]


def test_demo_report_explains_the_tables(results):
    report = format_report(results)
    for heading in (
        "Sources",
        "Label models",
        "End models",
        "upper bound",
        "How to read this table",
        "Where weak supervision pays off",
    ):
        assert heading in report
    for name in results["label_models"]:
        assert name in report
    seed = results["end_models"]["supervised: seed gold labels"]["accuracy"]
    assert f"{seed:.3f}" in report  # the explanation quotes the table
    matched = results["payoff"]["gold_labels_matched"]
    if matched is not None:
        assert f"about {matched} gold labels" in report


def test_cli(capsys, monkeypatch):
    calls = []

    def fake_run_demo(dataset, *, quick, random_state):
        calls.append((dataset, quick, random_state))
        return "results"

    monkeypatch.setattr("skweak_e2e.__main__.run_demo", fake_run_demo)
    monkeypatch.setattr("skweak_e2e.__main__.format_report", lambda r: f"report of {r}")
    assert main(["demo", "--quick", "--dataset", "wine", "--random-state", "3"]) == 0
    assert calls == [("wine", True, 3)]
    assert capsys.readouterr().out == "report of results\n"
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["demo", "--dataset", "iris"])
