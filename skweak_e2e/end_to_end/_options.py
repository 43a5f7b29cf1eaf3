"""Option lists of WeaSELClassifier, declared once and free of torch.

The estimator validates its parameters against these tuples without
importing torch; the torch modules import them from here too. The
``"auto"`` rule of the gold rows' join (:func:`resolve_join`) lives here
as well, for the same reason.
"""

from collections import namedtuple

#: Agreement losses between the encoder's and the downstream model's labels
#: (see ``skweak_e2e.end_to_end._losses``).
LOSSES = (
    "ce",
    "hellinger",
    "l1",
    "mig",
    "ce_no_stopgrad",
    "ce_asym_f",
    "ce_asym_e",
)

#: How the votes enter the encoder.
LF_ENCODINGS = ("onehot", "signed", "raw")

#: Sources over which the accuracy softmax is normalised on each row.
ACCURACY_SUPPORTS = ("voters", "all")

#: Parameterisations of the source accuracies.
ACCURACY_FUNCTIONS = ("softmax", "sigmoid")

#: Validation metrics of the downstream model for epoch selection.
SCORINGS = ("auto", "accuracy", "neg_log_loss", "roc_auc")


# Where gold rows join (``validation_weight``), sparse X gets a linear
# downstream model and, once trained, one of two joins: led by the gold rows
# (10 times the weak rows' total weight, the training learning rate) unless
# they are significantly worse teachers than the weak labels were (see
# choose_join), then led by the weak rows (3 times, a third of the rate). A
# network of the user's (or dense X) keeps 1 and a tenth of the rate, the
# setting tried with hidden layers. Measured (test accuracy, 3 seeds; the
# simulations of benchmarks/multiclass_text_sim.py 5 seeds): with the gold
# rows always leading the six text-suite tasks scored 76.4 (74.2 with the
# hidden layer of 16 and share 1), simulated four-class topics with keyword
# lists 65.6, six-class short texts 83.4 and long texts 69.3; with the choice
# 76.5, 71.7, 83.8 and 70.6. The weak rows' lead at share 1 and a tenth of
# the rate scored 76.6, 72.7, 82.7 and 69.3, and 1 point less on a new user's
# MR rules. A plain comparison of the two accuracies, without the test, let
# the weak rows (share 1) lead on Yoruba with 50 gold rows: 50.7 against 60.1
# with the test, which keeps the gold rows leading there. The hidden layer of
# 16 stays where nothing joins: there a linear model trained end to end lost
# 1.4 points on average (IMDB-narrow 75.8 -> 69.2).
GOLD_LED = dict(share=10.0, lr_factor=1.0)
WEAK_LED = dict(share=3.0, lr_factor=1 / 3)
GENTLE = dict(share=1.0, lr_factor=0.1)

#: The resolved join: the gold rows' share (0.0: they do not join), the
#: factor of ``lr_`` for ``validation_lr="auto"``, the hidden widths it
#: imposes on ``hidden_layer_sizes="auto"`` (None: none), and whether the
#: share and rate are chosen after training (:func:`choose_join`).
Join = namedtuple("Join", ["share", "lr_factor", "hidden", "choose"])


def resolve_join(estimator, sparse, joinable):
    """The ``"auto"`` join of a WeaSELClassifier's settings, before training.

    The choice between the gold-led and the weak-led join was measured with
    the linear model, so they come together: a scipy.sparse ``X`` and the
    default network (``hidden_layer_sizes="auto"``, no ``module``).
    Elsewhere the gold rows join at share 1 and a tenth of the rate.
    ``joinable`` is False without validation data and on dask input (the
    join needs the training rows in memory). Where the join is chosen after
    training the share and rate are the gold-led ones until then.

    >>> from types import SimpleNamespace
    >>> user = SimpleNamespace(module=None, hidden_layer_sizes="auto",
    ...                        validation_weight="auto")
    >>> resolve_join(user, sparse=True, joinable=True)
    Join(share=10.0, lr_factor=1.0, hidden=(), choose=True)
    >>> resolve_join(user, sparse=False, joinable=True)
    Join(share=1.0, lr_factor=0.1, hidden=None, choose=False)
    >>> resolve_join(user, sparse=True, joinable=False)
    Join(share=0.0, lr_factor=1.0, hidden=None, choose=False)
    """
    default_network = (
        estimator.module is None
        and isinstance(estimator.hidden_layer_sizes, str)  # "auto", not an array
    )
    strong = sparse and default_network
    auto = GOLD_LED if strong else GENTLE
    share = estimator.validation_weight
    choose = strong and joinable and share == "auto"
    share = auto["share"] if share == "auto" else float(share)
    share = share if joinable else 0.0
    return Join(share, auto["lr_factor"], () if strong and share > 0 else None, choose)


#: One-sided 5 % level of a standard normal: the weak rows lead only when
#: the gold rows show, at that level, that they teach less on their own.
WEAK_LEAD_Z = 1.645


def choose_join(z):
    """The join that the gold rows' own accuracy calls for.

    ``z``: the paired z statistic of the weakly trained model's accuracy on
    the gold rows minus that of a model trained on the gold rows alone (by
    cross-validation). The gold rows lead the join unless they are
    significantly worse teachers than the weak labels were (``z >
    WEAK_LEAD_Z``); the weak rows then lead: the gold rows join at 3 times
    the weak rows' weight and a third of the learning rate. A few dozen
    gold rows rarely make a difference significant, so they keep leading,
    as they were measured to do best on the text suite; fewer than 4 (or a
    single class) cannot be judged at all (``z`` is +inf) and do not lead.

    >>> choose_join(0.8)
    {'share': 10.0, 'lr_factor': 1.0}
    >>> choose_join(4.2)
    {'share': 3.0, 'lr_factor': 0.3333333333333333}
    """
    return dict(WEAK_LED if z > WEAK_LEAD_Z else GOLD_LED)
