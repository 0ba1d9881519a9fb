/* The map of the field (/map) and the paper page's "where this paper sits" inset.
 *
 * Points arrive as binary chunks (/map/points.bin: xy float32, region per zoom level uint16,
 * category uint16, day uint16; struct-of-arrays) straight into typed arrays that deck.gl
 * hands to WebGL. Titles and ids are fetched per hovered point; search hits come from the
 * product's search API and are located on the map by id. Every text from the data (titles,
 * keywords, categories) is set with textContent, never parsed as HTML.
 */
(() => {
  "use strict";

  const PALETTE = [
    [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189], [140, 86, 75],
    [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207], [57, 59, 121], [173, 73, 74],
    [99, 121, 57], [140, 109, 49], [123, 65, 115], [82, 84, 163], [107, 174, 214], [253, 174, 107],
    [116, 196, 118], [158, 154, 200],
  ];
  const FADED = [200, 204, 212, 70];
  const ZOOM_OUT_BUDGET = 250000; // points drawn while the whole map is in view (a uniform sample)

  async function getJSON(url) {
    const r = await fetch(url, { headers: { Accept: "application/json" } });
    if (!r.ok) throw new Error(`${url}: ${r.status}`);
    return r.json();
  }

  function paperHref(id) {
    return "/papers/" + id.split("/").map(encodeURIComponent).join("/");
  }

  /** One chunk of /map/points.bin into the big arrays, at row `start`. */
  function unpack(buf, start, levels, into) {
    const c = buf.byteLength / (8 + 2 * levels + 4);
    into.xy.set(new Float32Array(buf, 0, 2 * c), 2 * start);
    const clusters = new Uint16Array(buf, 8 * c, levels * c);
    for (let l = 0; l < levels; l++) into.clusters[l].set(clusters.subarray(l * c, (l + 1) * c), start);
    into.category.set(new Uint16Array(buf, 8 * c + 2 * levels * c, c), start);
    into.day.set(new Uint16Array(buf, 8 * c + 2 * levels * c + 2 * c, c), start);
    return c;
  }

  async function loadPoints(meta, onChunk) {
    const n = meta.papers, levels = meta.levels.length;
    const into = {
      xy: new Float32Array(2 * n), clusters: Array.from({ length: levels }, () => new Uint16Array(n)),
      category: new Uint16Array(n), day: new Uint16Array(n), loaded: 0,
    };
    while (into.loaded < n) {
      const r = await fetch(`/map/points.bin?start=${into.loaded}&count=${meta.chunk}`);
      if (!r.ok) throw new Error(`points: ${r.status}`);
      if (r.headers.get("X-Map-Version") !== meta.version) throw new Error("the map changed while loading");
      into.loaded += unpack(await r.arrayBuffer(), into.loaded, levels, into);
      onChunk(into);
    }
    return into;
  }

  // -- the inset on a paper page -------------------------------------------------------------
  async function inset(box) {
    const canvas = box.querySelector("canvas");
    const meta = await getJSON("/map/meta.json");
    if (meta.status !== "ready" || !meta.papers) return;
    const found = await getJSON(`/map/locate?ids=${encodeURIComponent(box.dataset.paper)}`);
    if (!found.hits.length) return;
    const r = await fetch(`/map/points.bin?start=0&count=${Math.min(meta.papers, 20000)}`);
    if (!r.ok) return;
    const levels = meta.levels.length, buf = await r.arrayBuffer();
    const c = buf.byteLength / (8 + 2 * levels + 4), xy = new Float32Array(buf, 0, 2 * c);
    const [[x0, y0], [x1, y1]] = meta.bounds;
    const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height, pad = 6;
    const s = Math.min((w - 2 * pad) / (x1 - x0 || 1), (h - 2 * pad) / (y1 - y0 || 1));
    const px = (x) => pad + (x - x0) * s, py = (y) => h - pad - (y - y0) * s;
    ctx.fillStyle = "rgba(107,114,128,0.35)";
    for (let i = 0; i < c; i++) ctx.fillRect(px(xy[2 * i]), py(xy[2 * i + 1]), 1.2, 1.2);
    const hit = found.hits[0];
    ctx.fillStyle = "#ff9d00"; ctx.strokeStyle = "#111827"; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.arc(px(hit.x), py(hit.y), 6, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
    box.hidden = false;
    box.querySelector("a").href = `/map?focus=${encodeURIComponent(hit.id)}`;
  }

  // -- the full map ------------------------------------------------------------------------------
  async function fullMap(frame) {
    const status = document.getElementById("map-status");
    const say = (text) => { status.textContent = text; };
    const meta = await getJSON("/map/meta.json");
    if (meta.status !== "ready") { say(meta.message || "The map is not ready."); return; }
    const n = meta.papers, levels = meta.levels.length;
    const [[x0, y0], [x1, y1]] = meta.bounds;
    const canvasBox = document.getElementById("map-canvas");
    const labelsBox = document.getElementById("map-labels");
    const tip = document.getElementById("map-tip");
    const width = () => canvasBox.clientWidth, height = () => canvasBox.clientHeight;
    const fitZoom = Math.log2(Math.min(width() / ((x1 - x0) * 1.08 || 1), height() / ((y1 - y0) * 1.08 || 1)));
    let view = { target: [(x0 + x1) / 2, (y0 + y1) / 2, 0], zoom: fitZoom, minZoom: fitZoom - 2, maxZoom: fitZoom + 9 };
    let pts = null, colours = new Uint8Array(0), colourMode = "cluster", timeMode = "all";
    let lit = null; // Uint8Array of search hits, or null
    let hits = [];

    const levelFor = (zoom) => (zoom < fitZoom + 1 ? 0 : zoom < fitZoom + 2.5 ? 1 : levels - 1);

    function recolour() {
      if (!pts) return;
      const m = pts.loaded, out = new Uint8Array(4 * m);
      const fine = pts.clusters[Math.min(1, levels - 1)];
      const newest = meta.newest_day;
      const span = { all: Infinity, day: 0, week: 6, month: 29 }[timeMode];
      for (let i = 0; i < m; i++) {
        let on = span === Infinity || (pts.day[i] && newest - pts.day[i] <= span);
        if (lit) on = on && lit[i] === 1;
        const c = on ? (colourMode === "cluster" ? PALETTE[fine[i] % PALETTE.length] : PALETTE[pts.category[i] % PALETTE.length]) : FADED;
        out[4 * i] = c[0]; out[4 * i + 1] = c[1]; out[4 * i + 2] = c[2]; out[4 * i + 3] = on ? 210 : FADED[3];
      }
      colours = out;
      redraw();
    }

    function drawCount() {
      if (!pts) return 0;
      // Zoomed out, a uniform sample (rows are shuffled) keeps a million points smooth; zoomed
      // in, every point. Search hits are drawn on their own layer, so none is ever left out.
      return view.zoom < fitZoom + 2 ? Math.min(pts.loaded, ZOOM_OUT_BUDGET) : pts.loaded;
    }

    function layers() {
      const count = drawCount();
      const radius = Math.max(1.2, Math.min(4, 700 / Math.sqrt(Math.max(count, 1)))) * Math.pow(1.25, Math.max(0, view.zoom - fitZoom));
      const out = [];
      if (pts) {
        out.push(new deck.ScatterplotLayer({
          id: "points",
          data: { length: count, attributes: {
            getPosition: { value: pts.xy, size: 2 },
            getFillColor: { value: colours, size: 4, normalized: true },
          } },
          radiusUnits: "pixels", getRadius: Math.min(radius, 7), pickable: true, autoHighlight: true,
          highlightColor: [17, 24, 39, 255], updateTriggers: { getRadius: radius },
        }));
      }
      if (hits.length) {
        out.push(new deck.ScatterplotLayer({
          id: "hits", data: hits, getPosition: (h) => [h.x, h.y], getRadius: 5, radiusUnits: "pixels",
          getFillColor: [255, 157, 0, 255], stroked: true, getLineColor: [17, 24, 39, 255], lineWidthUnits: "pixels",
          getLineWidth: 1.5, pickable: true,
        }));
      }
      return out;
    }

    const deckgl = new deck.Deck({
      parent: canvasBox,
      views: new deck.OrthographicView({ id: "map", flipY: false }),
      initialViewState: view,
      controller: { doubleClickZoom: true, inertia: 200 },
      layers: [],
      onViewStateChange: ({ viewState }) => { view = viewState; deckgl.setProps({ layers: layers() }); placeLabels(); return viewState; },
      onHover: hover,
      onClick: click,
      getCursor: ({ isHovering, isDragging }) => (isDragging ? "grabbing" : isHovering ? "pointer" : "grab"),
      glOptions: { preserveDrawingBuffer: true }, // lets a test (or a screenshot) read the pixels
      useDevicePixels: 1,
    });
    function redraw() { deckgl.setProps({ layers: layers() }); }
    // Map units -> pixels in the map box (for automation: the browser test clicks a point).
    frame.mapToScreen = (x, y) => {
      const vp = deckgl.getViewports()[0];
      return vp ? vp.project([x, y]) : null;
    };

    // Region labels: DOM text over the canvas (textContent), the level chosen by zoom.
    function placeLabels() {
      const level = levelFor(view.zoom), w = width(), h = height();
      const scale = Math.pow(2, view.zoom), [tx, ty] = view.target;
      labelsBox.replaceChildren();
      const taken = [];
      const sorted = meta.levels[level].map((lab, i) => ({ lab, i })).sort((a, b) => b.lab.size - a.lab.size);
      for (const { lab } of sorted) {
        if (!lab.keywords.length) continue;
        const sx = w / 2 + (lab.x - tx) * scale, sy = h / 2 - (lab.y - ty) * scale;
        if (sx < 0 || sy < 0 || sx > w || sy > h) continue;
        const text = lab.keywords.join(" · "), bw = text.length * 6.5 + 12, bh = 20;
        const cx = Math.max(bw / 2, Math.min(w - bw / 2, sx)), cy = Math.max(bh / 2, Math.min(h - bh / 2, sy));
        const box = [cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2];
        if (taken.some((t) => box[0] < t[2] && box[2] > t[0] && box[1] < t[3] && box[3] > t[1])) continue;
        taken.push(box);
        const el = document.createElement("span");
        el.className = `map-label level-${level}`;
        el.textContent = text;
        el.style.left = `${cx}px`; el.style.top = `${cy}px`;
        labelsBox.appendChild(el);
      }
    }

    const pointCache = new Map();
    async function point(row) {
      if (!pointCache.has(row)) pointCache.set(row, getJSON(`/map/point/${row}`).catch(() => null));
      return pointCache.get(row);
    }
    let hovered = -1;
    async function hover(info) {
      const row = info.layer && info.layer.id === "hits" && info.object ? info.object.row : info.index;
      hovered = row;
      if (row == null || row < 0) { tip.hidden = true; return; }
      const p = await point(row);
      if (hovered !== row || !p) return;
      tip.replaceChildren();
      const title = document.createElement("strong");
      title.textContent = p.title;
      const sub = document.createElement("span");
      sub.className = "muted small";
      sub.textContent = [p.category, p.day].filter(Boolean).join(" · ");
      tip.append(title, sub);
      tip.style.left = `${info.x + 14}px`; tip.style.top = `${info.y + 14}px`;
      tip.hidden = false;
    }
    async function click(info) {
      const row = info.layer && info.layer.id === "hits" && info.object ? info.object.row : info.index;
      if (row == null || row < 0) return;
      const p = await point(row);
      if (p) window.location.href = paperHref(p.id);
    }

    // Search: the product's own search API, its hits located on the map and lit.
    const form = document.getElementById("map-tools"), input = document.getElementById("map-q");
    const clear = document.getElementById("map-clear"), list = document.getElementById("map-hits");
    async function highlight(ids, label) {
      const found = ids.length ? await getJSON(`/map/locate?ids=${encodeURIComponent(ids.join(","))}`) : { hits: [], missing: [] };
      hits = found.hits;
      lit = new Uint8Array(n);
      for (const h of hits) lit[h.row] = 1;
      list.replaceChildren(...hits.slice(0, 30).map((h) => {
        const li = document.createElement("li"), a = document.createElement("a");
        a.href = paperHref(h.id); a.textContent = h.title;
        li.append(a);
        return li;
      }));
      const off = found.missing.length ? `; ${found.missing.length} not on the map yet (no vector)` : "";
      say(`${label}: ${hits.length} papers lit${off}.`);
      frame.dataset.hits = String(hits.length);
      clear.hidden = false;
      recolour();
    }
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const q = input.value.trim();
      if (!q) return;
      say("Searching…");
      try {
        const r = await fetch(`/api/papers/search?q=${encodeURIComponent(q)}&limit=50`, { headers: { Accept: "application/json" } });
        const body = await r.json();
        if (!r.ok) { say(typeof body.detail === "string" ? body.detail : "That search could not run."); return; }
        await highlight(body.map((h) => h.paper.id), `“${q}”`);
      } catch (err) { say(`Search failed: ${err.message}`); }
    });
    clear.addEventListener("click", () => {
      lit = null; hits = []; list.replaceChildren(); clear.hidden = true; input.value = "";
      frame.dataset.hits = "0"; say(`${n.toLocaleString()} papers.`); recolour();
    });
    form.addEventListener("change", (ev) => {
      if (ev.target.name === "colour") colourMode = ev.target.value;
      else if (ev.target.name === "time") timeMode = ev.target.value;
      else return;
      recolour();
    });

    say(`Loading ${n.toLocaleString()} papers…`);
    const started = performance.now();
    pts = await loadPoints(meta, (into) => {
      pts = into;
      recolour();
      if (into.loaded === Math.min(n, meta.chunk)) {
        frame.dataset.firstDrawMs = String(Math.round(performance.now() - started));
        frame.dataset.firstDrawAt = String(Math.round(performance.now()));  // since navigation
        placeLabels();
      }
    });
    frame.dataset.ready = "1";
    say(`${n.toLocaleString()} papers. Scroll to zoom, drag to pan, hover for a title, click to open.`);
    const focus = frame.dataset.focus;
    if (focus) await highlight([focus], "This paper");
  }

  function start() {
    const box = document.getElementById("map-inset");
    if (box) inset(box).catch(() => {});
    const frame = document.getElementById("map-frame");
    if (frame && window.deck) {
      fullMap(frame).catch((err) => {
        const status = document.getElementById("map-status");
        if (status) status.textContent = `The map could not be drawn: ${err.message}`;
      });
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
