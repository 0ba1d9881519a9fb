"""The map of the field: which 2-D projection, measured on the real corpus.

On 5,000 papers sampled from the prepared 75k store (bench/lib/corpus.py), with the
product's own vectors (the transformer ``minilm-l6-int8`` where the store has them, else the
corpus model ``minilm-static-256``), for PCA (the baseline) and each method tried:

- **kNN kept**: the share of each paper's 10 nearest neighbours in the vector space (cosine)
  that are among its 10 nearest on the map (euclidean);
- build time and peak RSS (each method runs in a fresh process; RSS includes the
  interpreter and the 5,000 x 384 sample, shown by the ``(baseline)`` row);
- **placement**: the method is fitted on 4,500 papers and the other 500 are placed
  incrementally, (a) by the product's kNN placement among the already-placed papers and
  (b) by the method's own ``transform`` where it has one; they are compared with a full
  rebuild on all 5,000: the kNN kept of the placed papers (the rebuild's own figure
  beside it) and their distance from where the rebuild puts them, after aligning the
  rebuild onto the incremental map (Procrustes on the 4,500 shared papers), in units of
  the map's RMS radius.

Then the product's build (``paperboard.map.build``) of the whole 75k corpus is timed in a
fresh process (target <= 5 min on 2 cores) and 500 papers are placed into it (target
<= 5 s), with the machine's load average printed beside, because figures taken on a busy
machine move 2-3x.

    python bench/map.py                    # everything (a few minutes per method)
    python bench/map.py --methods pca,opentsne --no-full
    python bench/map.py --render           # the WebGL scatter libraries in headless Chromium
    python bench/map.py --page             # the product's own /map page at 75k, in Chromium

``--page`` copies the prepared 75k store, builds its map (``paperboard map build``), serves it
(``paperboard serve``) and opens ``/map`` in headless Chromium (SwiftShader: WebGL on the
CPU, so the figures are pessimistic): the time from navigation to the first frame with
points (target <= 2 s on loopback), to every point loaded, the bytes of points fetched, then
the mean and worst frame time while a mouse drag pans the map for 60 frames, and a search
lighting its hits. A 1M store with a built map (``--page-data DIR``) is measured the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.lib.corpus import prepared_75k  # noqa: E402

K = 10
METHODS = ("pca", "opentsne", "umap", "pacmap")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min) / {five:.1f} (5 min) on {os.cpu_count()} cores"


def open_prepared():
    from paperboard.store import open_store

    data_dir = prepared_75k()
    # migrate=False: the prepared store is read, never changed.
    return data_dir, open_store(f"sqlite:///{data_dir / 'paperboard.db'}", migrate=False)


# -- neighbour measures ----------------------------------------------------------------------
def vector_knn(vectors: np.ndarray, k: int = K) -> np.ndarray:
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    return np.argpartition(-sims, k, axis=1)[:, :k]


def map_knn(coords: np.ndarray, k: int = K, rows: np.ndarray | None = None) -> np.ndarray:
    coords = coords.astype(np.float64)
    rows = np.arange(len(coords)) if rows is None else rows
    sq = (coords**2).sum(axis=1)
    d = sq[rows, None] + sq[None, :] - 2 * coords[rows] @ coords.T
    d[np.arange(len(rows)), rows] = np.inf
    return np.argpartition(d, k, axis=1)[:, :k]


def kept(true_nn: np.ndarray, found_nn: np.ndarray) -> float:
    return float(
        np.mean([len(set(a) & set(b)) / len(a) for a, b in zip(true_nn, found_nn, strict=True)])
    )


def procrustes_onto(source: np.ndarray, target: np.ndarray):
    """The similarity transform (rotation or reflection, scale, shift) that best maps the
    rows of ``source`` onto ``target``: a t-SNE picture is only defined up to one."""
    mu_s, mu_t = source.mean(axis=0), target.mean(axis=0)
    a, b = source - mu_s, target - mu_t
    u, s, vt = np.linalg.svd(a.T @ b)
    r = u @ vt
    scale = s.sum() / (a**2).sum()
    return lambda x: (x - mu_s) @ r * scale + mu_t


# -- one method in a fresh process -----------------------------------------------------------
def child(method: str, sample_path: str, n_new: int) -> dict:
    from paperboard.map.projection import knn_position, project

    vectors = np.load(sample_path)
    n = len(vectors)
    base_rss = rss_mb()
    if method == "(baseline)":
        return {"method": method, "rss_mb": base_rss}
    true_nn = vector_knn(vectors)

    t = time.perf_counter()
    full = project(vectors, method)
    seconds = time.perf_counter() - t
    out = {
        "method": method,
        "seconds": seconds,
        "kept": kept(true_nn, map_knn(full)),
        "rss_mb": rss_mb(),
    }

    # Incremental placement: fit on the first n - n_new, place the rest.
    base, new = np.arange(n - n_new), np.arange(n - n_new, n)
    fitted = project(vectors[base], method)
    sims = vectors[new] @ vectors[base].T
    align = procrustes_onto(full[base], fitted)
    rebuilt_new = align(full[new])
    radius = 1.0  # project() scales every map to RMS radius 1

    def judge(
        placed: np.ndarray, onto: np.ndarray = fitted, rebuilt: np.ndarray = rebuilt_new
    ) -> dict:
        combined = np.vstack([onto, placed])
        return {
            "kept": kept(true_nn[new], map_knn(combined, rows=new)),
            "error": float(np.median(np.linalg.norm(placed - rebuilt, axis=1)) / radius),
        }

    out["rebuild_kept_new"] = kept(true_nn[new], map_knn(full, rows=new))
    variants = {"knn10": (10, None), "knn5": (5, None), "knn20": (20, None), "knn10-mean": (10, 1e9),
                "knn10-t0.05": (10, 0.05)}  # fmt: skip
    for name, (k, temperature) in variants.items():
        t = time.perf_counter()
        top = np.argpartition(-sims, k, axis=1)[:, :k]
        kwargs = {} if temperature is None else {"temperature": temperature}
        placed = knn_position(fitted[top], np.take_along_axis(sims, top, axis=1), **kwargs)
        out[name] = {**judge(placed), "seconds": time.perf_counter() - t}
    transformed = method_transform(method, vectors[base], vectors[new])
    if transformed is not None:
        own_fit, coords, secs = transformed
        # The method's model is fitted again here (project() keeps none): judged on that map.
        own_rebuilt = procrustes_onto(full[base], own_fit)(full[new])
        out["transform"] = {**judge(coords, own_fit, own_rebuilt), "seconds": secs}
    out["rss_mb"] = max(out["rss_mb"], rss_mb())
    return out


def method_transform(method: str, base: np.ndarray, new: np.ndarray):
    """(fitted map, placed papers, seconds) by the method's own out-of-sample placement,
    both in project()'s normalised coordinates."""
    if method == "opentsne":
        from openTSNE import TSNE

        emb = TSNE(
            perplexity=30, metric="cosine", initialization="pca", n_jobs=2, random_state=0
        ).fit(base)
        t = time.perf_counter()
        placed = np.asarray(emb.transform(new))
        secs = time.perf_counter() - t
        fitted = np.asarray(emb)
    elif method == "umap":
        import umap

        reducer = umap.UMAP(n_neighbors=15, min_dist=0.1, metric="cosine", n_jobs=2, init="pca")
        fitted = reducer.fit_transform(base)
        t = time.perf_counter()
        placed = reducer.transform(new)
        secs = time.perf_counter() - t
    elif method == "pacmap":
        import pacmap

        reducer = pacmap.PaCMAP(n_components=2, n_neighbors=10, random_state=0, save_tree=True)
        fitted = reducer.fit_transform(base, init="pca")
        t = time.perf_counter()
        placed = reducer.transform(new, basis=base)
        secs = time.perf_counter() - t
    else:
        return None
    # project() centres and scales by the fitted map; apply the same to the placed points.
    mean = fitted.mean(axis=0)
    scale = np.sqrt(((fitted - mean) ** 2).sum(axis=1).mean())
    norm = lambda a: ((np.asarray(a) - mean) / scale).astype(np.float32)  # noqa: E731
    return norm(fitted), norm(placed), secs


def run_child(args: list[str]) -> dict:
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- the product's build at 75k --------------------------------------------------------------
def full_child(index_copy: str, n_place: int) -> dict:
    from paperboard.map.build import build_map, place_keys

    _, store = open_prepared()
    t = time.perf_counter()
    data = build_map(store)
    build_seconds = time.perf_counter() - t
    out = {"papers": len(data), "model": data.model, "method": data.method, "build_seconds": build_seconds,
           "build_rss_mb": rss_mb(), "levels": [len(level) for level in data.labels],
           "kept": kept_on_map(store, data)}  # fmt: skip
    # A day's new papers: the newest n_place taken off the map, then placed back.
    newest = np.argsort(data.keys)[-n_place:]
    keys = data.keys[newest].copy()
    before = data.xy[newest].copy()
    smaller = data.without(newest)
    t = time.perf_counter()
    placed = place_keys(store, smaller, keys.tolist(), index_dir=Path(index_copy))
    out["place_seconds"] = time.perf_counter() - t
    out["placed"] = placed.placed
    after = placed.data.xy[placed.data.rows_of(keys)]
    out["place_error"] = float(np.median(np.linalg.norm(after - before, axis=1)))
    store.close()
    return out


def kept_on_map(store, data, n: int = 2000) -> float:
    """kNN kept (10) of ``n`` random papers of the built map, against all its papers."""
    keys, vectors = [], []
    for batch in store.iter_vectors(data.model):
        keys.append(batch.keys)
        vectors.append(batch.vectors)
    by_key = dict(zip(np.concatenate(keys).tolist(), np.vstack(vectors), strict=True))
    matrix = np.vstack([by_key[int(k)] for k in data.keys])
    rows = np.random.default_rng(1).choice(len(data), size=min(n, len(data)), replace=False)
    xy = data.xy.astype(np.float64)
    shares = []
    for block in np.array_split(rows, max(1, len(rows) // 200)):
        sims = matrix[block] @ matrix.T
        sims[np.arange(len(block)), block] = -np.inf
        true = np.argpartition(-sims, K, axis=1)[:, :K]
        d = ((xy[block, None, :] - xy[None, :, :]) ** 2).sum(axis=2)
        d[np.arange(len(block)), block] = np.inf
        found = np.argpartition(d, K, axis=1)[:, :K]
        shares += [len(set(a) & set(b)) / K for a, b in zip(true, found, strict=True)]
    return float(np.mean(shares))


def full(n_place: int) -> dict:
    from paperboard.map.build import map_model

    data_dir, store = open_prepared()
    model = map_model(store)
    store.close()
    with tempfile.TemporaryDirectory(prefix="map-bench-") as tmp:
        # The prepared vector index is copied, so nothing is ever written into the cache.
        for f in (data_dir / "index").glob(f"{model}*"):
            shutil.copy2(f, Path(tmp) / f.name)
        print(f"full build at 75k ({load()}) ...", flush=True)
        out = run_child(["--full-child", tmp, "--place", str(n_place)])
    out["load_after"] = load()
    return out


# -- rendering libraries ---------------------------------------------------------------------
LIBRARIES = {
    "deck.gl 9.4.0": {"packages": ["deck.gl@9.4.0"], "files": {"deck.js": "deck.gl/dist.min.js"}},
    "regl-scatterplot 1.16.0": {
        "packages": ["regl-scatterplot@1.16.0", "regl@2.1.1", "pub-sub-es@3.0.0"],
        "files": {"scatter.js": "regl-scatterplot/dist/regl-scatterplot.min.js", "regl.js": "regl/dist/regl.min.js",
                  "pubsub.mjs": "pub-sub-es/dist/index.js"},
    },
}  # fmt: skip
HARNESS_POINTS = """
function points(n) {  // 12 clusters on a ring, seeded: the same picture for both libraries
  let s = 1; const r = () => (s = (s * 48271) % 2147483647) / 2147483647;
  const x = new Float32Array(n), y = new Float32Array(n), xy = new Float32Array(2 * n), rgba = new Uint8Array(4 * n);
  for (let i = 0; i < n; i++) {
    const c = i % 12, a = (c / 12) * 6.283;
    x[i] = Math.cos(a) * 0.6 + (r() - 0.5) * 0.5; y[i] = Math.sin(a) * 0.6 + (r() - 0.5) * 0.5;
    xy[2 * i] = x[i]; xy[2 * i + 1] = y[i]; rgba.set([30 + c * 18, 120, 200 - c * 10, 200], 4 * i);
  }
  return { x, y, xy, rgba, category: new Float32Array(n).map((_, i) => i % 12) };
}
function panLoop(move) {  // 60 frames, each moving the view; mean ms between frames
  let i = 0, last = performance.now(); const times = [];
  function step() {
    const now = performance.now(); times.push(now - last); last = now;
    move(i++);
    if (i < 60) requestAnimationFrame(step);
    else { window.panMs = times.slice(3).reduce((a, b) => a + b, 0) / (times.length - 3); window.done = true; }
  }
  requestAnimationFrame(step);
}
const N = +new URLSearchParams(location.search).get("n");
"""
HARNESS = {
    "deck.gl 9.4.0": (
        "<script src='deck.js'></script><script src='h.js'></script>",
        HARNESS_POINTS
        + """
const p = points(N); let first = false;
const d = new deck.Deck({
  parent: document.getElementById("box"), views: new deck.OrthographicView({}), initialViewState: { target: [0, 0, 0], zoom: 8 },
  controller: true, layers: [new deck.ScatterplotLayer({ id: "p", radiusUnits: "pixels", getRadius: 2,
    data: { length: N, attributes: { getPosition: { value: p.xy, size: 2 }, getFillColor: { value: p.rgba, size: 4, normalized: true } } } })],
  onAfterRender: () => { if (!first) { first = true; window.firstDraw = performance.now();
    panLoop((i) => d.setProps({ viewState: { target: [i * 0.005, 0, 0], zoom: 8 } })); } },
  onError: (e) => { window.failed = String(e); },
});
""",
    ),
    "regl-scatterplot 1.16.0": ("<script type='module' src='h.mjs'></script>", None),
}
REGL_HARNESS = """import createPubSub from "./pubsub.mjs";
window.createPubSub = createPubSub;
const load = (src) => new Promise((ok, no) => { const s = document.createElement("script"); s.src = src; s.onload = ok; s.onerror = no; document.head.append(s); });
await load("regl.js"); await load("scatter.js"); await load("h.js");
"""
REGL_DRAW = (
    HARNESS_POINTS
    + """
(async () => {
  try {
    const canvas = document.getElementById("c"), { width, height } = canvas.getBoundingClientRect();
    const create = window.createScatterplot.default || window.createScatterplot.createScatterplot;
    const sp = create({ canvas, width, height, pointSize: 4 });
    const p = points(N);
    await sp.draw({ x: p.x, y: p.y, valueA: p.category });
    window.firstDraw = performance.now();
    panLoop((i) => sp.zoomToLocation([i * 0.002, 0], 1, { transition: false }));
  } catch (e) { window.failed = String(e); }
})();
"""
)


def render(sizes: tuple[int, ...] = (75_000, 1_000_000), only: str = "") -> None:
    """Each library in headless Chromium (SwiftShader WebGL, so figures are CPU-bound and
    pessimistic): the scripts' size, the first frame with all points (from navigation start,
    data generation included), the mean frame time while panning; once under the product's
    Content-Security-Policy and, if it fails there, once without."""
    import http.server
    import threading

    from paperboard.web.security import CSP

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("render: playwright is not installed")
        return
    with tempfile.TemporaryDirectory(prefix="map-render-") as tmp:
        root = Path(tmp)
        for name, lib in LIBRARIES.items():
            site = root / name.split()[0]
            site.mkdir()
            packed = subprocess.run(
                ["npm", "pack", "--silent", *lib["packages"]],
                cwd=site,
                capture_output=True,
                text=True,
            )
            if packed.returncode != 0:
                print(f"render: npm pack {lib['packages']} failed: {packed.stderr.strip()[-200:]}")
                continue
            for tgz in site.glob("*.tgz"):
                pkg = tgz.name.rsplit("-", 1)[0]
                (site / pkg).mkdir()
                subprocess.run(
                    ["tar", "xzf", str(tgz), "-C", str(site / pkg), "--strip-components=1"],
                    check=True,
                )
            for dest, src in lib["files"].items():
                shutil.copy(site / src, site / dest)
            tags, script = HARNESS[name]
            if script is None:
                (site / "h.mjs").write_text(REGL_HARNESS)
                script = REGL_DRAW
            (site / "h.js").write_text(script)
            (site / "s.css").write_text(
                "body{margin:0} #box{position:absolute;inset:0} #c{width:1000px;height:700px}"
            )
            body = "<div id='box'></div><canvas id='c'></canvas>"
            (site / "index.html").write_text(
                f"<!doctype html><meta charset='utf-8'><link rel='stylesheet' href='s.css'><body>{body}{tags}</body>"
            )

        csp_on = {"on": True}

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **kw):
                super().__init__(*a, directory=str(root), **kw)

            def end_headers(self):
                if csp_on["on"]:
                    self.send_header("Content-Security-Policy", CSP)
                super().end_headers()

            def log_message(self, *a):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        print(f"\nrendering in headless Chromium (SwiftShader), 1000x700 px; {load()}")
        print(
            "| library | scripts KB | under the product's CSP | points | first draw ms | pan ms/frame |"
        )
        print("|---|---|---|---|---|---|")
        args = [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
        ]
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=args
            )
            for name, lib in LIBRARIES.items():
                site = root / name.split()[0]
                if not (site / "index.html").exists() or only not in name:
                    continue
                kb = sum((site / f).stat().st_size for f in lib["files"]) / 1024
                for n in sizes:
                    for with_csp in (True, False):
                        csp_on["on"] = with_csp
                        page = browser.new_page(viewport={"width": 1000, "height": 700})
                        errors: list[str] = []
                        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                        page.on(
                            "console",
                            # A CSP violation is only a console error; a missing favicon is not one.
                            lambda m, errors=errors: (
                                errors.append(m.text) if "Security Policy" in m.text else None
                            ),
                        )
                        page.goto(
                            f"{base}/{site.name}/index.html?n={n}",
                            wait_until="commit",
                            timeout=120_000,
                        )
                        try:
                            # Polled by evaluate: wait_for_function compiles a string, which the CSP forbids.
                            deadline = time.monotonic() + 180
                            while not page.evaluate("() => !!(window.done || window.failed)"):
                                if errors or time.monotonic() > deadline:
                                    raise RuntimeError(errors[0] if errors else "timed out")
                                time.sleep(0.2)
                            res = page.evaluate(
                                "() => [window.firstDraw, window.panMs, window.failed || null]"
                            )
                        except Exception as exc:  # noqa: BLE001 - report, go on with the next
                            res = [None, None, (errors[:1] or [str(exc).splitlines()[0]])[0]]
                            print(
                                f"  ({name}, {n:,}, CSP {'on' if with_csp else 'off'}: {res[2][:300]})"
                            )
                        page.close()
                        ok = res[2] is None and res[0] is not None
                        csp = (
                            "yes"
                            if with_csp and ok
                            else (
                                "no: " + (res[2] or "did not draw")[:70]
                                if with_csp
                                else "(CSP off)"
                            )
                        )
                        if ok:
                            print(
                                f"| {name} | {kb:.0f} | {csp} | {n:,} | {res[0]:.0f} | {res[1]:.1f} |"
                            )
                        else:
                            print(f"| {name} | {kb:.0f} | {csp} | {n:,} | – | – |")
                        if with_csp and ok:
                            break  # works under the CSP: no need for the run without it
            browser.close()
        server.shutdown()


# -- the product's /map page ----------------------------------------------------------------
PAN_PROBE = """() => new Promise((done) => {
  const times = []; let last = performance.now();
  function tick(now) { times.push(now - last); last = now; if (times.length < 62) requestAnimationFrame(tick); else done(times.slice(2)); }
  requestAnimationFrame(tick);
})"""


def page(data_dir: Path | None = None) -> None:
    """The product's /map page: build the map on a copy of the prepared store (unless a data
    dir with a built map is given), serve it, and measure it in headless Chromium."""
    import socket
    import urllib.request

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("page: playwright is not installed")
        return
    with tempfile.TemporaryDirectory(prefix="map-page-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERBOARD_")}
        if data_dir is None:
            source = prepared_75k()
            data_dir = Path(tmp) / "data"
            shutil.copytree(source, data_dir, ignore=shutil.ignore_patterns("*.lock"))
            env["PAPERBOARD_DATA_DIR"] = str(data_dir)
            print(f"map build on a copy of {source} ({load()}) ...", flush=True)
            t = time.perf_counter()
            built = subprocess.run([sys.executable, "-m", "paperboard", "map", "build", "--json"], env=env,
                                   capture_output=True, text=True)  # fmt: skip
            if built.returncode != 0:
                print(f"page: map build failed: {built.stderr.strip()[-300:]}")
                return
            summary = json.loads(built.stdout.strip().splitlines()[-1])
            print(f"  built: {summary.get('papers', '?'):,} papers placed in {time.perf_counter() - t:.0f} s")
        env["PAPERBOARD_DATA_DIR"] = str(data_dir)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([sys.executable, "-m", "paperboard", "serve", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            deadline = time.monotonic() + 300
            while True:
                try:
                    with urllib.request.urlopen(base + "/readyz", timeout=5) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    print("page: the server did not start")
                    return
                time.sleep(0.5)
            with urllib.request.urlopen(base + "/map", timeout=60):
                pass  # the first request of a process loads the map: a warm server is measured
            _measure_page(sync_playwright, base)
        finally:
            server.terminate()
            server.wait(timeout=60)


def _measure_page(sync_playwright, base: str) -> None:
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=args)
        for run in range(3):
            page_ = browser.new_page(viewport={"width": 1200, "height": 800})
            errors: list[str] = []
            page_.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            fetched = {"bytes": 0}

            def on_response(r, fetched=fetched):
                if "/map/points" in r.url:
                    try:
                        fetched["bytes"] += len(r.body())
                    except Exception:  # noqa: BLE001 - a response the page dropped
                        pass

            page_.on("response", on_response)
            page_.goto(base + "/map", wait_until="commit", timeout=120_000)
            frame = page_.locator("#map-frame")
            deadline = time.monotonic() + 180
            while frame.get_attribute("data-ready") != "1":
                if errors or time.monotonic() > deadline:
                    print(f"  run {run + 1}: {errors[0] if errors else 'the map did not load within 180 s'}")
                    break
                time.sleep(0.05)
            else:
                loaded = page_.evaluate("() => performance.now()")
                first = float(frame.get_attribute("data-first-draw-at") or "nan")
                box = frame.bounding_box()
                cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
                page_.mouse.move(cx, cy)
                page_.mouse.down()
                probe = page_.evaluate_handle(PAN_PROBE)
                for i in range(60):
                    page_.mouse.move(cx - 4 * i, cy - 2 * i)
                page_.mouse.up()
                times = probe.json_value()
                page_.fill("#map-q", "diffusion models")
                page_.press("#map-q", "Enter")
                t = time.monotonic()
                while frame.get_attribute("data-hits") in (None, "0") and time.monotonic() - t < 30:
                    time.sleep(0.05)
                hits = frame.get_attribute("data-hits")
                print(f"  run {run + 1}: first draw {first:.0f} ms after navigation (target <= 2000), every point "
                      f"{loaded:.0f} ms, {fetched['bytes'] / 1e6:.1f} MB of points; pan: mean "
                      f"{sum(times) / len(times):.1f} ms/frame, worst {max(times):.0f} ms; search lit {hits} papers "
                      f"in {time.monotonic() - t:.1f} s")  # fmt: skip
            page_.close()
        browser.close()
    print(f"  ({load()})")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sample", type=int, default=5000)
    ap.add_argument(
        "--new", type=int, default=500, help="papers placed incrementally in the sample"
    )
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--no-full", action="store_true", help="skip the 75k build")
    ap.add_argument("--only-full", action="store_true")
    ap.add_argument("--place", type=int, default=500, help="papers placed into the 75k map")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--render", action="store_true", help="only the rendering libraries")
    ap.add_argument("--page", action="store_true", help="only the product's /map page, in Chromium")
    ap.add_argument("--page-data", help="with --page: a data dir whose map is built (e.g. a 1M store)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--sample-file", help=argparse.SUPPRESS)
    ap.add_argument("--full-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.sample_file, args.new)))
        return
    if args.full_child:
        print(json.dumps(full_child(args.full_child, args.place)))
        return
    if args.render:
        render()
        return
    if args.page:
        page(Path(args.page_data) if args.page_data else None)
        return

    if not args.only_full:
        from paperboard.map.build import map_model

        _, store = open_prepared()
        model = map_model(store)
        keys, vectors = [], []
        for batch in store.iter_vectors(model):
            keys.append(batch.keys)
            vectors.append(batch.vectors)
        store.close()
        vectors = np.vstack(vectors)
        rng = np.random.default_rng(args.seed)
        pick = rng.choice(len(vectors), size=min(args.sample, len(vectors)), replace=False)
        print(
            f"{len(pick):,} of {len(vectors):,} papers, model {model}, {vectors.shape[1]} dims; {load()}"
        )
        with tempfile.TemporaryDirectory(prefix="map-bench-") as tmp:
            sample = Path(tmp) / "sample.npy"
            np.save(sample, vectors[pick])
            rows = [run_child(["--child", "(baseline)", "--sample-file", str(sample)])]
            for method in args.methods.split(","):
                print(f"  {method} ...", flush=True)
                rows.append(
                    run_child(
                        ["--child", method, "--sample-file", str(sample), "--new", str(args.new)]
                    )
                )
        print_table(rows, args.new)
    if not args.no_full:
        out = full(args.place)
        if "error" in out:
            print(f"75k build failed: {out['error']}")
            return
        print(
            f"\nproduct build, whole corpus: {out['papers']:,} papers, model {out['model']}, method {out['method']}"
        )
        print(
            f"  kNN kept (10) of 2,000 random papers among all {out['papers']:,}: {out['kept']:.3f}"
        )
        print(f"  build {out['build_seconds']:.1f} s (target <= 300 s), peak RSS {out['build_rss_mb']:.0f} MB,"
              f" clusters per level {out['levels']}")  # fmt: skip
        print(f"  place {out['placed']} new papers: {out['place_seconds']:.2f} s (target <= 5 s);"
              f" median distance from their built position {out['place_error']:.3f} map radii")  # fmt: skip
        print(f"  {out['load_after']} (after)")


def print_table(rows: list[dict], n_new: int) -> None:
    print("\n| method | build s | peak RSS MB | kNN kept (10) | placed: rebuild kNN kept | placed kNN kept"
          " | placed error (radii) | place s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r.get('method', '?')} | failed: {r['error']} |")
            continue
        if r["method"] == "(baseline)":
            print(f"| (baseline: interpreter + sample) | | {r['rss_mb']:.0f} | | | | | |")
            continue
        for name in ("knn10", "knn5", "knn20", "knn10-mean", "knn10-t0.05", "transform"):
            if name not in r:
                continue
            p = r[name]
            head = (f"| {r['method']} | {r['seconds']:.1f} | {r['rss_mb']:.0f} | {r['kept']:.3f} | {r['rebuild_kept_new']:.3f}"
                    if name == "knn10" else f"| ↳ {name} | | | | ")  # fmt: skip
            print(f"{head} | {name}: {p['kept']:.3f} | {p['error']:.3f} | {p['seconds']:.3f} |")
    print(
        f"(placed = {n_new} papers placed into a map of the other papers; error = median distance from"
        " the full rebuild's position after Procrustes alignment, in map radii)"
    )


if __name__ == "__main__":
    main()
