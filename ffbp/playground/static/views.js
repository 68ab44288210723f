// Pictures drawn from the server's snapshots: heat maps, the output plane with its points,
// the loss curve and the gradient-health chart. Nothing here computes any of the network's
// numbers; it only colours what ffbp sent.

// Negative values orange, positive blue, zero light grey: the colours learners know from
// the classic playground, so the same picture reads the same way.
const NEG = [230, 129, 40], MID = [236, 238, 240], POS = [32, 110, 180];

// 256 colours from -1 to 1, computed once; a heat map then costs one lookup per pixel.
const LUT = (() => {
  const lut = new Uint8ClampedArray(256 * 3);
  for (let k = 0; k < 256; k++) {
    const v = k / 127.5 - 1, end = v < 0 ? NEG : POS, a = Math.abs(v);
    for (let c = 0; c < 3; c++) lut[3 * k + c] = MID[c] + (end[c] - MID[c]) * a;
  }
  return lut;
})();

export function colour(v) {                 // v in [-1, 1] -> "rgb(...)"
  const k = lutIndex(v);
  return `rgb(${LUT[3 * k]},${LUT[3 * k + 1]},${LUT[3 * k + 2]})`;
}

function lutIndex(v) {
  if (!(v === v)) return 127;               // NaN (a diverged network): neutral grey
  return Math.max(0, Math.min(255, Math.round((v + 1) * 127.5)));
}

// Paint values (row-major, row 0 at the top) into an n x n canvas; `scale` maps a value to
// [-1, 1] (a function), `discrete` snaps each pixel to its sign.
export function paintMap(canvas, values, n, scale, discrete = false) {
  if (canvas.width !== n) { canvas.width = n; canvas.height = n; }
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(n, n), px = img.data;
  for (let p = 0; p < n * n; p++) {
    let v = scale(values[p]);
    if (discrete) v = v > 0 ? 1 : v < 0 ? -1 : 0;
    const k = 3 * lutIndex(v);
    px[4 * p] = LUT[k]; px[4 * p + 1] = LUT[k + 1]; px[4 * p + 2] = LUT[k + 2]; px[4 * p + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

export const clamp1 = (v) => Math.max(-1, Math.min(1, v));

export function maxAbs(values) {
  let m = 0;
  for (const v of values) if (Math.abs(v) > m) m = Math.abs(v);
  return m || 1;
}

// The output's colour scale, shared by the plane and the output unit's picture: P(class 1)
// from [0, 1], or a regression value from ± the largest training target (a standardised
// upload reaches ±3), onto [-1, 1].
export function outputScale(problem, points) {
  if (problem !== "regression") return (v) => 2 * v - 1;
  const tScale = maxAbs(points ? points.train.map((p) => p[2]) : [1]);
  return (v) => clamp1(v / tScale);
}

// The output plane: the heat map of the network's output over the grid, then the points.
const mapCanvas = document.createElement("canvas");
export function drawBoundary(canvas, snap, points, opts) {
  const n = snap.grid.n, ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
  const scale = opts.scale;
  paintMap(mapCanvas, snap.output, n, scale, opts.discretize);
  ctx.imageSmoothingEnabled = !opts.discretize;
  ctx.drawImage(mapCanvas, 0, 0, W, H);
  if (!points) return;
  const [x0, x1] = snap.grid.x, [y0, y1] = snap.grid.y;
  const px = (x) => ((x - x0) / (x1 - x0)) * W, py = (y) => ((y1 - y) / (y1 - y0)) * H;
  const dot = (p, ring) => {
    const v = scale(p[2]);
    ctx.beginPath();
    ctx.arc(px(p[0]), py(p[1]), 3.2, 0, 2 * Math.PI);
    ctx.fillStyle = colour(v);
    ctx.fill();
    ctx.lineWidth = 1;
    ctx.strokeStyle = ring;
    ctx.stroke();
  };
  for (const p of points.train) dot(p, "#fff");
  if (opts.showTest) for (const p of points.test) dot(p, "#111");
  const mark = points.train[opts.mark];      // step mode's sample, ringed so it can be found
  if (mark) {
    ctx.beginPath();
    ctx.arc(px(mark[0]), py(mark[1]), 7, 0, 2 * Math.PI);
    ctx.lineWidth = 2;
    ctx.strokeStyle = "#000";
    ctx.stroke();
  }
}

// A line chart of series (arrays of numbers) sharing an x axis; `log` plots log10.
export function drawLines(canvas, series, colours, log = false) {
  const ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  const tf = (v) => (log ? Math.log10(Math.max(v, 1e-12)) : v);
  let lo = Infinity, hi = -Infinity, len = 0;
  for (const s of series) {
    len = Math.max(len, s.length);
    for (const v of s) if (Number.isFinite(v)) { lo = Math.min(lo, tf(v)); hi = Math.max(hi, tf(v)); }
  }
  if (len < 2 || !(hi >= lo)) return;
  if (!log) lo = Math.min(lo, 0);
  if (hi - lo < 1e-9) hi = lo + 1;
  series.forEach((s, k) => {
    ctx.beginPath();
    s.forEach((v, i) => {
      const x = (i / (len - 1)) * (W - 2) + 1, y = H - 2 - ((tf(v) - lo) / (hi - lo)) * (H - 4);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.strokeStyle = colours[k % colours.length];
    ctx.lineWidth = 1.5;
    ctx.stroke();
  });
  if (log) {                                // the decades, so the reader can tell 1e-6 from 1e-1
    ctx.fillStyle = "#777";
    ctx.font = "10px sans-serif";
    ctx.fillText(`1e${Math.round(hi)}`, 2, 10);
    ctx.fillText(`1e${Math.round(lo)}`, 2, H - 3);
  }
}

export const SERIES = ["#1f6fb2", "#e0802c", "#3a9a4a", "#b04a9a", "#8a6d3b", "#4aa3a3", "#c23b3b"];

// A number for people: 4 significant digits, or scientific when tiny or huge.
export function fmt(v) {
  if (typeof v !== "number") return String(v);
  if (!Number.isFinite(v)) return String(v);
  if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5)) return v.toExponential(3);
  return Number(v.toPrecision(4)).toString();
}
