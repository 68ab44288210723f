"""How an ``Explanation`` prints: plain text, Markdown, LaTeX and a JSON-able dict.

Kept apart from ``explain.py`` so that the arithmetic there stays short and readable."""

from __future__ import annotations

import numpy as np

#: Rows of a δ table shown in text, Markdown and LaTeX (``to_dict`` keeps every unit).
MAX_ROWS = 8
#: Paths of Equation A written out (the sum always covers all of them).
MAX_SHOWN_PATHS = 20


def _f(v, digits=6) -> str:
    return f"{float(v) + 0.0:.{digits}g}"      # + 0.0 turns −0 into 0


def _vec(a) -> str:
    a = np.asarray(a)
    body = ", ".join(_f(v, 4) for v in a[:MAX_ROWS])
    return f"[{body}{', …' if a.size > MAX_ROWS else ''}]"


def _rows(stage, keep):
    """Units shown for a stage: the first MAX_ROWS, plus ``keep`` (the unit j explained)."""
    n = len(stage.delta)
    units = list(range(min(n, MAX_ROWS)))
    if keep is not None and keep not in units:
        units.append(keep)
    return units, n - len(units)


def output_rule(loss, fused, out) -> str:
    """How the output layer's δ is formed, in words and symbols."""
    if fused:
        k = len(out.delta)
        return ("δ_k = y_k − t_k (softmax meets cross-entropy)" if loss.fused_with.__name__ ==
                "Softmax" else f"δ_k = (y_k − t_k){'' if k == 1 else f' / {k}'} "
                "(sigmoid meets binary cross-entropy)")
    if not out.block:
        return "δ_k = ∂E/∂y_k (linear output: Φ' = 1)"
    if out.diagonal:
        return "δ_k = ∂E/∂y_k · Φ'(h'_k)"
    return "δ = Jᵀ ∂E/∂y (the output layer's Jacobian J = ∂y/∂h'; not element-wise)"


def _table(expl, stage, position):
    """(title, rule, header, rows, hidden count) of one stage's δ table."""
    k = stage.number
    keep = expl.j if position == 0 else None
    units, hidden = _rows(stage, keep)
    if stage is expl.stages[-1]:
        title = f"layer {k} (output, {stage.dense}{' → ' if stage.block else ''}"
        title += " → ".join(stage.block) + ")"
        rule = expl.output_rule
        if expl.fused:
            header = ["k", "y_k", "t_k", "δ_k"]
            rows = [[m, expl.y[m], expl.t[m], stage.delta[m]] for m in units]
        elif stage.diagonal:
            header = ["k", "h'_k", "y_k", "∂E/∂y_k", "Φ'_k", "δ_k"]
            rows = [[m, stage.h_pre[m], stage.h[m], stage.grad_output[m],
                     stage.jacobian[m, m], stage.delta[m]] for m in units]
        else:
            header = ["k", "h'_k", "y_k", "∂E/∂y_k", "δ_k"]
            rows = [[m, stage.h_pre[m], stage.h[m], stage.grad_output[m], stage.delta[m]]
                    for m in units]
        return title, rule, header, rows, hidden
    title = f"layer {k} (hidden, {stage.dense} → {' → '.join(stage.block) or 'no Φ'})"
    if stage.diagonal:
        rule = f"δ_j = Φ'(h'_j) Σ_m W{_sup(k + 1)}_jm δ{_sup(k + 1)}_m"
        header = ["j", "h'_j", "h_j", "Φ'_j", "Σ_m W_jm δ_m", "δ_j"]
        rows = [[m, stage.h_pre[m], stage.h[m], stage.jacobian[m, m], stage.grad_output[m],
                 stage.delta[m]] for m in units]
    else:
        rule = f"δ = Jᵀ (W{_sup(k + 1)} δ{_sup(k + 1)}), J = ∂h/∂h' (not element-wise)"
        header = ["j", "h'_j", "h_j", "Σ_m W_jm δ_m", "δ_j"]
        rows = [[m, stage.h_pre[m], stage.h[m], stage.grad_output[m], stage.delta[m]]
                for m in units]
    return title, rule, header, rows, hidden


_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def sup(n: int) -> str:
    """The tutorials' layer superscript: 2 → ², as in W²."""
    return str(n).translate(_SUPERSCRIPTS)


_sup = sup


def _chain(expl):
    """The chain-rule lines: symbolic, then with numbers."""
    st, j = expl.stages[0], expl.j
    x = "1" if expl.bias else f"x[{expl.i}]"
    lines = [f"∂E/∂{expl.symbol} = δ{_sup(st.number)}[{j}] · {x} = {_f(expl.delta_j)} × "
             f"{_f(expl.x_i)} = {_f(expl.gradient, 10)}"]
    if len(expl.stages) > 1 and st.diagonal:
        k, up = _sup(st.number), _sup(st.number + 1)
        lines.append(f"  where δ{k}[{j}] = Φ'{k}[{j}] · Σ_m W{up}[{j},m] δ{up}[m] = "
                     f"{_f(st.jacobian[j, j])} × {_f(st.grad_output[j])}")
    return lines


def _path_lines(expl):
    if expl.paths is None:
        if expl.notes:
            return list(expl.notes)
        return [f"{expl.path_count:,} paths from {expl.symbol} to the output: too many to "
                "list; the δ recursion above sums them one layer at a time"]
    lines = [f"Equation A (tutorial 004): ∂E/∂{expl.symbol} is the sum over the "
             f"{expl.path_count} path(s) from it to the output (units by index from 0, as "
             f"in W[i, j])"]
    for p in expl.paths[:MAX_SHOWN_PATHS]:
        route = " → ".join(f"[{u}]" for u in p.units)
        names = " · ".join(name for name, _ in p.factors)
        values = " × ".join(_f(v, 4) for _, v in p.factors)
        lines.append(f"  path {route}: {names}")
        lines.append(f"    = {values} = {_f(p.product)}")
    if len(expl.paths) > MAX_SHOWN_PATHS:
        lines.append(f"  … {len(expl.paths) - MAX_SHOWN_PATHS} more (expl.paths has them all)")
    lines.append(f"  sum over paths = {_f(expl.path_sum, 10)}")
    return lines


def _check_lines(expl):
    lines = [f"chain-rule product         {expl.gradient: .10e}",
             f"back-propagation (ffbp)    {expl.backprop: .10e}",
             f"finite differences (f64)   {expl.numeric: .10e}   "
             f"(|difference| {abs(expl.numeric - expl.gradient):.1e})"]
    if expl.update is not None:
        lines.append(f"update with α = {_f(expl.lr)}: Δ = −α ∂E/∂{expl.symbol} = "
                     f"{_f(expl.update)};  {expl.symbol}: {_f(expl.value)} → "
                     f"{_f(expl.value + expl.update)}")
    return lines


def to_text(expl) -> str:
    st = expl.stages[0]
    out = [f"∂E/∂{expl.symbol}  ({expl.parameter}) for one sample",
           f"loss {expl.loss_name}: E = {_f(expl.E)}", "",
           f"forward through layer {st.number} ({st.dense} → {' → '.join(st.block) or '-'}):",
           f"  x  = {_vec(st.x)}   (the input of this layer)",
           f"  h' = {'x W' if 'bias=False' in st.dense else 'x W + b'} = {_vec(st.h_pre)}",
           f"  h  = Φ(h') = {_vec(st.h)}", "",
           "back-propagation, right to left (δ = ∂E/∂h'):"]
    for pos in range(len(expl.stages) - 1, -1, -1):
        title, rule, header, rows, hidden = _table(expl, expl.stages[pos], pos)
        out += [f"  {title}: {rule}", "    " + "".join(h.rjust(14) for h in header)]
        for r in rows:
            out.append("    " + str(r[0]).rjust(14) + "".join(_f(v).rjust(14) for v in r[1:]))
        if hidden:
            out.append(f"    … {hidden} more unit(s)")
    out += [""] + _chain(expl) + [""] + _path_lines(expl) + [""] + _check_lines(expl)
    return "\n".join(out)


def to_markdown(expl) -> str:
    out = [f"### ∂E/∂{expl.symbol} (`{expl.parameter}`) for one sample", "",
           f"Loss `{expl.loss_name}`: E = {_f(expl.E)}. δ = ∂E/∂h', right to left.", ""]
    for pos in range(len(expl.stages) - 1, -1, -1):
        title, rule, header, rows, hidden = _table(expl, expl.stages[pos], pos)
        out += [f"**{title}**: `{rule}`", "", "| " + " | ".join(header) + " |",
                "|" + "---:|" * len(header)]
        out += ["| " + " | ".join([str(r[0])] + [_f(v) for v in r[1:]]) + " |" for r in rows]
        out += ([f"\n… {hidden} more unit(s)"] if hidden else []) + [""]
    out += ["```"] + _chain(expl) + ["", *_path_lines(expl), ""] + _check_lines(expl) + ["```"]
    return "\n".join(out)


def _tex_symbol(expl):
    k = expl.stages[0].number
    return f"b^{{{k}}}_{{{expl.j}}}" if expl.bias else f"W^{{{k}}}_{{{expl.i},{expl.j}}}"


def to_latex(expl) -> str:
    st, j, k = expl.stages[0], expl.j, expl.stages[0].number
    sym = _tex_symbol(expl)
    x = "1" if expl.bias else f"x_{{{expl.i}}}"
    lines = [f"% ffbp.explain: {expl.parameter}, loss {expl.loss_name}", r"\begin{align*}",
             rf"E &= {_f(expl.E)} \\"]
    out_stage = expl.stages[-1]
    L = out_stage.number
    if expl.fused:
        lines.append(rf"\delta^{{{L}}}_k &= y_k - t_k \quad\text{{(fused output)}} \\")
    elif out_stage.diagonal:
        lines.append(rf"\delta^{{{L}}}_k &= \frac{{\partial E}}{{\partial y_k}}\,"
                     rf"\Phi'(h'^{{{L}}}_k) \\")
    else:
        lines.append(rf"\delta^{{{L}}} &= J^\top \frac{{\partial E}}{{\partial y}} \\")
    if len(expl.stages) > 1 and st.diagonal:
        lines.append(rf"\delta^{{{k}}}_{{{j}}} &= \Phi'(h'^{{{k}}}_{{{j}}}) \sum_m "
                     rf"W^{{{k + 1}}}_{{{j},m}}\,\delta^{{{k + 1}}}_m = {_f(st.jacobian[j, j])}"
                     rf" \times {_f(st.grad_output[j])} = {_f(expl.delta_j)} \\")
    lines.append(rf"\frac{{\partial E}}{{\partial {sym}}} &= \delta^{{{k}}}_{{{j}}}\,{x} = "
                 rf"{_f(expl.delta_j)} \times {_f(expl.x_i)} = {_f(expl.gradient, 10)} \\")
    if expl.paths is not None and len(expl.paths) > 1:
        lines.append(rf"&= \sum_{{\text{{{expl.path_count} paths}}}} \prod \text{{factors}}"
                     rf" = {_f(expl.path_sum, 10)} \\")
    lines.append(rf"\text{{finite differences}} &= {_f(expl.numeric, 10)}"
                 + (r" \\" if expl.update is not None else ""))
    if expl.update is not None:
        lines.append(rf"\Delta {sym} &= -\alpha \frac{{\partial E}}{{\partial {sym}}} = "
                     rf"-{_f(expl.lr)} \times {_f(expl.gradient)} = {_f(expl.update)}")
    lines.append(r"\end{align*}")
    for pos in range(len(expl.stages) - 1, -1, -1):
        title, _, header, rows, _ = _table(expl, expl.stages[pos], pos)
        cols = "r" * len(header)
        lines += [f"% {title}", rf"\begin{{tabular}}{{{cols}}}",
                  " & ".join(f"${_tex(h)}$" for h in header) + r" \\ \hline"]
        lines += [" & ".join([str(r[0])] + [_f(v) for v in r[1:]]) + r" \\" for r in rows]
        lines.append(r"\end{tabular}")
    return "\n".join(lines)


def _tex(header: str) -> str:
    return (header.replace("∂E/∂", r"\partial E/\partial ").replace("Φ'", r"\Phi'")
            .replace("δ", r"\delta").replace("Σ_m", r"\sum_m "))


def to_dict(expl) -> dict:
    def arr(a):
        return None if a is None else np.asarray(a, dtype=float).tolist()

    stages = [{"layer": st.number, "index": st.index, "dense": st.dense, "block": st.block,
               "x": arr(st.x), "h_pre": arr(st.h_pre), "h": arr(st.h),
               "phi_prime": arr(st.phi_prime) if st.diagonal else None,
               "jacobian": arr(st.jacobian), "grad_output": arr(st.grad_output),
               "delta": arr(st.delta)} for st in expl.stages]
    paths = None if expl.paths is None else [
        {"units": list(p.units), "factors": [[n, v] for n, v in p.factors],
         "product": p.product} for p in expl.paths]
    keys = ("parameter", "symbol", "bias", "i", "j", "loss_name", "E", "value", "x_i",
            "fused", "output_rule", "gradient", "backprop", "numeric", "path_count",
            "path_sum", "lr", "update", "notes")
    return {**{key: getattr(expl, key) for key in keys}, "delta_j": expl.delta_j,
            "y": arr(expl.y), "t": arr(expl.t), "stages": stages, "paths": paths}
