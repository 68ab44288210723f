"""ffbp: feed-forward neural networks trained by back-propagation, every step explicit.

    import ffbp
    net = ffbp.Network([ffbp.Dense(64, 32), ffbp.ReLU(), ffbp.Dense(32, 10), ffbp.Softmax()])
    history = net.fit(X, y, loss="cross_entropy", optimizer=ffbp.optim.gd(0.1), epochs=20)
    ffbp.gradcheck(net, "cross_entropy", X[:5], y[:5])
"""

from . import data, errors, init, losses, optim
from ._version import __version__
from .callbacks import Callback, EarlyStopping, LambdaCallback
from .diagnostics import GradientHealth, GradientHealthWarning
from .errors import (
    ConfigError,
    ConvergenceWarning,
    DataError,
    ModelFileWarning,
    NotFittedError,
    ShapeError,
)
from .explain import Explanation, explain
from .gradcheck import GradcheckReport, gradcheck
from .history import History
from .io import ModelFileError, load, save
from .layers import (
    ELU,
    Activation,
    BatchNorm,
    Dense,
    Dropout,
    Identity,
    Layer,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Step,
    Tanh,
)
from .mlp import mlp
from .network import Network
from .onnx import export_onnx
from .parameter import Parameter
from .perceptron import Perceptron
from .tabular import TableModel, TableWarning, fit_table
from .training import DivergenceError, TrainingInterrupted, fit

__all__ = [
    "explain", "Explanation", "GradientHealth", "GradientHealthWarning",
    "Network", "mlp", "Parameter", "Layer", "Dense", "Activation", "Identity", "Step",
    "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "Softmax", "LogSoftmax", "BatchNorm",
    "Dropout", "Perceptron", "gradcheck", "GradcheckReport", "fit", "History", "Callback",
    "EarlyStopping", "LambdaCallback", "DivergenceError", "TrainingInterrupted", "losses",
    "optim", "init", "errors", "data", "ConfigError", "DataError", "ShapeError",
    "NotFittedError", "ConvergenceWarning", "save", "load", "ModelFileError",
    "ModelFileWarning", "export_onnx", "TableModel", "TableWarning", "fit_table",
    "__version__",
]
