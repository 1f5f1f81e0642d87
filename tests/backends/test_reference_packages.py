"""Our optimizers against the public PyTorch reference implementations.

Skipped, with the reason, when PyTorch or the reference package is missing;
the test extra installs them. Gradients are fixed tensors fed to both sides.

Lookahead has no comparison here: torch-optimizer's version starts the slow
weights from the weights after the first fast step and syncs at steps 1,
k + 1, 2k + 1, ...; ours follows the paper's Algorithm 1 (slow weights start
at the initial weights, first sync after k steps), checked by the golden test.
"""

import importlib.util

import numpy as np
import pytest

import kerasdoctor  # noqa: F401  (chooses the backend)
import keras

from kerasdoctor.optimizers import AdaBelief, Prodigy, RAdam, ScheduleFreeSGD


def _needs(*modules):
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    return pytest.mark.skipif(bool(missing), reason=f"the reference package is not installed: {', '.join(missing)}")


RNG = np.random.default_rng(9)
WEIGHTS = [RNG.normal(size=(4, 3)).astype("float32"), RNG.normal(size=(3,)).astype("float32")]
GRADIENTS = [[RNG.normal(size=w.shape).astype("float32") for w in WEIGHTS] for _ in range(12)]


def _ours(optimizer):
    variables = [keras.Variable(w) for w in WEIGHTS]
    history = []
    for grads in GRADIENTS:
        optimizer.apply([keras.ops.convert_to_tensor(g) for g in grads], variables)
        history.append([keras.ops.convert_to_numpy(v).copy() for v in variables])
    return history


def _theirs(make, prepare=None):
    import torch

    params = [torch.nn.Parameter(torch.tensor(w)) for w in WEIGHTS]
    optimizer = make(params)
    if prepare is not None:
        prepare(optimizer)
    history = []
    for grads in GRADIENTS:
        for p, g in zip(params, grads):
            p.grad = torch.tensor(g)
        optimizer.step()
        history.append([p.detach().numpy().copy() for p in params])
    return history


def _compare(ours, theirs, rtol=1e-5, atol=1e-6):
    for step, (a, b) in enumerate(zip(ours, theirs), start=1):
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=f"step {step}")


@_needs("torch")
def test_radam_matches_torch_optim_radam():
    import torch

    _compare(_ours(RAdam(0.01)), _theirs(lambda p: torch.optim.RAdam(p, lr=0.01)))


@_needs("torch", "torch_optimizer")
def test_adabelief_matches_torch_optimizer():
    import torch_optimizer

    make = lambda p: torch_optimizer.AdaBelief(p, lr=0.01, eps=1e-16, weight_decay=0, amsgrad=False,
                                               weight_decouple=False, fixed_decay=False, rectify=False)
    _compare(_ours(AdaBelief(0.01)), _theirs(make))


@_needs("torch", "schedulefree")
def test_schedule_free_sgd_matches_the_authors_package():
    import schedulefree

    make = lambda p: schedulefree.SGDScheduleFree(p, lr=0.1, momentum=0.9, warmup_steps=0)
    _compare(_ours(ScheduleFreeSGD(0.1)), _theirs(make, prepare=lambda o: o.train()))


@_needs("torch", "prodigyopt")
def test_prodigy_matches_the_authors_package():
    import prodigyopt

    make = lambda p: prodigyopt.Prodigy(p, lr=1.0, betas=(0.9, 0.999), d0=1e-6, weight_decay=0.0,
                                        use_bias_correction=False, safeguard_warmup=False)
    # prodigyopt adds d * eps with the newly estimated d: a 1e-14 difference.
    _compare(_ours(Prodigy()), _theirs(make), rtol=1e-4, atol=1e-6)
