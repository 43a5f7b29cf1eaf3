"""Docstring sections shared by several estimators, written once.

A class docstring names a shared section by a placeholder line such as
``    {tie_break}``; :class:`Substitution` replaces it with the section's text
when the class is defined (as imbalanced-learn does for its samplers), so
that numpydoc and ``help()`` see the full docstring.
"""

__all__ = [
    "FITTED_CLASSES_DOC",
    "FITTED_COVERAGE_DOC",
    "Substitution",
    "TIE_BREAK_DOC",
]

TIE_BREAK_DOC = """\
    tie_break : {"random", "lowest", "abstain"}, default="random"
        How :meth:`predict` resolves ties (within 1e-5) between the most
        probable classes, such as the uncovered rows of a uniform prior: a
        random tied class (drawn from a hash of the row seeded by
        ``random_state``, so that it does not depend on the other rows), the
        lowest tied class (``numpy.argmax``), or -1. The same default as
        :class:`~skweak_e2e.LabelModelClassifier`. "lowest" favours the
        classes numbered first: on the six tasks of
        ``benchmarks/text_suite.py`` it moved the majority vote's accuracy
        from -5.3 to +2.9 points away from the random draw's expectation,
        depending on how the classes happen to be numbered; "abstain"
        scored up to 27 points below. Identical rows (all the uncovered
        ones, for instance) get the same draw, so the accuracy of one call
        can move with ``random_state`` by up to their share of the rows;
        average over a few seeds to compare models."""


# The Attributes every label model sets in BaseLabelModel.fit, in two parts
# around the model's own description of class_prior_.
FITTED_CLASSES_DOC = """\
    classes_ : ndarray of shape (n_classes,)
        Class indices ``0..n_classes-1``.
    n_classes_ : int
        Number of classes.
    n_features_in_ : int
        Number of sources.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Source names, when ``L`` was a DataFrame with string column names."""

FITTED_COVERAGE_DOC = """\
    coverage_ : float
        Fraction of training rows with at least one vote.
    silent_sources_ : ndarray
        Sources that never voted during fit; they get no weight."""


class Substitution:
    """Class decorator: fill ``{name}`` placeholders of the docstring.

    Only the named placeholders are replaced (no ``str.format``), so that
    the braces of set-valued parameter types stay as they are.

    Parameters
    ----------
    **sections : str
        Placeholder name -> text. A placeholder alone on its line is
        replaced by the text, which carries its own indentation.
    """

    def __init__(self, **sections):
        self.sections = sections

    def __call__(self, obj):
        doc = obj.__doc__
        if doc:
            for name, text in self.sections.items():
                placeholder = "{" + name + "}"
                if placeholder not in doc:
                    raise ValueError(f"{obj.__name__}'s docstring has no {placeholder}.")
                lines = [
                    text if line.strip() == placeholder else line
                    for line in doc.split("\n")
                ]
                doc = "\n".join(lines)
            obj.__doc__ = doc
        return obj
