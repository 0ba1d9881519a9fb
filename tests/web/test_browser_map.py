"""The map of the field in a real headless Chromium (WebGL by SwiftShader): the page draws
points and region labels, a search lights its hits, a hostile title stays text, hovering a
point shows its title and clicking it opens its paper."""

from __future__ import annotations

import time

import numpy as np
import pytest

from paperboard.map.service import rebuild
from paperboard.search.embedder import STATIC_MODEL, load_embedder
from paperboard.search.embedding import embed_missing

from .conftest import XSS_TITLE
from .test_browser import CHROMIUM, live_server, page  # noqa: F401 (the live server and Chromium fixtures)

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]
if not CHROMIUM.exists():
    pytestmark.append(
        pytest.mark.skip(reason="no /usr/bin/chromium: run scripts/ensure-chromium.sh")
    )

PIXELS = """() => {
  const c = document.querySelector('#map-canvas canvas');
  const t = document.createElement('canvas');
  t.width = c.width; t.height = c.height;
  const g = t.getContext('2d');
  g.drawImage(c, 0, 0);
  const d = g.getImageData(0, 0, t.width, t.height).data;
  let drawn = 0, lit = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] > 40) drawn++;
    if (d[i + 3] > 200 && d[i] > 235 && Math.abs(d[i + 1] - 157) < 25 && d[i + 2] < 50) lit++;
  }
  return [drawn, lit];
}"""


def _pixels_until(pg, done, timeout: float = 15.0) -> tuple[int, int]:
    """(drawn, lit) pixels once ``done`` holds: deck.gl draws on its next animation frame,
    later than the DOM says the data arrived when the machine is busy."""
    deadline = time.monotonic() + timeout
    while True:
        drawn, lit = pg.evaluate(PIXELS)
        if done(drawn, lit) or time.monotonic() > deadline:
            return drawn, lit
        pg.wait_for_timeout(100)


def test_map_draws_searches_and_opens_a_paper(live_server, page, loaded_store, settings):  # noqa: F811
    base = live_server
    embed_missing(loaded_store, load_embedder(STATIC_MODEL))
    data = rebuild(loaded_store, settings.data_dir)
    assert len(data) == loaded_store.count_papers()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    page.goto(f"{base}/map")
    page.wait_for_selector("#map-frame[data-ready='1']")
    drawn, lit = _pixels_until(page, lambda drawn, lit: drawn > 200)
    assert drawn > 200 and lit == 0  # points on the canvas, nothing highlighted yet
    assert page.locator("#map-labels .map-label").count() > 0

    # Search: the product's search API; its hits light up on the map and are listed.
    page.fill("#map-q", "robot grasping diffusion policies")
    page.click("#map-tools button[type=submit]")
    page.wait_for_selector("#map-frame[data-hits]:not([data-hits='0'])")
    assert _pixels_until(page, lambda drawn, lit: lit > 20)[1] > 20
    assert "Diffusion Policies for Robot Grasping" in page.locator("#map-hits").inner_text()

    # A hostile title is listed and hovered as text, never as markup.
    page.fill("#map-q", "Robust Attention")
    page.click("#map-tools button[type=submit]")
    page.wait_for_selector("#map-hits a >> text=Robust Attention")
    assert XSS_TITLE in page.locator("#map-hits").inner_text()
    assert page.locator("#map-hits img, #map-hits script, #map-tip img").count() == 0
    page.click("#map-clear")

    # Hover then click the most isolated point (no neighbour under the cursor).
    xy = data.xy.astype(np.float64)
    d = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(d, np.inf)
    row = int(d.min(axis=1).argmax())
    paper = loaded_store.get_paper(data.ids[row])
    sx, sy = page.evaluate(
        "([x, y]) => document.getElementById('map-frame').mapToScreen(x, y)",
        [float(xy[row, 0]), float(xy[row, 1])],
    )
    box = page.locator("#map-canvas").bounding_box()
    page.mouse.move(box["x"] + sx, box["y"] + sy)
    page.wait_for_selector("#map-tip:not([hidden])")
    assert page.locator("#map-tip strong").inner_text() == paper.title
    page.mouse.click(box["x"] + sx, box["y"] + sy)
    page.wait_for_url(f"{base}/papers/{paper.id}")
    assert page.locator("h1").first.inner_text().strip() == paper.title
    assert dialogs == [] and page.errors == []
