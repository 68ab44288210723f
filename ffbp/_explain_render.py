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

_SUBSCRIPTS = str.maketrans("0123456789-", "₀₁₂₃₄₅₆₇₈₉₋")


def sub(*indices) -> str:
    """Subscript indices as the tutorials write them: (1, 2) → ₁₂; (1, 12) → ₁,₁₂."""
    parts = [str(n) for n in indices]
    return ("," if any(len(p) > 1 for p in parts) else "").join(parts).translate(_SUBSCRIPTS)


def _tutorial(expl) -> bool:
    return expl.notation == "tutorial"


def _unit(expl, u) -> int:
    """A unit's number as printed: from 1 in the tutorials' notation, from 0 in ffbp's."""
    return u + 1 if _tutorial(expl) else u


# -- The tutorials' notation -------------------------------------------------------------
# A symbol is (base, superscript or None, subscripts from 1); it prints as text or TeX.

def _sym(base, layer=None, *subs):
    return (base, layer, tuple(subs))


def _text(sym) -> str:
    base, layer, subs = sym
    return base + ("" if layer is None else _sup(layer)) + sub(*subs)


_TEX_BASES = {"Φ′": r"\Phi'", "δ": r"\delta", "λ": r"\lambda", "α": r"\alpha"}


def _tex_sym(sym) -> str:
    base, layer, subs = sym
    b = _TEX_BASES.get(base, base)
    if "'" in b and (layer is not None or subs):
        b = "{" + b + "}"
    sep = "," if any(n > 9 for n in subs) else ""
    return (b + ("" if layer is None else f"^{{{layer}}}")
            + (f"_{{{sep.join(map(str, subs))}}}" if subs else ""))


def _d_text(num, den) -> str:
    return f"∂{num if isinstance(num, str) else _text(num)}/∂{_text(den)}"


def _d_tex(num, den) -> str:
    n = num if isinstance(num, str) else _tex_sym(num)
    return rf"\frac{{\partial {n}}}{{\partial {_tex_sym(den)}}}"


def _one_hidden(expl) -> bool:
    """One hidden layer (tutorial 004): Φ′ⱼ and hᵢ need no layer superscript."""
    return expl.stages[-1].number <= 2


def _vector_output(stage, expl) -> bool:
    """The output layer with one unit: its W is a vector, W²ⱼ, as in tutorial 004."""
    return stage is expl.stages[-1] and stage.W.shape[1] == 1


def _w_sym(stage, i, j, expl):
    if _vector_output(stage, expl):
        return _sym("W", stage.number, i + 1)
    return _sym("W", stage.number, i + 1, j + 1)


def tutorial_symbol(expl):
    return _text(_parameter_sym(expl))


def _parameter_sym(expl):
    st = expl.stages[0]
    if expl.bias:
        return _sym("b", st.number, expl.j + 1)
    return _w_sym(st, expl.i, expl.j, expl)


def _h_sym(expl, layer, u, pre=False):
    """hˡᵤ (the output of layer l) or h'ˡᵤ; no superscript with one hidden layer."""
    hidden = layer < expl.stages[-1].number
    return _sym("h'" if pre else "h", None if _one_hidden(expl) and hidden else layer, u + 1)


def _phi_sym(expl, layer, u):
    return _sym("Φ′", None if _one_hidden(expl) else layer, u + 1)


def _input_sym(expl):
    """The input of the explained layer: xᵢ for layer 1, h of the layer below otherwise."""
    st = expl.stages[0]
    return _sym("x", None, expl.i + 1) if st.number == 1 else _h_sym(expl, st.number - 1,
                                                                      expl.i)


def _out_sym(expl, base, o):
    """y, d with one output unit (tutorial 004), yₖ, dₖ otherwise."""
    return _sym(base, None) if len(expl.y) == 1 else _sym(base, None, o + 1)


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
        d, y = _text(_out_sym(expl, "d", o)), _text(_out_sym(expl, "y", o))
        dt, yt = _tex_sym(_out_sym(expl, "d", o)), _tex_sym(_out_sym(expl, "y", o))
        factors = [((f"({d} − {y})", f"({dt} - {yt})"), float(expl.t[o] - expl.y[o]))]
        if expl.loss_name == "MSE":      # ∂E/∂y = (2/K)(y − d)
            factors.insert(0, ((f"(2/{K})", rf"\tfrac{{2}}{{{K}}}"), 2.0 / K))
        if out.block:
            factors.append((_phi_sym(expl, out.number, o), float(out.jacobian[o, o])))
        units = p.units
        for n in range(len(expl.stages) - 1, 0, -1):      # right to left: W, then Φ′ below
            st, below = expl.stages[n], expl.stages[n - 1]
            factors.append((_w_sym(st, units[n - 1], units[n], expl),
                            float(st.W[units[n - 1], units[n]])))
            factors.append((_phi_sym(expl, below.number, units[n - 1]),
                            float(below.jacobian[units[n - 1], units[n - 1]])))
        if not expl.bias:
            factors.append((_input_sym(expl), expl.x_i))
        terms.append(factors)
    return terms


def _monster(expl):
    """Tutorial 000's monster expression: ∂E/∂W as the sum over paths of products of
    derivatives, right to left from ∂E/∂y; each term a list of ((num, den), value)."""
    if expl.paths is None:
        return None
    out, param = expl.stages[-1], _parameter_sym(expl)
    terms = []
    for p in expl.paths:
        o, units = p.units[-1], p.units
        L = out.number
        pre_out = _out_sym(expl, "y", o) if not out.block else _h_sym(expl, L, o, pre=True)
        if not out.block:
            factors = [(("E", pre_out), float(out.grad_output[o]))]
        elif out.diagonal and not expl.fused:
            y = _out_sym(expl, "y", o)
            factors = [(("E", y), float(out.grad_output[o])),
                       ((y, pre_out), float(out.jacobian[o, o]))]
        else:        # fused or not element-wise: the output delta is one factor
            factors = [(("E", pre_out), float(out.delta[o]))]
        upper = pre_out
        for n in range(len(expl.stages) - 1, 0, -1):
            st, below = expl.stages[n], expl.stages[n - 1]
            h = _h_sym(expl, below.number, units[n - 1])
            h_pre = _h_sym(expl, below.number, units[n - 1], pre=True)
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


def _n(v) -> str:
    """A factor of a product: negative numbers in parentheses."""
    return f"({_f(v)})" if float(v) < 0 else _f(v)


def _d_minus_y_form(expl, tex=False):
    """(title, lhs, symbolic, numbers, value) of tutorial 004's form, or None."""
    terms = _d_minus_y(expl)
    if terms is None:
        return None
    sym = (_tex_sym if tex else _text)(_parameter_sym(expl))
    fac, times = (_ftex, r" \times ") if tex else (_ftext, " × ")
    alpha = expl.lr is not None
    a = (r"\alpha" if tex else "α") if alpha else ""
    lam = r"\lambda " if tex else "λ"
    if tex:
        lhs = rf"\Delta {sym}" if alpha else rf"-\frac{{\partial E}}{{\partial {sym}}}"
    else:
        lhs = f"Δ{sym}" if alpha else f"−∂E/∂{sym}"
    decay = bool(expl.weight_decay) and not expl.bias
    symbolic = a + _sum(["".join(fac(s) for s, _ in t) for t in terms])
    numbers = (f"{_f(expl.lr)}{times}" if alpha else "") + _sum(
        [f"({times.join(_n(v) for _, v in t)})" if len(terms) > 1 else
         times.join(_n(v) for _, v in t) for t in terms])
    value = -(expl.objective_gradient if decay else expl.gradient)
    if decay:
        minus = " - " if tex else " − "
        symbolic += f"{minus}{a}{lam}{sym}"
        numbers += (f"{minus}{_f(expl.lr) + times if alpha else ''}{_f(expl.weight_decay)}"
                    f"{times}{_n(expl.value)}")
    if alpha:
        value *= expl.lr
    title = ("tutorial 004: the (d − y) form of squared error" + (
        " (a bias has no input factor)" if expl.bias else "") + (
        ", with tutorial 002's decay term" if decay else ""))
    return title, lhs, symbolic, numbers, value


def _tutorial_lines(expl):
    """The tutorials' forms, as lines of text (tutorial notation only)."""
    lines = []
    fused = _fused_factors(expl)
    if fused is not None:
        dl, jac, prod, g, J, delta = fused
        L = expl.stages[-1].number
        lines += [f"tutorial 001: the output delta ∂L/∂y = ∂L/∂Y · ∂Y/∂y, factor by factor "
                  f"(L = E, Y = the output y, y = h'{_sup(L)}):",
                  f"  ∂L/∂Y = {dl}", f"        = {_vec(g)}",
                  f"  ∂Y/∂y = {jac}"]
        if expl.fused_with == "Softmax":
            rows = [_vec(r) for r in J[:MAX_ROWS]]
            lines += ["        = [" + rows[0]] + [f"           {r}" for r in rows[1:]]
            lines[-1] += "]" + (" …" if len(J) > MAX_ROWS else "")
        else:
            lines.append(f"        = diag {_vec(np.diag(J))}")
        lines += [f"  ∂L/∂Y · ∂Y/∂y = {prod} = {_vec(delta)}   (δ{_sup(L)}, fused in ffbp)",
                  ""]
    form = _d_minus_y_form(expl)
    if form is not None:
        title, lhs, symbolic, numbers, value = form
        pad = " " * len(lhs)
        lines += [title, f"  {lhs} = {symbolic}", f"  {pad} = {numbers}",
                  f"  {pad} = {_f(value, 10)}", ""]
    lines += _monster_lines(expl)
    return lines


def _ftext(s) -> str:
    """A factor's symbol as text: a (text, tex) pair or a symbol."""
    return s[0] if len(s) == 2 else _text(s)


def _ftex(s) -> str:
    return s[1] if len(s) == 2 else _tex_sym(s)


def _sum(parts, plus=" + ") -> str:
    """One term as it is; several in brackets, at most MAX_SHOWN_PATHS written out."""
    if len(parts) == 1:
        return parts[0]
    body = plus.join(parts[:MAX_SHOWN_PATHS])
    if len(parts) > MAX_SHOWN_PATHS:
        body += f"{plus}… ({len(parts) - MAX_SHOWN_PATHS} more)"
    return f"[{body}]"


def _monster_lines(expl):
    terms = _monster(expl)
    if terms is None:
        return []
    sym = _text(_parameter_sym(expl))
    lhs = f"∂E/∂{sym}"
    pad = " " * len(lhs)
    lines = [f"tutorial 000's monster expression (tutorial 004's Equation A): ∂E/∂{sym} as "
             f"the sum over its {len(terms)} path(s) to the output, right to left"]
    for n, t in enumerate(terms[:MAX_SHOWN_PATHS]):
        body = " · ".join(_d_text(*d) for d, _ in t)
        lines.append(f"  {lhs if n == 0 else pad} {'=' if n == 0 else '+'} {body}")
    if len(terms) > MAX_SHOWN_PATHS:
        lines.append(f"  {pad} + … {len(terms) - MAX_SHOWN_PATHS} more term(s)")
    for n, t in enumerate(terms[:MAX_SHOWN_PATHS]):
        body = " × ".join(_n(v) for _, v in t)
        lines.append(f"  {pad} {'=' if n == 0 else '+'} ({body})")
    if len(terms) > MAX_SHOWN_PATHS:
        lines.append(f"  {pad} + … {len(terms) - MAX_SHOWN_PATHS} more term(s)")
    lines += [f"  {pad} = {_f(expl.path_sum, 10)}", ""]
    return lines


def _decay_lines(expl):
    """Tutorial 002's λW term (both notations) when weight_decay > 0."""
    if not expl.weight_decay:
        return []
    if expl.bias:
        return [f"weight decay λ = {_f(expl.weight_decay)} (tutorial 002, J = E + ½λ‖W‖²): "
                "biases are not decayed, ∂J/∂b = ∂E/∂b"]
    if _tutorial(expl):
        sym, st = _text(_parameter_sym(expl)), expl.stages[0]
        delta = _text(_sym("δ", st.number, expl.j + 1))
        a = _text(_input_sym(expl))
        return [f"tutorial 002, weight decay λ = {_f(expl.weight_decay)}: J = E + ½λ‖W‖², "
                f"∂J/∂W = δa + λW", f"  ∂J/∂{sym} = {delta} · {a} + λ{sym} = "
                f"{_f(expl.delta_j)} × {_f(expl.x_i)} + {_f(expl.weight_decay)} × "
                f"{_f(expl.value)} = {_f(expl.gradient, 10)} + {_f(expl.decay_term, 10)} = "
                f"{_f(expl.objective_gradient, 10)}"]
    return [f"weight decay λ = {_f(expl.weight_decay)} (tutorial 002, J = E + ½λ‖W‖²): "
            f"∂J/∂{expl.symbol} = ∂E/∂{expl.symbol} + λ{expl.symbol} = "
            f"{_f(expl.gradient, 10)} + {_f(expl.weight_decay)} × {_f(expl.value)} = "
            f"{_f(expl.objective_gradient, 10)}"]


def _chain(expl):
    """The chain-rule lines: symbolic, then with numbers."""
    st, j = expl.stages[0], expl.j
    if _tutorial(expl):
        return _chain_tutorial(expl)
    x = "1" if expl.bias else f"x[{expl.i}]"
    lines = [f"∂E/∂{expl.symbol} = δ{_sup(st.number)}[{j}] · {x} = {_f(expl.delta_j)} × "
             f"{_f(expl.x_i)} = {_f(expl.gradient, 10)}"]
    if len(expl.stages) > 1 and st.diagonal:
        k, up = _sup(st.number), _sup(st.number + 1)
        lines.append(f"  where δ{k}[{j}] = Φ'{k}[{j}] · Σ_m W{up}[{j},m] δ{up}[m] = "
                     f"{_f(st.jacobian[j, j])} × {_f(st.grad_output[j])}")
    return lines


def _chain_tutorial(expl):
    st, j = expl.stages[0], expl.j
    sym = _text(_parameter_sym(expl))
    delta = _text(_sym("δ", st.number, j + 1))
    x = "1" if expl.bias else _text(_input_sym(expl))
    lines = [f"∂E/∂{sym} = {delta} · {x} = {_f(expl.delta_j)} × {_f(expl.x_i)} = "
             f"{_f(expl.gradient, 10)}"]
    if len(expl.stages) > 1 and st.diagonal:
        k, up = st.number, st.number + 1
        lines.append(f"  where {delta} = {_text(_phi_sym(expl, k, j))} · Σₘ "
                     f"W{_sup(up)}{sub(j + 1)}ₘ δ{_sup(up)}ₘ = "
                     f"{_f(st.jacobian[j, j])} × {_f(st.grad_output[j])}")
    return lines


def _path_lines(expl):
    if _tutorial(expl) and expl.paths is not None:
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
        sym = _text(_parameter_sym(expl)) if _tutorial(expl) else expl.symbol
        J = "J" if expl.weight_decay and not expl.bias else "E"
        lines.append(f"update with α = {_f(expl.lr)}: Δ = −α ∂{J}/∂{sym} = "
                     f"{_f(expl.update)};  {sym}: {_f(expl.value)} → "
                     f"{_f(expl.value + expl.update)}")
    return lines


def _index_note(expl):
    """Said once in tutorial notation: the tutorials count from 1, ffbp from 0."""
    if not _tutorial(expl):
        return []
    vec = (" (one output unit: W is a vector, as in tutorial 004)"
           if _vector_output(expl.stages[0], expl) and not expl.bias else "")
    return [f"indices count from 1, as in the tutorials: {tutorial_symbol(expl)} is "
            f"{expl.parameter} in ffbp, which counts from 0 like NumPy{vec}"]


def to_text(expl) -> str:
    st = expl.stages[0]
    head = (f"∂E/∂{tutorial_symbol(expl)}  ({expl.parameter}) for one sample, in the "
            "tutorials' notation" if _tutorial(expl) else
            f"∂E/∂{expl.symbol}  ({expl.parameter}) for one sample")
    out = [head, *_index_note(expl), f"loss {expl.loss_name}: E = {_f(expl.E)}", "",
           f"forward through layer {st.number} ({st.dense} → {' → '.join(st.block) or '-'}):",
           f"  x  = {_vec(st.x)}   (the input of this layer)",
           f"  h' = {'x W' if 'bias=False' in st.dense else 'x W + b'} = {_vec(st.h_pre)}",
           f"  h  = Φ(h') = {_vec(st.h)}", "",
           "back-propagation, right to left (δ = ∂E/∂h'):"]
    for pos in range(len(expl.stages) - 1, -1, -1):
        title, rule, header, rows, hidden = _table(expl, expl.stages[pos], pos)
        out += [f"  {title}: {rule}", "    " + "".join(h.rjust(14) for h in header)]
        for r in rows:
            out.append("    " + str(_unit(expl, r[0])).rjust(14)
                       + "".join(_f(v).rjust(14) for v in r[1:]))
        if hidden:
            out.append(f"    … {hidden} more unit(s)")
    out += [""] + _chain(expl) + [""] + _middle(expl) + _check_lines(expl)
    return "\n".join(out)


def _middle(expl):
    """Between the chain rule and the checks: Equation A's paths (ffbp) or the tutorials'
    forms, and the weight decay term."""
    lines = _tutorial_lines(expl) if _tutorial(expl) else []
    paths = _path_lines(expl)
    lines += paths + ([""] if paths else [])
    decay = _decay_lines(expl)
    return lines + decay + ([""] if decay else [])


def to_markdown(expl) -> str:
    sym = tutorial_symbol(expl) if _tutorial(expl) else expl.symbol
    out = [f"### ∂E/∂{sym} (`{expl.parameter}`) for one sample", "",
           *[f"*{line}.*" for line in _index_note(expl)], "" if _tutorial(expl) else None,
           f"Loss `{expl.loss_name}`: E = {_f(expl.E)}. δ = ∂E/∂h', right to left.", ""]
    out = [line for line in out if line is not None]
    for pos in range(len(expl.stages) - 1, -1, -1):
        title, rule, header, rows, hidden = _table(expl, expl.stages[pos], pos)
        out += [f"**{title}**: `{rule}`", "", "| " + " | ".join(header) + " |",
                "|" + "---:|" * len(header)]
        out += ["| " + " | ".join([str(_unit(expl, r[0]))] + [_f(v) for v in r[1:]]) + " |"
                for r in rows]
        out += ([f"\n… {hidden} more unit(s)"] if hidden else []) + [""]
    out += ["```"] + _chain(expl) + [""] + _middle(expl) + _check_lines(expl) + ["```"]
    return "\n".join(out)


def _tex_symbol(expl):
    if _tutorial(expl):
        return _tex_sym(_parameter_sym(expl))
    k = expl.stages[0].number
    return f"b^{{{k}}}_{{{expl.j}}}" if expl.bias else f"W^{{{k}}}_{{{expl.i},{expl.j}}}"


def _tex_vec(a) -> str:
    a = np.asarray(a)
    body = ", ".join(_f(v, 4) for v in a[:MAX_ROWS])
    more = r", \dots" if a.size > MAX_ROWS else ""
    return rf"\left[{body}{more}\right]"


def _tex_tutorial(expl):
    """The tutorials' forms as align rows (tutorial notation)."""
    rows = []
    fused = _fused_factors(expl)
    if fused is not None:
        _, _, _, g, J, delta = fused
        dLdY, dYdy = r"\frac{\partial L}{\partial Y}", r"\frac{\partial Y}{\partial y}"
        if expl.fused_with == "Softmax":
            dl, jac, prod = r"-t/Y", r"Y_k(\delta_{kj} - Y_j)", "Y - t"
            mat = r" \\ ".join(" & ".join(_f(v, 4) for v in r[:MAX_ROWS])
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
                 rf"&= {_f(value, 10)}"]
    terms = _monster(expl)
    if terms is not None:
        sym = _tex_sym(_parameter_sym(expl))
        for n, t in enumerate(terms[:MAX_SHOWN_PATHS]):
            body = r"\,".join(_d_tex(*d) for d, _ in t)
            rows.append(rf"\text{{tutorial 000:}}\quad \frac{{\partial E}}{{\partial {sym}}} &= "
                        f"{body}" if n == 0 else rf"&\quad + {body}")
        more = len(terms) - MAX_SHOWN_PATHS
        if more > 0:
            rows.append(rf"&\quad + \dots\ \text{{({more} more)}}")
        for n, t in enumerate(terms[:MAX_SHOWN_PATHS]):
            body = r" \times ".join(_n(v) for _, v in t)
            rows.append(("&= " if n == 0 else r"&\quad + ") + f"({body})")
        if more > 0:
            rows.append(rf"&\quad + \dots\ \text{{({more} more)}}")
        rows.append(rf"&= {_f(expl.path_sum, 10)}")
    return rows


def _tex_decay(expl):
    if not expl.weight_decay or expl.bias:
        return []
    sym, st = _tex_symbol(expl), expl.stages[0]
    if _tutorial(expl):
        delta = _tex_sym(_sym("δ", st.number, expl.j + 1))
        a = _tex_sym(_input_sym(expl))
    else:
        delta, a = rf"\delta^{{{st.number}}}_{{{expl.j}}}", f"x_{{{expl.i}}}"
    return [rf"\text{{tutorial 002:}}\quad \frac{{\partial J}}{{\partial {sym}}} &= "
            rf"{delta}\,{a} + \lambda {sym} = {_f(expl.delta_j)} \times {_f(expl.x_i)} + "
            rf"{_f(expl.weight_decay)} \times {_f(expl.value)} = "
            rf"{_f(expl.objective_gradient, 10)}"]


def to_latex(expl) -> str:
    st, j, k = expl.stages[0], expl.j, expl.stages[0].number
    tut = _tutorial(expl)
    u = j + 1 if tut else j                         # the unit j as printed
    sym = _tex_symbol(expl)
    if expl.bias:
        x = "1"
    else:
        x = _tex_sym(_input_sym(expl)) if tut else f"x_{{{expl.i}}}"
    lines = [f"% ffbp.explain: {expl.parameter}, loss {expl.loss_name}"]
    lines += [f"% {line}" for line in _index_note(expl)]
    rows = [f"E &= {_f(expl.E)}"]
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
                    rf"W^{{{k + 1}}}_{{{u},m}}\,\delta^{{{k + 1}}}_m = {_f(st.jacobian[j, j])}"
                    rf" \times {_f(st.grad_output[j])} = {_f(expl.delta_j)}")
    rows.append(rf"\frac{{\partial E}}{{\partial {sym}}} &= \delta^{{{k}}}_{{{u}}}\,{x} = "
                rf"{_f(expl.delta_j)} \times {_f(expl.x_i)} = {_f(expl.gradient, 10)}")
    if tut:
        rows += _tex_tutorial(expl)
    elif expl.paths is not None and len(expl.paths) > 1:
        rows.append(rf"&= \sum_{{\text{{{expl.path_count} paths}}}} \prod \text{{factors}}"
                    rf" = {_f(expl.path_sum, 10)}")
    rows += _tex_decay(expl)
    rows.append(rf"\text{{finite differences}} &= {_f(expl.numeric, 10)}")
    if expl.update is not None:
        J = "J" if expl.weight_decay and not expl.bias else "E"
        grad = expl.objective_gradient
        rows.append(rf"\Delta {sym} &= -\alpha \frac{{\partial {J}}}{{\partial {sym}}} = "
                    rf"-{_f(expl.lr)} \times {_f(grad)} = {_f(expl.update)}")
    lines += [r"\begin{align*}", " \\\\\n".join(rows), r"\end{align*}"]
    for pos in range(len(expl.stages) - 1, -1, -1):
        title, _, header, rows, _ = _table(expl, expl.stages[pos], pos)
        cols = "r" * len(header)
        lines += [f"% {title}", rf"\begin{{tabular}}{{{cols}}}",
                  " & ".join(f"${_tex(h)}$" for h in header) + r" \\ \hline"]
        lines += [" & ".join([str(_unit(expl, r[0]))] + [_f(v) for v in r[1:]]) + r" \\"
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
            "index_base": 1 if _tutorial(expl) else 0,
            "tutorial_symbol": tutorial_symbol(expl), "forms": _forms(expl)}


def _forms(expl):
    """The tutorials' forms as text (tutorial notation; None in ffbp's)."""
    if not _tutorial(expl):
        return None
    forms = {"index_note": _index_note(expl)[0]}
    form = _d_minus_y_form(expl)
    if form is not None:
        _, lhs, symbolic, numbers, value = form
        forms["d_minus_y"] = {"symbolic": f"{lhs} = {symbolic}", "numbers": numbers,
                              "value": value}
    terms = _monster(expl)
    if terms is not None:
        forms["monster"] = {"terms": [" · ".join(_d_text(*d) for d, _ in t) for t in terms],
                            "factors": [[v for _, v in t] for t in terms],
                            "value": expl.path_sum}
    fused = _fused_factors(expl)
    if fused is not None:
        dl, jac, prod, g, J, delta = fused
        forms["output_factors"] = {"dL_dY": dl, "dY_dy": jac, "product": prod,
                                   "dL_dY_value": np.asarray(g, float).tolist(),
                                   "dY_dy_value": np.asarray(J, float).tolist(),
                                   "product_value": np.asarray(delta, float).tolist()}
    decay = _decay_lines(expl)
    if decay:
        forms["weight_decay"] = " ".join(line.strip() for line in decay)
    return forms
