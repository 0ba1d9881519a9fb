"""The map of the field on both backends: build, place, storage, corrupt and missing files,
papers without vectors, an empty store, the CLI's --json and the binary endpoint.

The corpus is synthetic and small: three topics with their own words, and vectors written
straight into the store under the corpus model's name (clustered around one direction per
topic), so a test needs no embedding model and still checks that neighbours stay together.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from paperboard.cli import main
from paperboard.map.build import build_map, map_model
from paperboard.map.service import MapRefresher, MapService, place_pending, rebuild
from paperboard.map.storage import MapFileError, load, map_path, save
from paperboard.models import Paper
from paperboard.search.embedder import STATIC_MODEL
from paperboard.web.app import create_app

TOPICS = {
    "cs.RO": ("robot grasping", "gripper manipulation grasping robot arm tactile"),
    "cs.CL": ("language translation", "translation tokens multilingual language corpus"),
    "astro-ph.GA": ("galaxy survey", "galaxy dark matter telescope redshift survey"),
}
PER_TOPIC = 80
WITHOUT_VECTORS = 12
HOSTILE = '<img src=x onerror=alert(1)> Galaxy "quoted" </span><script>alert(2)</script>'
DIM = 64
NEWEST = date(2026, 7, 1)


def corpus(per_topic: int = PER_TOPIC) -> tuple[list[Paper], np.ndarray, list[str]]:
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(len(TOPICS), DIM))
    papers, vectors, topics = [], [], []
    for t, (category, (name, words)) in enumerate(TOPICS.items()):
        vocab = words.split()
        for i in range(per_topic):
            n = t * per_topic + i
            title = (
                HOSTILE if n == 5 else f"{name.title()} study {i}: {' '.join(rng.choice(vocab, 3))}"
            )
            abstract = " ".join(rng.choice(vocab, 40)) + f" experiment number {i}."
            papers.append(Paper(id=f"2607.{n + 1:05d}", title=title, abstract=abstract, authors=["A. Author"],
                                categories=[category], primary_category=category,
                                feed_day=NEWEST - timedelta(days=n % 40)))  # fmt: skip
            v = centres[t] + 0.35 * rng.normal(size=DIM)
            vectors.append(v / np.linalg.norm(v))
            topics.append(category)
    return papers, np.asarray(vectors, dtype=np.float32), topics


@pytest.fixture
def mapped(tmp_store, request):
    """A store with the corpus; every paper but the last WITHOUT_VECTORS has its vector.
    Parametrized indirectly with a smaller size where the projection does not matter (below
    projection.SMALL papers the map is PCA: fast)."""
    papers, vectors, topics = corpus(getattr(request, "param", PER_TOPIC))
    tmp_store.upsert_papers(papers)
    keys = tmp_store.paper_keys([p.id for p in papers])
    order = [keys[p.id] for p in papers]
    n = len(papers) - WITHOUT_VECTORS
    tmp_store.put_vectors(STATIC_MODEL, order[:n], vectors[:n])
    return tmp_store, papers, vectors, order, topics


def _same_topic_share(data, topics_by_key: dict[int, str], rows) -> float:
    """Share of these points' 5 nearest points on the map that share their topic."""
    xy = data.xy.astype(np.float64)
    share = []
    for r in rows:
        d = ((xy - xy[r]) ** 2).sum(axis=1)
        d[r] = np.inf
        near = np.argsort(d)[:5]
        mine = topics_by_key[int(data.keys[r])]
        share.append(np.mean([topics_by_key[int(data.keys[j])] == mine for j in near]))
    return float(np.mean(share))


def test_build_then_place_papers_whose_vectors_arrive(mapped, settings):
    store, papers, vectors, keys, topics = mapped
    topic_of = dict(zip(keys, topics, strict=True))
    # The worker's map thread: the day's first pass builds the whole map.
    refresher = MapRefresher(store, settings.data_dir, today=lambda: "2026-07-01")
    n_with = len(papers) - WITHOUT_VECTORS
    assert refresher.step() == f"rebuilt: {n_with} papers"
    data = load(map_path(settings.data_dir))
    assert map_model(store) == STATIC_MODEL and data.model == STATIC_MODEL
    assert len(data) == n_with and data.method == "opentsne"
    assert set(data.keys.tolist()) == set(keys[:n_with])  # papers without vectors wait, no crash
    assert _same_topic_share(data, topic_of, range(len(data))) > 0.9

    # Regions: the coarsest level separates the topics and names them by their words.
    coarse = data.labels[0]
    assert 1 < len(coarse) <= len(data) // 8
    words = " ".join(" ".join(lab.keywords) for lab in coarse)
    for word in ("galaxy", "translation", "gripper"):
        assert word in words
    assert len(data.labels) == 3 and data.clusters.shape == (3, len(data))
    assert sorted(data.categories) == sorted(TOPICS)

    # Storage round trip: what was saved is what loads.
    back = load(map_path(settings.data_dir))
    assert (
        back.ids == data.ids
        and np.array_equal(back.xy, data.xy)
        and np.array_equal(back.clusters, data.clusters)
    )
    assert [[lab.keywords for lab in level] for level in back.labels] == [
        [lab.keywords for lab in level] for level in data.labels
    ]

    # Nothing new: nothing placed, the file is left alone.
    mtime = map_path(settings.data_dir).stat().st_mtime_ns
    assert place_pending(store, settings.data_dir).placed == 0
    assert map_path(settings.data_dir).stat().st_mtime_ns == mtime

    # The missing vectors arrive: the worker's next pass places those papers, among their
    # own topic, without rebuilding.
    store.put_vectors(STATIC_MODEL, keys[n_with:], vectors[n_with:])
    assert refresher.step() == f"placed {WITHOUT_VECTORS}"
    placed = load(map_path(settings.data_dir))
    assert len(placed) == len(papers) and placed.placed_since_build == WITHOUT_VECTORS
    assert np.array_equal(placed.xy[: len(data)], data.xy)  # the old points did not move
    new_rows = placed.rows_of(keys[n_with:])
    assert (new_rows >= len(data)).all()
    assert _same_topic_share(placed, topic_of, new_rows) > 0.8
    assert [placed.ids[r] for r in new_rows] == [p.id for p in papers[n_with:]]


def test_a_corpus_larger_than_the_projection_takes_is_laid_out_from_a_sample(mapped):
    """Above PROJECTED_MAX papers (a million: t-SNE would take hours) the projection lays out
    a uniform sample and the rest are placed among it: every paper is still on the map, among
    its own topic, in a region of every level, and the regions count every paper."""
    store, papers, vectors, keys, topics = mapped
    topic_of = dict(zip(keys, topics, strict=True))
    n_with = len(papers) - WITHOUT_VECTORS
    data = build_map(store, projected_max=60)
    assert len(data) == n_with and set(data.keys.tolist()) == set(keys[:n_with])
    assert np.isfinite(data.xy).all()
    assert _same_topic_share(data, topic_of, range(60, n_with)) > 0.8  # the placed ones
    for level, labels in enumerate(data.labels):
        assert data.clusters[level].max() < len(labels)
        assert sum(lab.size for lab in labels) == n_with
    words = " ".join(" ".join(lab.keywords) for lab in data.labels[0])
    for word in ("galaxy", "translation", "gripper"):
        assert word in words


@pytest.mark.parametrize("mapped", [40], indirect=True)
def test_corrupt_or_missing_file_is_detected_and_rebuilt(mapped, settings):
    store = mapped[0]
    path = map_path(settings.data_dir)
    with pytest.raises(MapFileError, match="no map file"):
        load(path)
    data = rebuild(store, settings.data_dir)
    assert data.method == "pca"
    raw = path.read_bytes()
    for broken in (raw[:-40] + b"\x01" * 40, b"not a map at all", raw[: len(raw) // 2]):
        path.write_bytes(broken)
        with pytest.raises(MapFileError, match="corrupt"):
            load(path)
    outcome = place_pending(store, settings.data_dir)
    assert outcome.rebuilt and "corrupt" in outcome.rebuilt and outcome.placed == 0
    assert len(load(path)) == len(data)

    # The web says so while it rebuilds, then serves the new file.
    path.write_bytes(b"garbage")
    service = MapService(store, settings.data_dir)
    first = service.view()
    assert first.data is None and first.status == "building" and "corrupt" in first.message
    assert service.wait_idle(120)
    assert len(service.view().data) == len(data)


def test_empty_store_map_and_page(tmp_store, settings):
    data = build_map(tmp_store)
    assert len(data) == 0 and data.labels and all(level == [] for level in data.labels)
    save(data, map_path(settings.data_dir))
    assert len(load(map_path(settings.data_dir))) == 0
    map_path(settings.data_dir).unlink()
    with TestClient(create_app(settings, tmp_store)) as client:
        page = client.get("/map")
        assert page.status_code == 200 and "No papers yet" in page.text
        assert client.get("/map/meta.json").json()["papers"] == 0
        assert client.get("/map/points.bin").status_code == 503


def test_cli_json_and_binary_endpoint(mapped, settings, monkeypatch):
    store, papers, vectors, keys, topics = mapped
    monkeypatch.setenv("PAPERBOARD_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("PAPERBOARD_DATABASE_URL", settings.resolved_database_url)
    runner = CliRunner()
    built = runner.invoke(main, ["map", "build", "--json"])
    assert built.exit_code == 0, built.output
    summary = json.loads(built.stdout)
    assert summary["papers"] == len(papers) - WITHOUT_VECTORS and summary["method"] == "opentsne"
    store.put_vectors(STATIC_MODEL, keys[-3:], vectors[-3:])
    placed = json.loads(runner.invoke(main, ["map", "place", "--json"]).stdout)
    assert (
        placed["placed"] == 3
        and placed["papers"] == summary["papers"] + 3
        and placed["rebuilt"] is None
    )

    data = load(map_path(settings.data_dir))
    levels = len(data.labels)
    with TestClient(create_app(settings, store)) as client:
        assert "Map of the field" in client.get("/map").text
        meta = client.get("/map/meta.json").json()
        assert meta["papers"] == len(data) and len(meta["levels"]) == levels
        assert meta["newest_date"] == NEWEST.isoformat()
        r = client.get("/map/points.bin", params={"start": 10, "count": 50})
        assert (
            r.headers["content-type"] == "application/octet-stream"
            and r.headers["x-map-rows"] == "10-60"
        )
        body, c = r.content, 50
        assert len(body) == c * (
            8 + 2 * levels + 4
        )  # 18 bytes a paper at three levels: no JSON per point
        xy = np.frombuffer(body, "<f4", 2 * c).reshape(c, 2)
        clusters = np.frombuffer(body, "<u2", levels * c, offset=8 * c).reshape(levels, c)
        category = np.frombuffer(body, "<u2", c, offset=8 * c + 2 * levels * c)
        day = np.frombuffer(body, "<u2", c, offset=8 * c + 2 * levels * c + 2 * c)
        assert np.array_equal(xy, data.xy[10:60]) and np.array_equal(
            clusters, data.clusters[:, 10:60]
        )
        assert np.array_equal(category, data.category[10:60]) and np.array_equal(
            day, data.day[10:60]
        )

        # Hover and search look-ups: a hostile title travels as JSON text (the page sets it
        # with textContent); unknown ids are reported as missing, not errors.
        hostile_row = data.row_of[keys[5]]
        point = client.get(f"/map/point/{hostile_row}").json()
        assert point["title"] == HOSTILE and point["id"] == papers[5].id
        found = client.get(
            "/map/locate", params={"ids": f"{papers[5].id},{papers[0].id},2699.99999"}
        ).json()
        assert [h["id"] for h in found["hits"]] == [papers[5].id, papers[0].id] and found[
            "missing"
        ] == ["2699.99999"]
        assert client.get(f"/map/point/{len(data)}").status_code == 404

        # The paper page carries the inset.
        page = client.get(f"/papers/{papers[0].id}")
        assert 'id="map-inset"' in page.text and 'src="/static/map.js"' in page.text
