"""Option lists of WeaSELClassifier, declared once and free of torch.

The estimator validates its parameters against these tuples without
importing torch; the torch modules import them from here too.
"""

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
