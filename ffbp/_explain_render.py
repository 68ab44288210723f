"""How an ``Explanation`` prints: plain text, Markdown, LaTeX and a JSON-able dict.

Kept apart from ``explain.py`` so that the arithmetic there stays short and readable."""

from __future__ import annotations

import numpy as np

from ._explain_notation import (
    chain_lines_tutorial,
    decay_lines,
    index_note,
    tex_decay,
    tex_symbol,
    tex_tutorial,
    tutorial_forms,
    tutorial_lines,
)
from ._explain_symbols import (  # noqa: F401  (sup and tutorial_symbol are explain.py's)
    MAX_ROWS,
    MAX_SHOWN_PATHS,
    fmt,
    input_symbol,
    is_tutorial,
    parameter_symbol,
    sub,
    sup,
    sup_number,
    symbol_text,
    tex_symbol_of,
    tutorial_symbol,
    unit_number,
    vec_text,
)


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
        rule = f"δ_j = Φ'(h'_j) Σ_m W{sup_number(k + 1)}_jm δ{sup_number(k + 1)}_m"
        header = ["j", "h'_j", "h_j", "Φ'_j", "Σ_m W_jm δ_m", "δ_j"]
        rows = [[m, stage.h_pre[m], stage.h[m], stage.jacobian[m, m], stage.grad_output[m],
                 stage.delta[m]] for m in units]
    else:
        rule = f"δ = Jᵀ (W{sup_number(k + 1)} δ{sup_number(k + 1)}), J = ∂h/∂h' (not element-wise)"
        header = ["j", "h'_j", "h_j", "Σ_m W_jm δ_m", "δ_j"]
        rows = [[m, stage.h_pre[m], stage.h[m], stage.grad_output[m], stage.delta[m]]
                for m in units]
    return title, rule, header, rows, hidden


def _chain(expl):
    """The chain-rule lines: symbolic, then with numbers."""
    st, j = expl.stages[0], expl.j
    if is_tutorial(expl):
        return chain_lines_tutorial(expl)
    x = "1" if expl.bias else f"x[{expl.i}]"
    lines = [f"∂E/∂{expl.symbol} = δ{sup_number(st.number)}[{j}] · {x} = {fmt(expl.delta_j)} × "
             f"{fmt(expl.x_i)} = {fmt(expl.gradient, 10)}"]
    if len(expl.stages) > 1 and st.diagonal:
        k, up = sup_number(st.number), sup_number(st.number + 1)
        lines.append(f"  where δ{k}[{j}] = Φ'{k}[{j}] · Σ_m W{up}[{j},m] δ{up}[m] = "
                     f"{fmt(st.jacobian[j, j])} × {fmt(st.grad_output[j])}")
    return lines


def _path_lines(expl):
    if is_tutorial(expl) and expl.paths is not None:
        return []           # the monster expression lists them
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
        values = " × ".join(fmt(v, 4) for _, v in p.factors)
        lines.append(f"  path {route}: {names}")
        lines.append(f"    = {values} = {fmt(p.product)}")
    if len(expl.paths) > MAX_SHOWN_PATHS:
        lines.append(f"  … {len(expl.paths) - MAX_SHOWN_PATHS} more (expl.paths has them all)")
    lines.append(f"  sum over paths = {fmt(expl.path_sum, 10)}")
    return lines


def _check_lines(expl):
    lines = [f"chain-rule product         {expl.gradient: .10e}",
             f"back-propagation (ffbp)    {expl.backprop: .10e}",
             f"finite differences (f64)   {expl.numeric: .10e}   "
             f"(|difference| {abs(expl.numeric - expl.gradient):.1e})"]
    if expl.update is not None:
        sym = symbol_text(parameter_symbol(expl)) if is_tutorial(expl) else expl.symbol
        J = "J" if expl.weight_decay and not expl.bias else "E"
        lines.append(f"update with α = {fmt(expl.lr)}: Δ = −α ∂{J}/∂{sym} = "
                     f"{fmt(expl.update)};  {sym}: {fmt(expl.value)} → "
                     f"{fmt(expl.value + expl.update)}")
    return lines


def to_text(expl) -> str:
    st = expl.stages[0]
    head = (f"∂E/∂{tutorial_symbol(expl)}  ({expl.parameter}) for one sample, in the "
            "tutorials' notation" if is_tutorial(expl) else
            f"∂E/∂{expl.symbol}  ({expl.parameter}) for one sample")
    out = [head, *index_note(expl), f"loss {expl.loss_name}: E = {fmt(expl.E)}", "",
           f"forward through layer {st.number} ({st.dense} → {' → '.join(st.block) or '-'}):",
           f"  x  = {vec_text(st.x)}   (the input of this layer)",
           f"  h' = {'x W' if 'bias=False' in st.dense else 'x W + b'} = {vec_text(st.h_pre)}",
           f"  h  = Φ(h') = {vec_text(st.h)}", "",
           "back-propagation, right to left (δ = ∂E/∂h'):"]
    for pos in range(len(expl.stages) - 1, -1, -1):
        title, rule, header, rows, hidden = _table(expl, expl.stages[pos], pos)
        out += [f"  {title}: {rule}", "    " + "".join(h.rjust(14) for h in header)]
        for r in rows:
            out.append("    " + str(unit_number(expl, r[0])).rjust(14)
                       + "".join(fmt(v).rjust(14) for v in r[1:]))
        if hidden:
            out.append(f"    … {hidden} more unit(s)")
    out += [""] + _chain(expl) + [""] + _middle(expl) + _check_lines(expl)
    return "\n".join(out)


def _middle(expl):
    """Between the chain rule and the checks: Equation A's paths (ffbp) or the tutorials'
    forms, and the weight decay term."""
    lines = tutorial_lines(expl) if is_tutorial(expl) else []
    paths = _path_lines(expl)
    lines += paths + ([""] if paths else [])
    decay = decay_lines(expl)
    return lines + decay + ([""] if decay else [])


def to_markdown(expl) -> str:
    sym = tutorial_symbol(expl) if is_tutorial(expl) else expl.symbol
    out = [f"### ∂E/∂{sym} (`{expl.parameter}`) for one sample", "",
           *[f"*{line}.*" for line in index_note(expl)], "" if is_tutorial(expl) else None,
           f"Loss `{expl.loss_name}`: E = {fmt(expl.E)}. δ = ∂E/∂h', right to left.", ""]
    out = [line for line in out if line is not None]
    for pos in range(len(expl.stages) - 1, -1, -1):
        title, rule, header, rows, hidden = _table(expl, expl.stages[pos], pos)
        out += [f"**{title}**: `{rule}`", "", "| " + " | ".join(header) + " |",
                "|" + "---:|" * len(header)]
        out += ["| " + " | ".join([str(unit_number(expl, r[0]))] + [fmt(v) for v in r[1:]]) + " |"
                for r in rows]
        out += ([f"\n… {hidden} more unit(s)"] if hidden else []) + [""]
    out += ["```"] + _chain(expl) + [""] + _middle(expl) + _check_lines(expl) + ["```"]
    return "\n".join(out)


def to_latex(expl) -> str:
    st, j, k = expl.stages[0], expl.j, expl.stages[0].number
    tut = is_tutorial(expl)
    u = j + 1 if tut else j                         # the unit j as printed
    sym = tex_symbol(expl)
    if expl.bias:
        x = "1"
    else:
        x = tex_symbol_of(input_symbol(expl)) if tut else f"x_{{{expl.i}}}"
    lines = [f"% ffbp.explain: {expl.parameter}, loss {expl.loss_name}"]
    lines += [f"% {line}" for line in index_note(expl)]
    rows = [f"E &= {fmt(expl.E)}"]
    out_stage = expl.stages[-1]
    L = out_stage.number
    if expl.fused:
        rows.append(rf"\delta^{{{L}}}_k &= y_k - t_k \quad\text{{(fused output)}}")
    elif out_stage.diagonal:
        rows.append(rf"\delta^{{{L}}}_k &= \frac{{\partial E}}{{\partial y_k}}\,"
                    rf"\Phi'({{h'}}^{{{L}}}_k)")
    else:
        rows.append(rf"\delta^{{{L}}} &= J^\top \frac{{\partial E}}{{\partial y}}")
    if len(expl.stages) > 1 and st.diagonal:
        rows.append(rf"\delta^{{{k}}}_{{{u}}} &= \Phi'({{h'}}^{{{k}}}_{{{u}}}) \sum_m "
                    rf"W^{{{k + 1}}}_{{{u},m}}\,\delta^{{{k + 1}}}_m = {fmt(st.jacobian[j, j])}"
                    rf" \times {fmt(st.grad_output[j])} = {fmt(expl.delta_j)}")
    rows.append(rf"\frac{{\partial E}}{{\partial {sym}}} &= \delta^{{{k}}}_{{{u}}}\,{x} = "
                rf"{fmt(expl.delta_j)} \times {fmt(expl.x_i)} = {fmt(expl.gradient, 10)}")
    if tut:
        rows += tex_tutorial(expl)
    elif expl.paths is not None and len(expl.paths) > 1:
        rows.append(rf"&= \sum_{{\text{{{expl.path_count} paths}}}} \prod \text{{factors}}"
                    rf" = {fmt(expl.path_sum, 10)}")
    rows += tex_decay(expl)
    rows.append(rf"\text{{finite differences}} &= {fmt(expl.numeric, 10)}")
    if expl.update is not None:
        J = "J" if expl.weight_decay and not expl.bias else "E"
        grad = expl.objective_gradient
        rows.append(rf"\Delta {sym} &= -\alpha \frac{{\partial {J}}}{{\partial {sym}}} = "
                    rf"-{fmt(expl.lr)} \times {fmt(grad)} = {fmt(expl.update)}")
    lines += [r"\begin{align*}", " \\\\\n".join(rows), r"\end{align*}"]
    for pos in range(len(expl.stages) - 1, -1, -1):
        title, _, header, rows, _ = _table(expl, expl.stages[pos], pos)
        cols = "r" * len(header)
        lines += [f"% {title}", rf"\begin{{tabular}}{{{cols}}}",
                  " & ".join(f"${_tex(h)}$" for h in header) + r" \\ \hline"]
        lines += [" & ".join([str(unit_number(expl, r[0]))] + [fmt(v) for v in r[1:]]) + r" \\"
                  for r in rows]
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
            "path_sum", "lr", "update", "notes", "notation", "weight_decay", "decay_term",
            "objective_gradient", "fused_with")
    return {**{key: getattr(expl, key) for key in keys}, "delta_j": expl.delta_j,
            "y": arr(expl.y), "t": arr(expl.t), "stages": stages, "paths": paths,
            "index_base": 1 if is_tutorial(expl) else 0,
            "tutorial_symbol": tutorial_symbol(expl), "forms": tutorial_forms(expl)}


