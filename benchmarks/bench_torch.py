"""PyTorch CPU reference: the same network and optimiser in float32, an idiomatic fast loop
(one shuffle of the tensors per epoch, slices as batches, no DataLoader), as many threads as
NumPy's BLAS uses."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .machine import blas_threads
from .workload import LEARNING_RATE, MNIST_WIDTHS, TABULAR_WIDTHS

torch.set_num_threads(blas_threads())
VERSION = f"{torch.__version__}, {torch.get_num_threads()} threads"


def _mlp(widths):
    layers = []
    for a, b in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])      # logits / values out: the loss does the rest


def _trainer(model, X, y, loss_fn, batch_size):
    X, y = torch.from_numpy(X), torch.from_numpy(y)
    # The default Adam, as most code uses it (fused=True ran ~20% faster at batch 32 and no
    # faster at 128 / 1024 in one noisy test on this machine).
    opt = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    gen = torch.Generator().manual_seed(0)
    n = len(X)

    def epoch():
        perm = torch.randperm(n, generator=gen)
        Xs, ys = X[perm], y[perm]
        for start in range(0, n, batch_size):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xs[start:start + batch_size]), ys[start:start + batch_size])
            loss.backward()
            opt.step()
    return epoch


def classifier_epoch(X, y, batch_size):
    torch.manual_seed(0)
    return _trainer(_mlp(MNIST_WIDTHS), X, y.astype("int64"), F.cross_entropy, batch_size)


def regressor_epoch(X, y, batch_size):
    torch.manual_seed(0)
    return _trainer(_mlp(TABULAR_WIDTHS), X, y.reshape(-1, 1), F.mse_loss, batch_size)


def predictor(X, y):
    """Class decisions (argmax of the logits) for all of X in inference mode."""
    torch.manual_seed(0)
    model = _mlp(MNIST_WIDTHS).eval()

    def predict():
        with torch.inference_mode():
            return model(torch.from_numpy(X)).argmax(1).numpy()
    return predict
