"""Construction of WeaSEL's two networks (torch is passed in, not imported).

The estimator builds the downstream network and the encoder from a class,
an instance or its defaults, checks their output shapes on two rows before
training, and makes the default encoder start as a soft majority vote.
"""

import copy
import inspect
from dataclasses import dataclass
from numbers import Integral

import numpy as np


__all__ = [
    "ModuleSpec",
    "build_network",
    "build_weasel_module",
    "check_hidden_sizes",
    "check_joint_module",
    "check_network_output",
    "reset_parameters",
    "zero_output_layer",
]


def check_hidden_sizes(sizes, name):
    """Return ``sizes`` as a tuple of positive ints, or raise a ValueError."""
    sizes = tuple(np.asarray(sizes).ravel().tolist()) if len(sizes) else ()
    if any(not isinstance(h, Integral) or isinstance(h, bool) or h < 1 for h in sizes):
        raise ValueError(f"{name} must hold positive integers; got {tuple(sizes)!r}.")
    return sizes


def reset_parameters(module):
    """Re-initialise every submodule that has ``reset_parameters``."""
    for submodule in module.modules():
        reset = getattr(submodule, "reset_parameters", None)
        if callable(reset):
            reset()


def zero_output_layer(network, torch):
    """Zero the weights and bias of the last ``Linear`` layer of ``network``.

    The encoder then outputs 0 for every source whatever its input, so the
    accuracies start uniform over the voters and the encoder's labels start
    as a soft majority vote (the paper's Table 4: an untrained encoder
    behaves like majority vote; here it *is* one, on every seed). The
    gradient of the last layer is not zero, so training moves it at once.
    """
    last = None
    for submodule in network.modules():
        if isinstance(submodule, torch.nn.Linear):
            last = submodule
    if last is not None:
        with torch.no_grad():
            last.weight.zero_()
            if last.bias is not None:
                last.bias.zero_()


def build_network(spec, params, n_in, n_out, default, name, torch):
    """Instantiate a network from a class, an instance or the default.

    Parameters
    ----------
    spec : None, torch.nn.Module subclass or instance
        The user's ``module`` or ``encoder`` parameter.
    params : dict or None
        Keyword arguments of a class ``spec``.
    n_in, n_out : int
        Input and output widths, passed as ``n_features_in`` and
        ``n_outputs`` when the class accepts them.
    default : callable
        Builds the default network (used when ``spec`` is None).
    name : str
        Parameter name, for messages.
    torch : module
        The torch module (imported by the caller).

    Returns
    -------
    network : torch.nn.Module
        A new network; an instance ``spec`` is deep-copied and
        re-initialised so that ``random_state`` controls its weights.
    """
    nn = torch.nn
    if spec is None:
        if params is not None:
            raise ValueError(
                f"{name}_params is only used with a {name} class; the default "
                f"{name} is configured by its own parameters."
            )
        return default()
    if isinstance(spec, type) and issubclass(spec, nn.Module):
        kwargs = dict(params or {})
        try:
            signature = inspect.signature(spec.__init__).parameters
        except (TypeError, ValueError):  # pragma: no cover - builtins
            signature = {}
        accepts_any = any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.values()
        )
        for key, value in (("n_features_in", n_in), ("n_outputs", n_out)):
            if key not in kwargs and (key in signature or accepts_any):
                kwargs[key] = value
        return spec(**kwargs)
    if isinstance(spec, nn.Module):
        if params is not None:
            raise ValueError(
                f"{name}_params is only used with a {name} class, not with an "
                "instance."
            )
        network = copy.deepcopy(spec)
        reset_parameters(network)
        return network
    raise TypeError(
        f"{name} must be a torch.nn.Module subclass or instance (or None); "
        f"got {spec!r}."
    )


def check_network_output(network, inputs, n_out, name, torch):
    """Run ``network`` on a small batch and check its output shape."""
    was_training = network.training
    network.eval()
    try:
        with torch.no_grad():
            out = network(inputs)
    except Exception as exc:
        raise ValueError(
            f"The {name} failed on a batch of shape {tuple(inputs.shape)}: {exc}"
        ) from exc
    finally:
        network.train(was_training)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (
        inputs.shape[0],
        n_out,
    ):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out)
        raise ValueError(
            f"The {name} must return a tensor of shape (batch, {n_out}); got "
            f"{shape} for an input of shape {tuple(inputs.shape)}."
        )


def check_joint_module(module, probe_X, probe_L, encoder_out, dtype, torch):
    """Run both networks of a WeaSEL module on two training rows.

    A wrong custom network fails here with a message naming it, before
    training starts, instead of with a shape error inside the loss.
    ``probe_X`` and ``probe_L`` are tensors of the first training rows
    (features and encoded votes) on the module's device.
    """
    check_network_output(module.downstream, probe_X, module.n_classes, "module", torch)
    probe_lam = module.vote_onehot(probe_L, dtype)
    check_network_output(
        module.encoder,
        module.encoder_input(probe_X, probe_L, probe_lam),
        encoder_out,
        "encoder",
        torch,
    )


@dataclass(frozen=True)
class ModuleSpec:
    """What builds WeaSEL's joint module: the resolved network options.

    The estimator resolves its parameters (``"auto"`` values, the class
    count, ``tau2``) into one of these; :func:`build_weasel_module` needs
    nothing else, so the networks can be built without the estimator.
    """

    n_classes: int
    module: object = None
    module_params: dict = None
    hidden: tuple = (50, 50, 25)
    dropout: float = 0.3
    encoder: object = None
    encoder_params: dict = None
    encoder_hidden: tuple = (70, 70)
    encoder_dropout: float = 0.3
    encoder_batchnorm: bool = True
    zero_encoder_output: bool = False
    class_conditional: bool = False
    tau1: float = 1.0
    tau2: float = 1.0
    accuracy: str = "softmax"
    accuracy_support: str = "voters"
    lf_encoding: str = "onehot"
    encoder_uses_features: bool = True
    log_prior: object = None


def build_weasel_module(spec, n_features, n_sources, probe, dtype, device, torch):
    """The joint WeaSEL module described by a :class:`ModuleSpec`, checked.

    Builds the downstream network and the encoder (``module``/``encoder``
    or the default MLPs), zeroes the default encoder's output layer when
    ``spec.zero_encoder_output`` (``encoder_init="majority_vote"``), wraps
    both in a :class:`WeaSELModule` on ``device`` and runs them on the two
    ``probe`` rows, a ``(features, votes)`` pair of tensors on ``device``
    (:func:`check_joint_module`).
    """
    from ._modules import MLP, WeaSELModule

    n_classes = spec.n_classes
    vote_width = n_sources * n_classes if spec.lf_encoding == "onehot" else n_sources
    encoder_in = vote_width + (n_features if spec.encoder_uses_features else 0)
    encoder_out = n_sources * n_classes if spec.class_conditional else n_sources
    downstream = build_network(
        spec.module,
        spec.module_params,
        n_features,
        n_classes,
        lambda: MLP(n_features, n_classes, spec.hidden, spec.dropout),
        "module",
        torch,
    )
    encoder = build_network(
        spec.encoder,
        spec.encoder_params,
        encoder_in,
        encoder_out,
        lambda: MLP(
            encoder_in,
            encoder_out,
            spec.encoder_hidden,
            spec.encoder_dropout,
            batchnorm=spec.encoder_batchnorm,
            dropout_last_hidden=True,
        ),
        "encoder",
        torch,
    )
    if spec.encoder is None and spec.zero_encoder_output:
        zero_output_layer(encoder, torch)
    module = WeaSELModule(
        encoder,
        downstream,
        n_sources=n_sources,
        n_classes=n_classes,
        class_conditional=spec.class_conditional,
        tau1=spec.tau1,
        tau2=spec.tau2,
        accuracy=spec.accuracy,
        accuracy_support=spec.accuracy_support,
        lf_encoding=spec.lf_encoding,
        encoder_uses_features=spec.encoder_uses_features,
        log_prior=spec.log_prior,
    ).to(device=device, dtype=dtype)
    check_joint_module(module, *probe, encoder_out, dtype, torch)
    return module
