"""onnxruntime on ffbp's exported model, inference only (needs ``ffbp.export_onnx``)."""

from __future__ import annotations

import os
import tempfile

import numpy as np

import ffbp

from . import bench_ffbp
from .machine import blas_threads

if not hasattr(ffbp, "export_onnx"):       # run.py reports the message and skips onnxruntime
    raise ImportError("ffbp.export_onnx not available")

import onnxruntime  # noqa: E402  (only worth importing when there is something to run)

VERSION = f"{onnxruntime.__version__}, {blas_threads()} threads"


def predictor(X, y):
    """Class decisions (argmax of the outputs) of ffbp's exported classifier on all of X."""
    net = bench_ffbp.classifier()
    bench_ffbp._trainer(net, X[:2048], y[:2048], "cross_entropy", 128)()
    path = os.path.join(tempfile.mkdtemp(), "bench.onnx")
    ffbp.export_onnx(net, path)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = blas_threads()          # as many threads as NumPy's BLAS
    session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda: np.argmax(session.run(None, {name: X})[0], axis=1)
