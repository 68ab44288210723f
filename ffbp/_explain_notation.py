"""The tutorials' own forms of an ``Explanation`` (``notation="tutorial"``): indices from 1,
tutorial 004's (d − y) form, tutorial 001's ∂L/∂Y and softmax-Jacobian factors, tutorial
000's sum over paths written whole, tutorial 002's λW term; in text, LaTeX and a dict."""

from __future__ import annotations

import numpy as np

from ._explain_symbols import (
    MAX_ROWS,
    MAX_SHOWN_PATHS,
    fmt,
    formula_tex,
    formula_text,
    fraction_tex,
    fraction_text,
    h_symbol,
    input_symbol,
    is_tutorial,
    number_text,
    output_symbol,
    parameter_symbol,
    phi_symbol,
    sub,
    sum_text,
    sup_number,
    symbol,
    symbol_text,
    tex_symbol_of,
    tutorial_symbol,
    vec_text,
    vector_output,
    w_symbol,
)


def _d_minus_y(expl):
    """Tutorial 004's form of −∂E/∂W for squared error: one term per path, each a list of
    (symbol, value), the first the (d − y) factor; None when it does not apply."""
    out = expl.stages[-1]
    if expl.loss_name not in ("SquaredError", "MSE") or expl.paths is None \
            or not out.diagonal or expl.fused:
        return None
    K = len(expl.y)
    terms = []
    for p in expl.paths:
        o = p.units[-1]
        d_sym, y_sym = output_symbol(expl, "d", o), output_symbol(expl, "y", o)
        d, y = symbol_text(d_sym), symbol_text(y_sym)
        dt, yt = tex_symbol_of(d_sym), tex_symbol_of(y_sym)
        factors = [((f"({d} − {y})", f"({dt} - {yt})"), float(expl.t[o] - expl.y[o]))]
        if expl.loss_name == "MSE":      # ∂E/∂y = (2/K)(y − d)
            factors.insert(0, ((f"(2/{K})", rf"\tfrac{{2}}{{{K}}}"), 2.0 / K))
        if out.block:
            factors.append((phi_symbol(expl, out.number, o), float(out.jacobian[o, o])))
        units = p.units
        for n in range(len(expl.stages) - 1, 0, -1):      # right to left: W, then Φ′ below
            st, below = expl.stages[n], expl.stages[n - 1]
            factors.append((w_symbol(st, units[n - 1], units[n], expl),
                            float(st.W[units[n - 1], units[n]])))
            factors.append((phi_symbol(expl, below.number, units[n - 1]),
                            float(below.jacobian[units[n - 1], units[n - 1]])))
        if not expl.bias:
            factors.append((input_symbol(expl), expl.x_i))
        terms.append(factors)
    return terms


def _monster(expl):
    """Tutorial 000's monster expression: ∂E/∂W as the sum over paths of products of
    derivatives, right to left from ∂E/∂y; each term a list of ((num, den), value)."""
    if expl.paths is None:
        return None
    out, param = expl.stages[-1], parameter_symbol(expl)
    terms = []
    for p in expl.paths:
        o, units = p.units[-1], p.units
        L = out.number
        pre_out = output_symbol(expl, "y", o) if not out.block else h_symbol(expl, L, o, pre=True)
        if not out.block:
            factors = [(("E", pre_out), float(out.grad_output[o]))]
        elif out.diagonal and not expl.fused:
            y = output_symbol(expl, "y", o)
            factors = [(("E", y), float(out.grad_output[o])),
                       ((y, pre_out), float(out.jacobian[o, o]))]
        else:        # fused or not element-wise: the output delta is one factor
            factors = [(("E", pre_out), float(out.delta[o]))]
        upper = pre_out
        for n in range(len(expl.stages) - 1, 0, -1):
            st, below = expl.stages[n], expl.stages[n - 1]
            h = h_symbol(expl, below.number, units[n - 1])
            h_pre = h_symbol(expl, below.number, units[n - 1], pre=True)
            factors.append(((upper, h), float(st.W[units[n - 1], units[n]])))
            factors.append(((h, h_pre), float(below.jacobian[units[n - 1], units[n - 1]])))
            upper = h_pre
        factors.append(((upper, param), expl.x_i))
        terms.append(factors)
    return terms


def _fused_factors(expl):
    """Tutorial 001: the two factors ∂L/∂Y and ∂Y/∂y of a fused output, then their product
    (as lines of text), or None."""
    if not expl.fused:
        return None
    out = expl.stages[-1]
    K = len(expl.y)
    if expl.fused_with == "Softmax":
        dl, jac, prod = "−t/Y (cross-entropy)", "Yₖ(δₖⱼ − Yⱼ) (the softmax Jacobian)", "Y − t"
    else:
        k = "" if K == 1 else f"/{K}"
        dl = f"−(t/Y − (1 − t)/(1 − Y)){k} (binary cross-entropy)"
        jac, prod = "Y(1 − Y) (the sigmoid's derivative, diagonal)", f"(Y − t){k}"
    return dl, jac, prod, out.grad_output, out.jacobian, out.delta


def _d_minus_y_form(expl, tex=False):
    """(title, lhs, symbolic, numbers, value) of tutorial 004's form, or None."""
    terms = _d_minus_y(expl)
    if terms is None:
        return None
    sym = (tex_symbol_of if tex else symbol_text)(parameter_symbol(expl))
    fac, times = (formula_tex, r" \times ") if tex else (formula_text, " × ")
    alpha = expl.lr is not None
    a = (r"\alpha" if tex else "α") if alpha else ""
    lam = r"\lambda " if tex else "λ"
    if tex:
        lhs = rf"\Delta {sym}" if alpha else rf"-\frac{{\partial E}}{{\partial {sym}}}"
    else:
        lhs = f"Δ{sym}" if alpha else f"−∂E/∂{sym}"
    decay = bool(expl.weight_decay) and not expl.bias
    symbolic = a + sum_text(["".join(fac(s) for s, _ in t) for t in terms])
    numbers = (f"{fmt(expl.lr)}{times}" if alpha else "") + sum_text(
        [f"({times.join(number_text(v) for _, v in t)})" if len(terms) > 1 else
         times.join(number_text(v) for _, v in t) for t in terms])
    value = -(expl.objective_gradient if decay else expl.gradient)
    if decay:
        minus = " - " if tex else " − "
        symbolic += f"{minus}{a}{lam}{sym}"
        numbers += (f"{minus}{fmt(expl.lr) + times if alpha else ''}{fmt(expl.weight_decay)}"
                    f"{times}{number_text(expl.value)}")
    if alpha:
        value *= expl.lr
    title = ("tutorial 004: the (d − y) form of squared error" + (
        " (a bias has no input factor)" if expl.bias else "") + (
        ", with tutorial 002's decay term" if decay else ""))
    return title, lhs, symbolic, numbers, value


def tutorial_lines(expl):
    """The tutorials' forms, as lines of text (tutorial notation only)."""
    lines = []
    fused = _fused_factors(expl)
    if fused is not None:
        dl, jac, prod, g, J, delta = fused
        L = expl.stages[-1].number
        lines += [f"tutorial 001: the output delta ∂L/∂y = ∂L/∂Y · ∂Y/∂y, factor by factor "
                  f"(L = E, Y = the output y, y = h'{sup_number(L)}):",
                  f"  ∂L/∂Y = {dl}", f"        = {vec_text(g)}",
                  f"  ∂Y/∂y = {jac}"]
        if expl.fused_with == "Softmax":
            rows = [vec_text(r) for r in J[:MAX_ROWS]]
            lines += ["        = [" + rows[0]] + [f"           {r}" for r in rows[1:]]
            lines[-1] += "]" + (" …" if len(J) > MAX_ROWS else "")
        else:
            lines.append(f"        = diag {vec_text(np.diag(J))}")
        lines += [f"  ∂L/∂Y · ∂Y/∂y = {prod} = {vec_text(delta)}   "
                  f"(δ{sup_number(L)}, fused in ffbp)", ""]
    form = _d_minus_y_form(expl)
    if form is not None:
        title, lhs, symbolic, numbers, value = form
        pad = " " * len(lhs)
        lines += [title, f"  {lhs} = {symbolic}", f"  {pad} = {numbers}",
                  f"  {pad} = {fmt(value, 10)}", ""]
    lines += _monster_lines(expl)
    return lines


def _monster_lines(expl):
    terms = _monster(expl)
    if terms is None:
        return []
    sym = symbol_text(parameter_symbol(expl))
    lhs = f"∂E/∂{sym}"
    pad = " " * len(lhs)
    lines = [f"tutorial 000's monster expression (tutorial 004's Equation A): ∂E/∂{sym} as "
             f"the sum over its {len(terms)} path(s) to the output, right to left"]
    for n, t in enumerate(terms[:MAX_SHOWN_PATHS]):
        body = " · ".join(fraction_text(*d) for d, _ in t)
        lines.append(f"  {lhs if n == 0 else pad} {'=' if n == 0 else '+'} {body}")
    if len(terms) > MAX_SHOWN_PATHS:
        lines.append(f"  {pad} + … {len(terms) - MAX_SHOWN_PATHS} more term(s)")
    for n, t in enumerate(terms[:MAX_SHOWN_PATHS]):
        body = " × ".join(number_text(v) for _, v in t)
        lines.append(f"  {pad} {'=' if n == 0 else '+'} ({body})")
    if len(terms) > MAX_SHOWN_PATHS:
        lines.append(f"  {pad} + … {len(terms) - MAX_SHOWN_PATHS} more term(s)")
    lines += [f"  {pad} = {fmt(expl.path_sum, 10)}", ""]
    return lines


def decay_lines(expl):
    """Tutorial 002's λW term (both notations) when weight_decay > 0."""
    if not expl.weight_decay:
        return []
    if expl.bias:
        return [f"weight decay λ = {fmt(expl.weight_decay)} (tutorial 002, J = E + ½λ‖W‖²): "
                "biases are not decayed, ∂J/∂b = ∂E/∂b"]
    if is_tutorial(expl):
        sym, st = symbol_text(parameter_symbol(expl)), expl.stages[0]
        delta = symbol_text(symbol("δ", st.number, expl.j + 1))
        a = symbol_text(input_symbol(expl))
        return [f"tutorial 002, weight decay λ = {fmt(expl.weight_decay)}: J = E + ½λ‖W‖², "
                f"∂J/∂W = δa + λW", f"  ∂J/∂{sym} = {delta} · {a} + λ{sym} = "
                f"{fmt(expl.delta_j)} × {fmt(expl.x_i)} + {fmt(expl.weight_decay)} × "
                f"{fmt(expl.value)} = {fmt(expl.gradient, 10)} + {fmt(expl.decay_term, 10)} = "
                f"{fmt(expl.objective_gradient, 10)}"]
    return [f"weight decay λ = {fmt(expl.weight_decay)} (tutorial 002, J = E + ½λ‖W‖²): "
            f"∂J/∂{expl.symbol} = ∂E/∂{expl.symbol} + λ{expl.symbol} = "
            f"{fmt(expl.gradient, 10)} + {fmt(expl.weight_decay)} × {fmt(expl.value)} = "
            f"{fmt(expl.objective_gradient, 10)}"]


def chain_lines_tutorial(expl):
    st, j = expl.stages[0], expl.j
    sym = symbol_text(parameter_symbol(expl))
    delta = symbol_text(symbol("δ", st.number, j + 1))
    x = "1" if expl.bias else symbol_text(input_symbol(expl))
    lines = [f"∂E/∂{sym} = {delta} · {x} = {fmt(expl.delta_j)} × {fmt(expl.x_i)} = "
             f"{fmt(expl.gradient, 10)}"]
    if len(expl.stages) > 1 and st.diagonal:
        k, up = st.number, st.number + 1
        lines.append(f"  where {delta} = {symbol_text(phi_symbol(expl, k, j))} · Σₘ "
                     f"W{sup_number(up)}{sub(j + 1)}ₘ δ{sup_number(up)}ₘ = "
                     f"{fmt(st.jacobian[j, j])} × {fmt(st.grad_output[j])}")
    return lines


def index_note(expl):
    """Said once in tutorial notation: the tutorials count from 1, ffbp from 0."""
    if not is_tutorial(expl):
        return []
    vec = (" (one output unit: W is a vector, as in tutorial 004)"
           if vector_output(expl.stages[0], expl) and not expl.bias else "")
    return [f"indices count from 1, as in the tutorials: {tutorial_symbol(expl)} is "
            f"{expl.parameter} in ffbp, which counts from 0 like NumPy{vec}"]


def tex_symbol(expl):
    if is_tutorial(expl):
        return tex_symbol_of(parameter_symbol(expl))
    k = expl.stages[0].number
    return f"b^{{{k}}}_{{{expl.j}}}" if expl.bias else f"W^{{{k}}}_{{{expl.i},{expl.j}}}"


def _tex_vec(a) -> str:
    a = np.asarray(a)
    body = ", ".join(fmt(v, 4) for v in a[:MAX_ROWS])
    more = r", \dots" if a.size > MAX_ROWS else ""
    return rf"\left[{body}{more}\right]"


def tex_tutorial(expl):
    """The tutorials' forms as align rows (tutorial notation)."""
    rows = []
    fused = _fused_factors(expl)
    if fused is not None:
        _, _, _, g, J, delta = fused
        dLdY, dYdy = r"\frac{\partial L}{\partial Y}", r"\frac{\partial Y}{\partial y}"
        if expl.fused_with == "Softmax":
            dl, jac, prod = r"-t/Y", r"Y_k(\delta_{kj} - Y_j)", "Y - t"
            mat = r" \\ ".join(" & ".join(fmt(v, 4) for v in r[:MAX_ROWS])
                               for r in J[:MAX_ROWS])
            jac_num = rf"\begin{{pmatrix}} {mat} \end{{pmatrix}}"
        else:
            K = len(expl.y)
            k = "" if K == 1 else f"/{K}"
            dl = rf"-\left(t/Y - (1 - t)/(1 - Y)\right){k}"
            jac, prod = "Y(1 - Y)", f"(Y - t){k}"
            jac_num = rf"\operatorname{{diag}}{_tex_vec(np.diag(J))}"
        rows += [rf"\text{{tutorial 001:}}\quad {dLdY} &= {dl} = {_tex_vec(g)}",
                 rf"{dYdy} &= {jac} = {jac_num}",
                 rf"{dLdY}\,{dYdy} &= {prod} = {_tex_vec(delta)}"]
    form = _d_minus_y_form(expl, tex=True)
    if form is not None:
        _, lhs, symbolic, numbers, value = form
        rows += [rf"\text{{tutorial 004:}}\quad {lhs} &= {symbolic}", rf"&= {numbers}",
                 rf"&= {fmt(value, 10)}"]
    terms = _monster(expl)
    if terms is not None:
        sym = tex_symbol_of(parameter_symbol(expl))
        for n, t in enumerate(terms[:MAX_SHOWN_PATHS]):
            body = r"\,".join(fraction_tex(*d) for d, _ in t)
            rows.append(rf"\text{{tutorial 000:}}\quad \frac{{\partial E}}{{\partial {sym}}} &= "
                        f"{body}" if n == 0 else rf"&\quad + {body}")
        more = len(terms) - MAX_SHOWN_PATHS
        if more > 0:
            rows.append(rf"&\quad + \dots\ \text{{({more} more)}}")
        for n, t in enumerate(terms[:MAX_SHOWN_PATHS]):
            body = r" \times ".join(number_text(v) for _, v in t)
            rows.append(("&= " if n == 0 else r"&\quad + ") + f"({body})")
        if more > 0:
            rows.append(rf"&\quad + \dots\ \text{{({more} more)}}")
        rows.append(rf"&= {fmt(expl.path_sum, 10)}")
    return rows


def tex_decay(expl):
    if not expl.weight_decay or expl.bias:
        return []
    sym, st = tex_symbol(expl), expl.stages[0]
    if is_tutorial(expl):
        delta = tex_symbol_of(symbol("δ", st.number, expl.j + 1))
        a = tex_symbol_of(input_symbol(expl))
    else:
        delta, a = rf"\delta^{{{st.number}}}_{{{expl.j}}}", f"x_{{{expl.i}}}"
    return [rf"\text{{tutorial 002:}}\quad \frac{{\partial J}}{{\partial {sym}}} &= "
            rf"{delta}\,{a} + \lambda {sym} = {fmt(expl.delta_j)} \times {fmt(expl.x_i)} + "
            rf"{fmt(expl.weight_decay)} \times {fmt(expl.value)} = "
            rf"{fmt(expl.objective_gradient, 10)}"]


def tutorial_forms(expl):
    """The tutorials' forms as text (tutorial notation; None in ffbp's)."""
    if not is_tutorial(expl):
        return None
    forms = {"index_note": index_note(expl)[0]}
    form = _d_minus_y_form(expl)
    if form is not None:
        _, lhs, symbolic, numbers, value = form
        forms["d_minus_y"] = {"symbolic": f"{lhs} = {symbolic}", "numbers": numbers,
                              "value": value}
    terms = _monster(expl)
    if terms is not None:
        forms["monster"] = {"terms": [" · ".join(fraction_text(*d) for d, _ in t) for t in terms],
                            "factors": [[v for _, v in t] for t in terms],
                            "value": expl.path_sum}
    fused = _fused_factors(expl)
    if fused is not None:
        dl, jac, prod, g, J, delta = fused
        forms["output_factors"] = {"dL_dY": dl, "dY_dy": jac, "product": prod,
                                   "dL_dY_value": np.asarray(g, float).tolist(),
                                   "dY_dy_value": np.asarray(J, float).tolist(),
                                   "product_value": np.asarray(delta, float).tolist()}
    decay = decay_lines(expl)
    if decay:
        forms["weight_decay"] = " ".join(line.strip() for line in decay)
    return forms
