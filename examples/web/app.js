// The demo page: four panels, each a thin UI over one solve in worker.js (a module Web Worker, so the page
// stays responsive). window.runAllPanels() runs the four with default settings and reports what they
// produced; tests/browser.test.ts calls it.

// ---- the worker ---------------------------------------------------------------------------------------
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
let seq = 0;
const pending = new Map();
worker.onmessage = (e) => {
  const { id, ok, result, error, progress } = e.data;
  const p = pending.get(id);
  if (!p) return;
  if (progress !== undefined) {
    p.onProgress?.(progress);
    return;
  }
  pending.delete(id);
  if (ok) p.resolve(result);
  else p.reject(new Error(error));
};
worker.onerror = (e) => {
  const err = new Error(`worker failed: ${e.message || 'could not load worker.js or the library (is dist/ built? see the console)'}`);
  for (const p of pending.values()) p.reject(err);
  pending.clear();
  $('backends').textContent = err.message;
};
function call(op, args, transfer = [], onProgress = undefined) {
  return new Promise((resolve, reject) => {
    const id = ++seq;
    pending.set(id, { resolve, reject, onProgress });
    worker.postMessage({ id, op, args }, transfer);
  });
}

const $ = (id) => document.getElementById(id);
/** The first getContext call fixes the attributes: every canvas here is read back (painted(), image data). */
const ctx2d = (canvas) => canvas.getContext('2d', { willReadFrequently: true });
function status(id, text, isError = false) {
  const el = $(id);
  el.textContent = text;
  el.classList.toggle('error', isError);
}
/** Pixels of a canvas that differ from white (or are not transparent): "did it draw anything". */
function painted(canvas) {
  const d = ctx2d(canvas).getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let p = 0; p < d.length; p += 4) if (d[p + 3] > 0 && (d[p] < 250 || d[p + 1] < 250 || d[p + 2] < 250)) n++;
  return n;
}
/** Seeded uniforms (mulberry32) for the presets: the same clouds on every load. */
function rand(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- panel 1: two point clouds, exact plan, displacement interpolation -------------------------------
const clouds = { X: [], Y: [], plan: null, bundled: null };
const view = { minX: -1.6, maxX: 2.6, minY: -1.5, maxY: 1.9 };

async function bundledClouds() {
  if (!clouds.bundled) clouds.bundled = await (await fetch(new URL('../data/clouds.json', import.meta.url))).json();
  return clouds.bundled;
}
async function loadPreset(name, n) {
  if (name === 'ring-moons') {
    const d = await bundledClouds();
    const step = d.source.length / n;
    clouds.X = Array.from({ length: n }, (_, i) => d.source[Math.floor(i * step)]);
    clouds.Y = Array.from({ length: n }, (_, i) => d.target[Math.floor(i * step)]);
  } else if (name === 'blobs') {
    const r = rand(7);
    const g = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    const centres = [[-0.8, 1.0], [-0.9, -0.8], [0.2, 0.1]];
    clouds.X = Array.from({ length: n }, (_, i) => [centres[i % 3][0] + 0.22 * g(), centres[i % 3][1] + 0.22 * g()]);
    clouds.Y = Array.from({ length: n }, () => { const s = r(); return [1.1 + 0.9 * s + 0.05 * g(), -1.1 + 2.6 * s + 0.05 * g()]; });
  } else {
    clouds.X = [];
    clouds.Y = [];
  }
  clouds.plan = null;
  fitView();
  drawClouds();
}
function fitView() {
  const all = [...clouds.X, ...clouds.Y];
  if (all.length < 2) return;
  let [minX, maxX, minY, maxY] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const [x, y] of all) {
    minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y);
  }
  const c = $('clouds-canvas');
  const pad = 0.08;
  const sx = (maxX - minX) || 1;
  const sy = (maxY - minY) || 1;
  // keep the aspect ratio of the data
  const scale = Math.max(sx / c.width, sy / c.height) * (1 + 2 * pad);
  const cx = (minX + maxX) / 2;
  const cy = (minY + maxY) / 2;
  Object.assign(view, { minX: cx - (scale * c.width) / 2, maxX: cx + (scale * c.width) / 2, minY: cy - (scale * c.height) / 2, maxY: cy + (scale * c.height) / 2 });
}
const toPx = (c, [x, y]) => [((x - view.minX) / (view.maxX - view.minX)) * c.width, c.height - ((y - view.minY) / (view.maxY - view.minY)) * c.height];
const fromPx = (c, px, py) => [view.minX + (px / c.width) * (view.maxX - view.minX), view.minY + ((c.height - py) / c.height) * (view.maxY - view.minY)];

function drawClouds() {
  const c = $('clouds-canvas');
  const g = ctx2d(c);
  g.fillStyle = '#fff';
  g.fillRect(0, 0, c.width, c.height);
  const t = Number($('clouds-t').value);
  const dot = (p, r, colour) => {
    const [x, y] = toPx(c, p);
    g.fillStyle = colour;
    g.beginPath();
    g.arc(x, y, r, 0, 2 * Math.PI);
    g.fill();
  };
  const plan = clouds.plan;
  if (plan && $('clouds-lines').checked) {
    g.strokeStyle = 'rgba(120,120,120,0.35)';
    g.lineWidth = 0.7;
    g.beginPath();
    for (let k = 0; k < plan.vals.length; k++) {
      const [x0, y0] = toPx(c, clouds.X[plan.rows[k]]);
      const [x1, y1] = toPx(c, clouds.Y[plan.cols[k]]);
      g.moveTo(x0, y0);
      g.lineTo(x1, y1);
    }
    g.stroke();
  }
  for (const p of clouds.X) dot(p, 2.2, 'rgba(31,119,180,0.85)');
  for (const p of clouds.Y) dot(p, 2.2, 'rgba(255,127,14,0.85)');
  if (plan) {
    // displacement interpolation: each plan entry (i, j, mass) carries its mass along (1 − t)·x_i + t·y_j
    const mean = 1 / Math.max(clouds.X.length, clouds.Y.length);
    for (let k = 0; k < plan.vals.length; k++) {
      const x = clouds.X[plan.rows[k]];
      const y = clouds.Y[plan.cols[k]];
      const r = 1.2 + 2.2 * Math.sqrt(plan.vals[k] / mean);
      dot([(1 - t) * x[0] + t * y[0], (1 - t) * x[1] + t * y[1]], Math.min(r, 5), 'rgba(44,160,44,0.9)');
    }
  }
}

async function runClouds() {
  if (!clouds.X.length || !clouds.Y.length) {
    status('clouds-status', 'add points to both clouds first (click the canvas)', true);
    return null;
  }
  status('clouds-status', `solving ${clouds.X.length} × ${clouds.Y.length}…`);
  try {
    const r = await call('clouds', { X: clouds.X, Y: clouds.Y });
    clouds.plan = r;
    drawClouds();
    status('clouds-status', `W₂² = ${r.cost.toFixed(6)}  (${r.status}, ${r.vals.length} plan entries, ${r.backend}, ${r.ms.toFixed(1)} ms in the worker)`);
    return { cost: r.cost, entries: r.vals.length, n: clouds.X.length, m: clouds.Y.length, backend: r.backend, painted: painted($('clouds-canvas')) };
  } catch (e) {
    status('clouds-status', e.message, true);
    throw e;
  }
}

// ---- panel 2: colour transfer ---------------------------------------------------------------------------
/** Two small procedural images (no assets to ship): a warm sunset and a cool sea-and-forest. */
function drawSunset(c) {
  const g = ctx2d(c);
  const sky = g.createLinearGradient(0, 0, 0, c.height);
  sky.addColorStop(0, '#2b1055');
  sky.addColorStop(0.45, '#d4418e');
  sky.addColorStop(0.7, '#ffb347');
  sky.addColorStop(1, '#ffe29a');
  g.fillStyle = sky;
  g.fillRect(0, 0, c.width, c.height);
  const sun = g.createRadialGradient(c.width * 0.62, c.height * 0.62, 2, c.width * 0.62, c.height * 0.62, c.height * 0.3);
  sun.addColorStop(0, '#fffbe0');
  sun.addColorStop(1, 'rgba(255,200,80,0)');
  g.fillStyle = sun;
  g.fillRect(0, 0, c.width, c.height);
  g.fillStyle = '#3a1c32';
  g.beginPath();
  g.moveTo(0, c.height);
  for (let x = 0; x <= c.width; x += 4) g.lineTo(x, c.height * (0.78 + 0.08 * Math.sin(x / 9) + 0.04 * Math.sin(x / 3.7)));
  g.lineTo(c.width, c.height);
  g.fill();
}
function drawSea(c) {
  const g = ctx2d(c);
  const bg = g.createLinearGradient(0, 0, c.width, c.height);
  bg.addColorStop(0, '#0b3d91');
  bg.addColorStop(0.5, '#1e90a8');
  bg.addColorStop(1, '#7fd1b9');
  g.fillStyle = bg;
  g.fillRect(0, 0, c.width, c.height);
  for (let i = 0; i < 7; i++) {
    g.fillStyle = i % 2 ? '#2e6b3a' : '#9bd770';
    g.beginPath();
    g.ellipse(10 + i * 13, c.height * 0.8, 9, 14 + (i % 3) * 5, 0, 0, 2 * Math.PI);
    g.fill();
  }
  g.fillStyle = '#e8f4f8';
  g.fillRect(0, c.height * 0.12, c.width, 3);
}
const imageOf = (c) => ctx2d(c).getImageData(0, 0, c.width, c.height);

async function runColour() {
  const src = imageOf($('colour-src'));
  const dst = imageOf($('colour-dst'));
  const method = $('colour-method').value;
  const samples = Number($('colour-samples').value);
  status('colour-status', `OT between ${samples} colour samples of each image (${method})…`);
  try {
    const r = await call('colour', {
      src: { width: src.width, height: src.height, data: src.data },
      dst: { width: dst.width, height: dst.height, data: dst.data },
      samples,
      method,
      seed: 1,
    });
    const out = $('colour-out');
    ctx2d(out).putImageData(new ImageData(r.data, src.width, src.height), 0, 0);
    status('colour-status', `colour cost (W₂² in RGB) = ${r.cost.toFixed(5)}  (${r.backend}, ${r.samples} samples, solve ${r.solveMs.toFixed(0)} ms, total ${r.ms.toFixed(0)} ms; mean |Δ| per channel ${r.meanShift.toFixed(3)})`);
    return { cost: r.cost, backend: r.backend, meanShift: r.meanShift, painted: painted(out), pixels: out.width * out.height };
  } catch (e) {
    status('colour-status', e.message, true);
    throw e;
  }
}

// ---- panel 3: barycenter of two shapes -----------------------------------------------------------------
function shapes(kind, size) {
  const A = new Float64Array(size * size);
  const B = new Float64Array(size * size);
  for (let i = 0; i < size; i++)
    for (let j = 0; j < size; j++) {
      const y = (i + 0.5) / size;
      const x = (j + 0.5) / size;
      if (kind === 'ring-cross') {
        const r = Math.hypot(x - 0.5, y - 0.5);
        A[i * size + j] = r > 0.22 && r < 0.36 ? 1 : 0;
        B[i * size + j] = (Math.abs(x - 0.5) < 0.08 && Math.abs(y - 0.5) < 0.36) || (Math.abs(y - 0.5) < 0.08 && Math.abs(x - 0.5) < 0.36) ? 1 : 0;
      } else {
        A[i * size + j] = Math.hypot(x - 0.3, y - 0.32) < 0.2 ? 1 : 0;
        B[i * size + j] = Math.abs(x - 0.68) < 0.2 && Math.abs(y - 0.66) < 0.2 ? 1 : 0;
      }
    }
  return [A, B];
}
/** Draw a histogram on a size × size grid, scaled to the canvas, dark = mass. */
function drawGrid(canvas, p, size) {
  let max = 0;
  for (const v of p) max = Math.max(max, v);
  const img = new ImageData(size, size);
  for (let q = 0; q < size * size; q++) {
    const v = max > 0 ? p[q] / max : 0;
    img.data[q * 4] = 255 - 230 * v;
    img.data[q * 4 + 1] = 255 - 150 * v;
    img.data[q * 4 + 2] = 255 - 60 * v;
    img.data[q * 4 + 3] = 255;
  }
  const tmp = new OffscreenCanvas(size, size);
  tmp.getContext('2d').putImageData(img, 0, 0);
  const g = ctx2d(canvas);
  g.imageSmoothingEnabled = false;
  g.drawImage(tmp, 0, 0, canvas.width, canvas.height);
}

let baryBusy = null;
let baryAgain = false;
async function runBarycenter() {
  if (baryBusy) {
    baryAgain = true; // coalesce slider moves: one more solve after the running one
    return baryBusy;
  }
  const size = Number($('bary-size').value);
  const t = Number($('bary-t').value);
  const [A, B] = shapes($('bary-shapes').value, size);
  drawGrid($('bary-a'), A, size);
  drawGrid($('bary-b'), B, size);
  status('bary-status', `barycenter on ${size} × ${size}, weights (${(1 - t).toFixed(2)}, ${t.toFixed(2)})…`);
  baryBusy = (async () => {
    try {
      // ε in squared grid units (the grid spans [0, 1]); below ~0.003 the kernel's blurs underflow and mass is lost
      const reg = 0.004;
      const r = await call('barycenter', { size, t, reg, shapes: [A, B] });
      drawGrid($('bary-out'), r.barycenter, size);
      let mass = 0;
      let finite = true;
      for (const v of r.barycenter) {
        mass += v;
        if (!Number.isFinite(v)) finite = false;
      }
      status('bary-status', `${r.iterations} iterations${r.status === 'converged' ? '' : ' (not converged)'}, ε = ${reg.toPrecision(2)}, mass ${mass.toFixed(4)}, ${r.backend}, ${r.ms.toFixed(0)} ms`);
      return { size, t, mass, finite, iterations: r.iterations, converged: r.converged, painted: painted($('bary-out')) };
    } catch (e) {
      status('bary-status', e.message, true);
      throw e;
    }
  })();
  try {
    return await baryBusy;
  } finally {
    baryBusy = null;
    if (baryAgain) {
      baryAgain = false;
      void runBarycenter();
    }
  }
}

// ---- panel 4: neural OT map (trainNOT in the worker) ----------------------------------------------------
const neural = { result: null, busy: null };
/** Fixed view: the 8 Gaussians (radius 2) and the moons ([−1, 2] × [−0.5, 1]) both fit. */
const nview = { minX: -2.7, maxX: 2.7, minY: -2.18, maxY: 2.18 };
const toPxN = (c, x, y) => [((x - nview.minX) / (nview.maxX - nview.minX)) * c.width, c.height - ((y - nview.minY) / (nview.maxY - nview.minY)) * c.height];

function drawNeural() {
  const c = $('neural-canvas');
  const g = ctx2d(c);
  g.fillStyle = '#fff';
  g.fillRect(0, 0, c.width, c.height);
  const r = neural.result;
  if (!r) return;
  const show = (id) => $(id).checked;
  const dots = (P, colour, rad) => {
    g.fillStyle = colour;
    for (let i = 0; i < r.n; i++) {
      const [x, y] = toPxN(c, P[2 * i], P[2 * i + 1]);
      g.beginPath();
      g.arc(x, y, rad, 0, 2 * Math.PI);
      g.fill();
    }
  };
  if (show('neural-lines')) {
    // a few displacements x → T(x, z)
    g.strokeStyle = 'rgba(120,120,120,0.45)';
    g.lineWidth = 0.7;
    g.beginPath();
    for (let i = 0; i < r.n; i += 4) {
      const [x0, y0] = toPxN(c, r.X[2 * i], r.X[2 * i + 1]);
      const [x1, y1] = toPxN(c, r.T[2 * i], r.T[2 * i + 1]);
      g.moveTo(x0, y0);
      g.lineTo(x1, y1);
    }
    g.stroke();
  }
  dots(r.X, 'rgba(31,119,180,0.85)', 2);
  if (show('neural-target')) dots(r.Y, 'rgba(255,127,14,0.75)', 2);
  dots(r.T, 'rgba(44,160,44,0.85)', 2);
}

async function runNeural() {
  if (neural.busy) return neural.busy;
  const iterations = Number($('neural-iterations').value);
  const n = 400;
  $('neural-run').disabled = true;
  status('neural-status', `training NOT (${iterations} iterations) in the worker…`);
  let progressEvents = 0;
  neural.busy = (async () => {
    try {
      const r = await call('neural', { iterations, n, seed: 0 }, [], (p) => {
        progressEvents++;
        $('neural-progress').value = p.step / p.iterations;
        status('neural-status', `iteration ${p.step} / ${p.iterations}, loss ${p.loss.toFixed(4)}  (${(p.ms / 1000).toFixed(1)} s)`);
      });
      neural.result = r;
      $('neural-progress').value = 1;
      drawNeural();
      status(
        'neural-status',
        `trained ${r.iterations} iterations in ${(r.trainMs / 1000).toFixed(1)} s (final loss ${r.loss.toFixed(4)}). ` +
          `Exact W₂² (emd, ${r.n} vs ${r.n} samples): identity ${r.w2Before.toFixed(4)} → T(x, z) ${r.w2After.toFixed(4)} ` +
          `(${(r.w2Before / r.w2After).toFixed(1)}× lower, ${r.status})`,
      );
      return {
        iterations: r.iterations,
        n: r.n,
        loss: r.loss,
        w2Before: r.w2Before,
        w2After: r.w2After,
        status: r.status,
        trainMs: r.trainMs,
        progressEvents,
        finished: true,
        painted: painted($('neural-canvas')),
      };
    } catch (e) {
      status('neural-status', e.message, true);
      throw e;
    }
  })();
  try {
    return await neural.busy;
  } finally {
    neural.busy = null;
    $('neural-run').disabled = false;
  }
}

// ---- wiring ---------------------------------------------------------------------------------------------
function wire() {
  const cv = $('clouds-canvas');
  $('clouds-preset').onchange = async () => {
    await loadPreset($('clouds-preset').value, Number($('clouds-n').value));
    if (clouds.X.length) await runClouds();
  };
  $('clouds-n').onchange = $('clouds-preset').onchange;
  $('clouds-clear').onclick = () => loadPreset('empty', 0);
  $('clouds-run').onclick = () => runClouds();
  $('clouds-t').oninput = () => {
    $('clouds-t-value').textContent = Number($('clouds-t').value).toFixed(2);
    drawClouds();
  };
  $('clouds-lines').onchange = drawClouds;
  cv.onclick = (e) => {
    const rect = cv.getBoundingClientRect();
    const p = fromPx(cv, ((e.clientX - rect.left) * cv.width) / rect.width, ((e.clientY - rect.top) * cv.height) / rect.height);
    (($('clouds-draw').value === 'source') ? clouds.X : clouds.Y).push(p);
    clouds.plan = null; // the old plan no longer matches the points
    drawClouds();
    status('clouds-status', `${clouds.X.length} source, ${clouds.Y.length} target points: press "solve"`);
  };
  $('colour-run').onclick = () => runColour();
  $('colour-method').onchange = () => runColour();
  $('bary-t').oninput = () => {
    $('bary-t-value').textContent = Number($('bary-t').value).toFixed(2);
    runBarycenter();
  };
  $('bary-shapes').onchange = () => runBarycenter();
  $('bary-size').onchange = () => runBarycenter();
  $('neural-run').onclick = () => runNeural();
  $('neural-lines').onchange = drawNeural;
  $('neural-target').onchange = drawNeural;
}

/** Runs the four panels with the current settings; used on load and by the browser test. */
async function runAllPanels() {
  const t0 = performance.now();
  if (!clouds.X.length) await loadPreset($('clouds-preset').value, Number($('clouds-n').value));
  const result = { clouds: await runClouds(), colour: await runColour(), barycenter: await runBarycenter(), neural: await runNeural() };
  result.ms = performance.now() - t0;
  return result;
}
window.runAllPanels = runAllPanels;

drawSunset($('colour-src'));
drawSea($('colour-dst'));
wire();
drawNeural();
call('backends')
  .then((list) => {
    $('backends').textContent = 'backends: ' + list.map((b) => (b.available ? `${b.name} ✓` : `${b.name} ✗ (${b.reason})`)).join(' · ');
  })
  .catch((e) => ($('backends').textContent = e.message));
// start with everything drawn, unless a test drives the page (?manual)
window.demoReady = new URLSearchParams(location.search).has('manual') ? Promise.resolve(null) : runAllPanels();
