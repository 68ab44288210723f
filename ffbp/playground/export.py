"""Taking a session's network home: the ``.ffbp`` file (``ffbp.save``, read back by
``ffbp.load`` and the ``ffbp`` command) and a short script that rebuilds the same data and
network from the same seed and trains it with ``net.fit``.
"""

from __future__ import annotations

import os
import tempfile

from ..io import save
from .build import INITS_CODE, loss_name


def model_bytes(session) -> bytes:
    """The session's network (weights as they are now, its loss, and in its metadata how
    the inputs were made: the features, or the CSV's columns with their standardisation)
    as the bytes of an ``.ffbp`` file."""
    net = session.network.copy()
    net.loss = session.loss
    d = session.data
    net.metadata = {"playground": {"config": session.config, "inputs": list(d.inputs),
                                   "preprocessing": d.info}}
    with tempfile.TemporaryDirectory(prefix="ffbp-playground-") as tmp:
        path = os.path.join(tmp, "model.ffbp")
        save(net, path)          # ffbp.save writes atomically to a path; read it back
        with open(path, "rb") as fh:
            return fh.read()


def _optimizer_code(c) -> str:
    lr, lam, name = c["learning_rate"], c["reg_rate"], c["optimizer"]
    if c["regularization"] == "l2" and lam > 0:
        return f"ffbp.optim.{name}({lr!r}, weight_decay={lam!r})"
    if c["regularization"] == "l1" and lam > 0:
        return (f"ffbp.optim.chain(ffbp.optim.add_l1_penalty({lam!r}), "
                f"ffbp.optim.{name}({lr!r}))")
    return f"ffbp.optim.{name}({lr!r})"


def script(session) -> str:
    """A runnable script: ``python train.py [EPOCHS]`` (generated data) or
    ``python train.py DATA.csv [EPOCHS]`` (an upload; the file is not embedded)."""
    c, net = session.config, session.network
    upload = c["dataset"] == "upload"
    widths = "-".join(str(w) for w in (net.n_features, *c["hidden"], 1))
    classify = c["problem"] == "classification"
    loss = loss_name(c["problem"])
    hidden_init, output_init = INITS_CODE[c["init"]]
    epochs = max(1, int(round(session.status["epoch"]))) if session.status["steps"] else 100
    head = ['"""Train the network of an ffbp playground session again, from scratch.',
            ""]
    if upload:
        t = session.table
        head += [f"Data: the CSV file given as first argument (the session used "
                 f"{t.target!r} as target),",
                 f"standardised as the playground does; {c['train_ratio']} % for training, "
                 f"seed {c['seed']}.",
                 f"Run:  python train.py [DATA.csv [EPOCHS]]   (DATA.csv: "
                 f"{session.upload_name} by default)"]
    else:
        head += [f"Data: {c['dataset']} ({c['n_points']} points, noise {c['noise']} %, "
                 f"{c['train_ratio']} % for training, seed {c['seed']}); inputs "
                 f"{', '.join(c['features'])}.", "Run:  python train.py [EPOCHS]"]
    head += [f"Network: {widths}, {c['activation']}, "
             f"{'sigmoid output' if classify else 'linear output'}, {loss}; "
             f"{c['optimizer']} α = {c['learning_rate']}, batch {c['batch_size']}.",
             '"""', "import sys", "", "import ffbp"]
    if upload:
        body = ["from ffbp.playground import data, upload", "",
                f"path = sys.argv[1] if len(sys.argv) > 1 else {session.upload_name!r}",
                f"EPOCHS = int(sys.argv[2]) if len(sys.argv) > 2 else {epochs}", "",
                "try:",
                "    with open(path, 'rb') as fh:",
                f"        table = upload.read_csv(fh.read(), "
                f"target={session.table.target!r})",
                "except OSError as exc:      # the CSV is not in the script: say which",
                "    sys.exit(f'{path}: {exc.strerror}; run: python train.py DATA.csv "
                "[EPOCHS]')",
                "# z = (x − mean) / std with the training rows' mean and std, as the page",
                f"d = data.uploaded(table, {{'train_ratio': {c['train_ratio']!r}, "
                f"'seed': {c['seed']}, 'problem': {c['problem']!r}, 'x_feature': 0, "
                f"'y_feature': 1}})",
                "X_train, t_train, X_test, t_test = d.X_train, d.t_train, d.X_test, d.t_test"]
    else:
        body = ["from ffbp.playground import datasets, features", "",
                f"EPOCHS = int(sys.argv[1]) if len(sys.argv) > 1 else {epochs}", "",
                f"d = datasets.make({c['dataset']!r}, n_points={c['n_points']}, "
                f"noise={c['noise']!r}, train_ratio={c['train_ratio']!r}, seed={c['seed']})",
                f"names = {c['features']!r}",
                "X_train, t_train = features.compute(names, d.X_train), d.t_train",
                "X_test, t_test = features.compute(names, d.X_test), d.t_test"]
    output = "ffbp.Sigmoid" if classify else "None"
    body += ["",
             f"net = ffbp.mlp({net.n_features}, {tuple(c['hidden'])!r}, 1, "
             f"activation={c['activation']!r}, output={output},",
             f"               init={hidden_init}, output_init={output_init}, "
             f"seed={c['seed']}, dtype='float64')",
             f"optimizer = {_optimizer_code(c)}",
             f"history = net.fit(X_train, t_train, loss={loss!r}, optimizer=optimizer, "
             f"epochs=EPOCHS,",
             f"                  batch_size={c['batch_size']}, seed={c['seed']}, "
             f"verbose=False)",
             f"test = ffbp.losses.get({loss!r})(net.outputs(X_test), t_test[:, None])",
             "print(f'epochs {EPOCHS}: train loss {history.loss[-1]:.4f}, test loss "
             "{test:.4f}')",
             "ffbp.save(net, 'model.ffbp')", ""]
    return "\n".join(head + body)

