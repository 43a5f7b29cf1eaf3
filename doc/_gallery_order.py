"""Reading order of the example gallery (used by ``conf.py``)."""

from pathlib import Path

ORDER = [
    "plot_quick_start.py",
    "plot_labeling_functions_text.py",
    "plot_snorkel_spam_tutorial.py",
    "plot_multiclass.py",
    "plot_class_imbalance.py",
    "plot_crowdsourcing.py",
    "plot_soft_sources.py",
    "plot_weasel_vs_two_stage.py",
    "plot_duplicated_sources.py",
    "plot_explain_mistake.py",
    "plot_repair_pipeline.py",
    "plot_fix_labeling_functions.py",
    "plot_scaling_out.py",
    "plot_dask_text_end_to_end.py",
]


class ExampleOrder:
    """Sort key: the position in ``ORDER``; unlisted examples go last, by name."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        name = Path(filename).name
        rank = ORDER.index(name) if name in ORDER else len(ORDER)
        return f"{rank:03d}_{name}"

    def __repr__(self):
        return "<ExampleOrder>"
