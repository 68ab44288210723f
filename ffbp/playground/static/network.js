// The network drawing: a column of input features, one column per hidden layer (each unit a
// small heat map of its output over the plane), the output unit, and an SVG edge per weight
// coloured by its sign and as thick as its size. The DOM is rebuilt only when the shape
// changes; each snapshot then only repaints canvases and edge attributes, which keeps 25
// updates a second cheap.
import { clamp1, colour, fmt, maxAbs, paintMap } from "./views.js";

const COL = 120, MIN_COL = 86, NODE = 38, GAP = 50, TOP = 34, LEFT = 56;   // pixels
const SUP = "⁰¹²³⁴⁵⁶⁷⁸⁹", SUB = "₀₁₂₃₄₅₆₇₈₉";
const script = (n, digits) => String(n).split("").map((d) => digits[+d]).join("");

// W¹₁₂ as the tutorials write it (layer up, input and output unit down, all from 1); a comma
// once an index has two digits, so W¹₁₀,₂ cannot be misread.
export function weightSymbol(L, I, J) {
  const sep = I > 9 || J > 9 ? "," : "";
  return `W${script(L, SUP)}${script(I, SUB)}${sep}${script(J, SUB)}`;
}

export class NetworkView {
  constructor(root, svg, tooltip, handlers) {
    this.root = root; this.svg = svg; this.tooltip = tooltip; this.on = handlers;
    this.key = null; this.edges = []; this.units = []; this.inputs = []; this.selected = null;
    // the panel's width, read once and on resize, not in every frame (a forced layout)
    const measure = () => { this.room = Math.max(200, root.parentElement.clientWidth - 24); };
    measure();
    window.addEventListener("resize", measure);
  }

  // all: every feature name that can be shown; active: those the network uses, in order.
  // The drawing fits the panel's width: columns close up to MIN_COL (a layer's "+ − 8 units"
  // still fits above it), then the whole drawing is zoomed down, so the output unit of six
  // layers of eight stays in view in a small window.
  build(layout, all, active, editable) {
    const room = this.room;
    const key = JSON.stringify([layout, all, active, editable, room]);
    if (key === this.key) return;
    this.key = key;
    for (const el of [...this.root.querySelectorAll(".node, .layer-head")]) el.remove();
    this.svg.replaceChildren();
    this.edges = []; this.units = []; this.inputs = [];
    this.hide();                   // a tooltip over an edge that is gone would stay forever
    const hidden = layout.slice(1, -1), rows = Math.max(all.length, ...hidden, 1);
    const cols = hidden.length + 1;
    const col = Math.max(MIN_COL, Math.min(COL, Math.floor((room - LEFT - 40) / cols)));
    const height = TOP + rows * GAP + 10, width = LEFT + cols * col + 40;
    this.root.style.height = `${height}px`;
    this.root.style.width = `${width}px`;
    this.root.style.zoom = String(Math.min(1, room / width));
    this.svg.setAttribute("width", width);
    this.svg.setAttribute("height", height);
    const centre = (c, row) => [LEFT + c * col + NODE / 2, TOP + row * GAP + NODE / 2];
    this.col = col;
    // column 0: the features; an active one feeds the network (its row among the active
    // ones is the I of W¹ᵢⱼ).
    const inputRows = [];
    all.forEach((name, row) => {
      const on = active.includes(name);
      const node = this.node(0, row, `input-${row + 1}`, on ? "feature on" : "feature off");
      const label = document.createElement("span");
      label.className = "label";
      label.textContent = pretty(name);
      node.append(label);
      if (editable) node.addEventListener("click", () => this.on.feature(name));
      if (on) { inputRows[active.indexOf(name)] = row; this.inputs.push(node.querySelector("canvas")); }
    });
    let prevRows = inputRows;
    hidden.forEach((n, l) => {
      const col = l + 1, head = document.createElement("div");
      head.className = "layer-head";
      head.style.left = `${LEFT + col * this.col - 12}px`;
      head.innerHTML = `<button data-testid="units-plus-${col}" title="One unit more">+</button>` +
        `<button data-testid="units-minus-${col}" title="One unit fewer">&minus;</button>` +
        `<span>${n} unit${n > 1 ? "s" : ""}</span>`;
      head.children[0].addEventListener("click", () => this.on.units(col, +1));
      head.children[1].addEventListener("click", () => this.on.units(col, -1));
      this.root.append(head);
      const canvases = [];
      for (let j = 0; j < n; j++) {
        const node = this.node(col, j, `neuron-${col}-${j + 1}`, "unit");
        node.dataset.layer = col; node.dataset.unit = j + 1;
        this.biasEvents(node, col, j);
        canvases.push(node.querySelector("canvas"));
      }
      this.units.push(canvases);
      this.wire(col, prevRows, [...Array(n).keys()], centre);
      prevRows = [...Array(n).keys()];
    });
    // the output unit, small: its big picture is the plane on the right
    const outCol = hidden.length + 1, outRow = Math.floor((rows - 1) / 2);
    const out = this.node(outCol, outRow, "output-unit", "unit output");
    this.biasEvents(out, outCol, 0);
    this.outCanvas = out.querySelector("canvas");
    this.wire(outCol, prevRows, [outRow], centre);
  }

  // a unit shows its bias b^L_j on hover; a click explains ∂E/∂b as an edge's click does W
  biasEvents(node, L, j) {
    node.addEventListener("mouseenter", (e) => this.hoverUnit(e, L, j));
    node.addEventListener("mouseleave", () => this.hide());
    node.addEventListener("click", () => this.on.select(L, null, j + 1, true));
  }

  node(col, row, testid, cls) {
    const node = document.createElement("div");
    node.className = `node ${cls}`;
    node.dataset.testid = testid;
    node.setAttribute("data-testid", testid);
    node.style.left = `${LEFT + col * this.col}px`;
    node.style.top = `${TOP + row * GAP}px`;
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 1;
    node.append(canvas);
    this.root.append(node);
    return node;
  }

  // The edges of Dense layer L (= col): from each unit of the previous column to each unit
  // of this one. A curve with level tangents: its midpoint is the middle of its box, where a
  // click lands.
  wire(L, fromRows, toRows, centre) {
    const ns = "http://www.w3.org/2000/svg", layer = [];
    fromRows.forEach((fr, i) => {
      const row = [];
      toRows.forEach((tr, j) => {
        const [x1, y1] = centre(L - 1, fr), [x2, y2] = centre(L, tr);
        const a = x1 + NODE / 2 + 2, b = x2 - NODE / 2 - 2, m = (a + b) / 2;
        const d = `M${a},${y1} C${m},${y1} ${m},${y2} ${b},${y2}`;
        const path = document.createElementNS(ns, "path");
        path.setAttribute("d", d);
        path.setAttribute("class", "edge");
        path.setAttribute("data-testid", `weight-${L}-${i + 1}-${j + 1}`);
        const hit = document.createElementNS(ns, "path");       // a wider, invisible target
        hit.setAttribute("d", d);
        hit.setAttribute("class", "edge-hit");
        for (const el of [path, hit]) {
          el.addEventListener("mouseenter", (e) => this.hoverEdge(e, L, i, j));
          el.addEventListener("mousemove", (e) => this.place(e));
          el.addEventListener("mouseleave", () => this.hide());
          el.addEventListener("click", () => this.on.select(L, i + 1, j + 1));
        }
        this.svg.append(path, hit);
        row.push(path);
      });
      layer.push(row);
    });
    this.edges[L - 1] = layer;
  }

  update(snap, opts) {
    this.snap = snap;
    const n = snap.grid.n;
    snap.inputs.forEach((values, k) => {
      const m = maxAbs(values);
      if (this.inputs[k]) paintMap(this.inputs[k], values, n, (v) => v / m);
    });
    snap.neurons.forEach((layer, l) => layer.forEach((values, j) => {
      if (this.units[l] && this.units[l][j]) paintMap(this.units[l][j], values, n, clamp1);
    }));
    if (this.outCanvas) {
      paintMap(this.outCanvas, snap.output, n, opts.scale, opts.discretize);
    }
    snap.weights.forEach((W, l) => W.forEach((row, i) => row.forEach((w, j) => {
      const path = this.edges[l] && this.edges[l][i] && this.edges[l][i][j];
      if (!path) return;
      path.setAttribute("stroke", colour(clamp1(w * 4)));
      path.setAttribute("stroke-width", (0.6 + 6 * Math.tanh(Math.abs(w) / 2)).toFixed(2));
      path.dataset.value = w;
    })));
    this.mark();
  }

  // The selected edge keeps an outline so the explain panel's weight stays in view.
  select(L, I, J, bias) { this.selected = L ? [L, I, J, bias] : null; this.mark(); }

  mark() {
    for (const el of this.root.querySelectorAll(".selected")) el.classList.remove("selected");
    if (!this.selected) return;
    const [L, I, J, bias] = this.selected;
    const output = L === this.units.length + 1;
    const id = !bias ? `weight-${L}-${I}-${J}` : output ? "output-unit" : `neuron-${L}-${J}`;
    const el = this.root.querySelector(`[data-testid="${id}"]`);
    if (el) el.classList.add("selected");
  }

  hoverEdge(e, L, i, j) {
    const W = this.snap && this.snap.weights[L - 1];
    if (!W || !W[i]) return;
    this.show(e, `${weightSymbol(L, i + 1, j + 1)} = ${fmt(W[i][j])}` +
      `<br><small>layer ${L}: unit ${i + 1} → unit ${j + 1}; click to explain</small>`);
  }

  hoverUnit(e, L, j) {
    const b = this.snap && this.snap.biases[L - 1];
    if (!b) return;
    const what = L === this.units.length + 1 ? "the output unit" : `unit ${j + 1} of hidden layer ${L}`;
    this.show(e, `${what}<br>bias b${script(L, SUP)}${script(j + 1, SUB)} = ${fmt(b[j])}` +
      "<br><small>click to explain its gradient</small>");
  }

  show(e, html) { this.tooltip.innerHTML = html; this.tooltip.hidden = false; this.place(e); }
  place(e) { this.tooltip.style.left = `${e.clientX + 12}px`; this.tooltip.style.top = `${e.clientY + 12}px`; }
  hide() { this.tooltip.hidden = true; }
}

const PRETTY = { x1: "x₁", x2: "x₂", x1sq: "x₁²", x2sq: "x₂²", x1x2: "x₁x₂", sinx1: "sin x₁", sinx2: "sin x₂" };
export const pretty = (name) => PRETTY[name] || name;
