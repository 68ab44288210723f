// The three panels under the network: explain (one weight's gradient as the chain rule),
// step mode (one sample inside the network after one mini-batch) and gradient health.
import { SERIES, drawLines, fmt } from "./views.js";
import { weightSymbol } from "./network.js";

const $ = (id) => document.getElementById(id);

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

// ffbp.explain's own text, plus the three numbers that must agree side by side: the
// back-propagated gradient, the finite difference, and what explain reports as ∂E/∂W.
export function showExplain(msg, L, I, J, sample, epoch) {
  $("explain-hint").hidden = true;
  const box = $("explain-numbers");
  box.replaceChildren();
  const when = epoch === undefined ? "" : ` (the network at epoch ${Math.floor(epoch)})`;
  const head = el("div", `${msg.symbol || weightSymbol(L, I, J)} for training sample ${sample + 1}${when}`, "explain-head");
  box.append(head);
  // J = E + ½λ‖W‖² with L2, else E; a bias is never decayed, so its update is −α ∂E/∂b
  const [p, what] = msg.bias ? ["b", "bias"] : ["W", "weight"];
  const obj = msg.weight_decay && !msg.bias ? "J" : "E";
  const rows = [
    [`∂E/∂${p} (back-propagation)`, msg.backprop, "explain-backprop"],
    ["finite difference", msg.numeric, "explain-numeric"],
    [`${what} now`, msg.value, "explain-value"],
    [`update −α ∂${obj}/∂${p}`, msg.update, "explain-update"],
  ];
  const table = el("table");
  const tr0 = el("tr");
  tr0.append(el("td", `∂E/∂${p}`));
  const g = el("td", fmt(msg.gradient));
  g.dataset.testid = "explain-gradient";
  g.setAttribute("data-testid", "explain-gradient");
  g.dataset.value = String(msg.gradient);       // full precision, for programs and tests
  tr0.append(g);
  table.append(tr0);
  for (const [label, v, id] of rows) {
    if (v === undefined || v === null) continue;
    const tr = el("tr");
    tr.append(el("td", label));
    const td = el("td", fmt(v));
    td.setAttribute("data-testid", id);
    td.dataset.value = String(v);
    tr.append(td);
    table.append(tr);
  }
  box.append(table);
  for (const note of msg.notes || []) box.append(el("div", `Note: ${note}`, "hint"));
  $("explain-text").textContent = msg.text || "";
}

// Step mode: one row per Dense layer, its units' h′ (net input), h (output) and δ.
export function showDetail(d) {
  const box = $("step-detail");
  box.replaceChildren();
  const vec = (v) => "[" + (v || []).map(fmt).join(", ") + "]";
  const y = d.y ? `, y = ${vec(d.y)}` : "", E = d.E !== undefined ? `, E = ${fmt(d.E)}` : "";
  box.append(el("div", `sample ${d.sample + 1}: x = ${vec(d.x)}, t = ${vec(d.t)}${y}${E}`, "detail-head"));
  // the sample's own values are taken before the step, on the weights it started from
  const where = d.batch ? (d.in_batch ? "in this mini-batch" : "not in this mini-batch") : "";
  const what = d.stepped ? `one mini-batch of ${(d.batch || []).length} trained` : "the next mini-batch previewed, not applied";
  box.append(el("div", `${what}; the sample is ${where}; now epoch ${fmt(d.epoch)}, training loss ${fmt(d.loss_train)}`, "hint"));
  const table = el("table", undefined, "detail");
  const head = el("tr");
  for (const t of ["layer", "", "unit values"]) head.append(el("th", t));
  table.append(head);
  for (const layer of d.layers || []) {
    const rows = [["h′ (net input)", layer.h_in], ["h (output)", layer.h], ["δ (∂E/∂h′)", layer.delta]];
    rows.forEach(([name, values], k) => {
      const tr = el("tr");
      tr.append(el("td", k === 0 ? String(layer.layer) : ""));
      tr.append(el("td", name, "name"));
      const td = el("td", vec(values), "mono");
      td.setAttribute("data-testid", `detail-${layer.layer}-${["h_in", "h", "delta"][k]}`);
      tr.append(td);
      table.append(tr);
    });
  }
  box.append(table);
  const s = d.selected;
  if (s) {
    const sym = s.symbol || weightSymbol(s.layer, s.i, s.j);
    if (s.rule) box.append(el("div", `update rule: ${s.rule}`, "hint"));
    // plain gradient descent reads as one line; other optimisers show before and after
    const line = s.rule && !s.rule.startsWith("W ← W − α")
      ? `${sym}: ${fmt(s.before)} → ${fmt(s.after)} (∂J/∂W = ${fmt(s.gradient)}, change ${fmt(s.update)})`
      : `${sym} ← ${fmt(s.before)} − ${fmt(s.lr)} × ${fmt(s.gradient)} = ${fmt(s.after)}`;
    const u = el("div", line, "update mono");
    u.setAttribute("data-testid", "detail-update");
    box.append(u);
    if (s.applied === false) box.append(el("div", "(previewed: not applied to the network)", "hint"));
  } else {
    box.append(el("div", "Click an edge to follow that weight's update here.", "hint"));
  }
}

// Gradient health: ‖∂E/∂W‖ of each layer over time (log scale) and the diagnostics' warnings
// with their remedies, newest first.
export function showHealth(h) {
  if (!h) return;
  drawLines($("health-chart"), h.norms || [], SERIES, true);
  const legend = $("health-legend");
  const names = (h.layers || []).join("|");
  if (legend.dataset.names !== names) {
    legend.dataset.names = names;
    legend.replaceChildren(...(h.layers || []).map((name, k) => {
      // W1 → W¹: the layer up, as the network's tooltips and the explain panel write it
      const sup = name.replace(/\d+/, (d) => [...d].map((c) => "⁰¹²³⁴⁵⁶⁷⁸⁹"[c]).join(""));
      const s = el("span", `‖∂E/∂${sup}‖`);
      s.style.color = SERIES[k % SERIES.length];
      return s;
    }));
  }
  const list = $("health-warnings");
  const key = JSON.stringify(h.warnings || []);
  if (list.dataset.key === key) return;
  list.dataset.key = key;
  list.replaceChildren();
  const warnings = [...(h.warnings || [])].reverse();
  if (!warnings.length) list.append(el("li", "No warnings: the gradients look healthy.", "ok"));
  for (const w of warnings.slice(0, 6)) {
    const li = el("li", undefined, `warn ${w.kind || ""}`);
    li.append(el("b", `${w.kind || "warning"}: `));           // the message names the layers
    li.append(document.createTextNode(w.message || ""));
    if (w.remedy) li.append(el("div", `Try: ${w.remedy}`, "remedy"));
    list.append(li);
  }
}
