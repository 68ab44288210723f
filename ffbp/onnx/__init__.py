"""ONNX export: a trained network, or the whole model of ``ffbp train``, as a standard ONNX
graph for inference anywhere.

``export_onnx(net, "model.onnx")`` writes

* for a plain network, its inference function ``net.forward(X)`` (``layers.py``: one
  mapping per layer type, standard operators only): input ``input`` (N, n_features), output
  ``output`` (N, n_outputs), in the network's dtype;
* for a model written by ``ffbp train`` (its metadata holds the preprocessing), the whole
  model (``table.py``): the raw table columns in, by name, the stored imputation,
  standardisation and one-hot encoding, the network, and the predictions in the target's own
  units out (``prediction``; classifiers also ``probabilities``), as ``ffbp predict`` gives
  them. ``preprocessing=False`` exports its network alone.

``export.py`` assembles, checks (``onnx.checker``, full check) and writes the model
atomically. onnx is an optional dependency (``pip install "ffbp[onnx]"``), imported only
inside the functions that need it, so ``import ffbp`` never does.
"""

from .export import DEFAULT_OPSET, MIN_OPSET, check_export, export_onnx, to_onnx_model
from .layers import SUPPORTED_LAYERS, check_exportable
from .table import PREDICTION, PROBABILITIES, table_feeds

__all__ = ["DEFAULT_OPSET", "MIN_OPSET", "SUPPORTED_LAYERS", "check_export", "check_exportable",
           "export_onnx", "to_onnx_model", "table_feeds", "PREDICTION", "PROBABILITIES"]
