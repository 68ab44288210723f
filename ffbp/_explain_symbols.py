"""How an ``Explanation`` writes numbers, vectors and symbols: W¹[0, 1] in ffbp's notation,
W¹₁₂ (indices from 1) in the tutorials'; derivative fractions in text and LaTeX."""

from __future__ import annotations

import numpy as np

#: Rows of a δ table shown in text, Markdown and LaTeX (``to_dict`` keeps every unit).
MAX_ROWS = 8


#: Paths of Equation A written out (the sum always covers all of them).
MAX_SHOWN_PATHS = 20


def fmt(v, digits=6) -> str:
    return f"{float(v) + 0.0:.{digits}g}"      # + 0.0 turns −0 into 0


def vec_text(a) -> str:
    a = np.asarray(a)
    body = ", ".join(fmt(v, 4) for v in a[:MAX_ROWS])
    return f"[{body}{', …' if a.size > MAX_ROWS else ''}]"


_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def sup(n: int) -> str:
    """The tutorials' layer superscript: 2 → ², as in W²."""
    return str(n).translate(_SUPERSCRIPTS)


sup_number = sup


_SUBSCRIPTS = str.maketrans("0123456789-", "₀₁₂₃₄₅₆₇₈₉₋")


def sub(*indices) -> str:
    """Subscript indices as the tutorials write them: (1, 2) → ₁₂; (1, 12) → ₁,₁₂."""
    parts = [str(n) for n in indices]
    return ("," if any(len(p) > 1 for p in parts) else "").join(parts).translate(_SUBSCRIPTS)


def is_tutorial(expl) -> bool:
    return expl.notation == "tutorial"


def unit_number(expl, u) -> int:
    """A unit's number as printed: from 1 in the tutorials' notation, from 0 in ffbp's."""
    return u + 1 if is_tutorial(expl) else u


def symbol(base, layer=None, *subs):
    return (base, layer, tuple(subs))


def symbol_text(sym) -> str:
    base, layer, subs = sym
    return base + ("" if layer is None else sup_number(layer)) + sub(*subs)


_TEX_BASES = {"Φ′": r"\Phi'", "δ": r"\delta", "λ": r"\lambda", "α": r"\alpha"}


def tex_symbol_of(sym) -> str:
    base, layer, subs = sym
    b = _TEX_BASES.get(base, base)
    if "'" in b and (layer is not None or subs):
        b = "{" + b + "}"
    sep = "," if any(n > 9 for n in subs) else ""
    return (b + ("" if layer is None else f"^{{{layer}}}")
            + (f"_{{{sep.join(map(str, subs))}}}" if subs else ""))


def fraction_text(num, den) -> str:
    return f"∂{num if isinstance(num, str) else symbol_text(num)}/∂{symbol_text(den)}"


def fraction_tex(num, den) -> str:
    n = num if isinstance(num, str) else tex_symbol_of(num)
    return rf"\frac{{\partial {n}}}{{\partial {tex_symbol_of(den)}}}"


def _one_hidden(expl) -> bool:
    """One hidden layer (tutorial 004): Φ′ⱼ and hᵢ need no layer superscript."""
    return expl.stages[-1].number <= 2


def vector_output(stage, expl) -> bool:
    """The output layer with one unit: its W is a vector, W²ⱼ, as in tutorial 004."""
    return stage is expl.stages[-1] and stage.W.shape[1] == 1


def w_symbol(stage, i, j, expl):
    if vector_output(stage, expl):
        return symbol("W", stage.number, i + 1)
    return symbol("W", stage.number, i + 1, j + 1)


def tutorial_symbol(expl):
    return symbol_text(parameter_symbol(expl))


def parameter_symbol(expl):
    st = expl.stages[0]
    if expl.bias:
        return symbol("b", st.number, expl.j + 1)
    return w_symbol(st, expl.i, expl.j, expl)


def h_symbol(expl, layer, u, pre=False):
    """hˡᵤ (the output of layer l) or h'ˡᵤ; no superscript with one hidden layer."""
    hidden = layer < expl.stages[-1].number
    return symbol("h'" if pre else "h", None if _one_hidden(expl) and hidden else layer, u + 1)


def phi_symbol(expl, layer, u):
    return symbol("Φ′", None if _one_hidden(expl) else layer, u + 1)


def input_symbol(expl):
    """The input of the explained layer: xᵢ for layer 1, h of the layer below otherwise."""
    st = expl.stages[0]
    return symbol("x", None, expl.i + 1) if st.number == 1 else h_symbol(expl, st.number - 1,
                                                                      expl.i)


def output_symbol(expl, base, o):
    """y, d with one output unit (tutorial 004), yₖ, dₖ otherwise."""
    return symbol(base, None) if len(expl.y) == 1 else symbol(base, None, o + 1)


def number_text(v) -> str:
    """A factor of a product: negative numbers in parentheses."""
    return f"({fmt(v)})" if float(v) < 0 else fmt(v)


def formula_text(s) -> str:
    """A factor's symbol as text: a (text, tex) pair or a symbol."""
    return s[0] if len(s) == 2 else symbol_text(s)


def formula_tex(s) -> str:
    return s[1] if len(s) == 2 else tex_symbol_of(s)


def sum_text(parts, plus=" + ") -> str:
    """One term as it is; several in brackets, at most MAX_SHOWN_PATHS written out."""
    if len(parts) == 1:
        return parts[0]
    body = plus.join(parts[:MAX_SHOWN_PATHS])
    if len(parts) > MAX_SHOWN_PATHS:
        body += f"{plus}… ({len(parts) - MAX_SHOWN_PATHS} more)"
    return f"[{body}]"
