"""Gold validation rows joining WeaSEL's downstream network after training.

WeaSEL's paper uses the gold validation rows to pick the best epoch only.
A few hundred clean labels can teach the network more than that: after the
end-to-end training (best epoch restored), the downstream network is
trained a little further on its weak rows, whose targets are the trained
encoder's probabilistic labels, together with the gold rows and their
labels. The weak rows then act as a prior that keeps a few hundred gold
rows from being memorised. On the text suite in ``benchmarks/`` (three
seeds, sparse TF-IDF, the sparse ``"auto"`` settings) the mean test
accuracy is 76.4 % with the gold rows joined, 70.3 % without gold rows
(Yoruba, whose weak labels are 52 % accurate: 68.8 % and 47.1 %), and the
result beats logistic regression on the gold rows alone on five of six
tasks. This module imports torch.
"""

import torch

from ..utils._rows import weighted_rows
from ._training import accepts_sparse, feature_rows, predict_in_chunks

__all__ = ["JOIN_EPOCHS", "join_gold_rows"]

# A short continuation: the network is already trained, and the gold rows are
# few. Tried on four text-suite tasks (seed 0, hidden layer of 16), with the
# gold rows' share at 0.3 and 1: 5 or 20 epochs at the training learning
# rate, and 10 at a tenth of it; 10 epochs was best on average. The
# learning rate and the share are the caller's (WeaSELClassifier resolves
# them by the type of X).
JOIN_EPOCHS = 10


def _encoder_targets(module, X, L):
    """The trained encoder's probabilistic labels of the training rows."""
    param = next(module.parameters())

    def proba(Xb, Lb):
        return torch.softmax(module.encoder_logits(Xb, Lb), dim=1)

    return predict_in_chunks(
        proba, X, param.dtype, param.device, L=L, sparse=accepts_sparse(module.encoder)
    )


def join_gold_rows(module, X, L, X_gold, y_gold, *, fraction, lr, weight_decay,
                   batch_size, seed):
    """Train ``module.downstream`` further on weak rows plus weighted gold rows.

    Parameters
    ----------
    module : WeaSELModule
        The trained module; its downstream network is updated in place.
    X, L : features and encoded votes of the training rows
    X_gold, y_gold : features and class codes of the gold rows
    fraction : float
        Total weight of the gold rows over that of the weak rows.
    lr, weight_decay : float
        Adam settings of the join.
    batch_size : int
    seed : int
        Seeds the order of the rows.
    """
    was_training = module.training
    module.eval()
    try:
        targets = _encoder_targets(module, X, L)
    finally:
        module.train(was_training)
    features, targets, weight = weighted_rows(X, targets, None, X_gold, y_gold, fraction)

    downstream = module.downstream
    param = next(downstream.parameters())
    dtype, device = param.dtype, param.device
    sparse = accepts_sparse(downstream)
    targets = torch.as_tensor(targets, dtype=dtype, device=device)
    weight = torch.as_tensor(weight, dtype=dtype, device=device)
    optimizer = torch.optim.Adam(
        downstream.parameters(), lr=lr, weight_decay=weight_decay
    )
    generator = torch.Generator().manual_seed(seed)
    n_rows = len(targets)
    downstream.train()
    for _ in range(JOIN_EPOCHS):
        order = torch.randperm(n_rows, generator=generator)
        for start in range(0, n_rows, batch_size):
            rows = order[start:start + batch_size]
            logits = downstream(
                feature_rows(features, rows.numpy(), dtype, device, sparse)
            )
            rows = rows.to(device)
            batch_weight = weight[rows]
            log_proba = torch.log_softmax(logits, dim=1)
            loss = -(batch_weight * (targets[rows] * log_proba).sum(1)).sum()
            optimizer.zero_grad()
            (loss / batch_weight.sum()).backward()
            optimizer.step()
    module.train(was_training)
