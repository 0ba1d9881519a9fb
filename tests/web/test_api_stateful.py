"""Stateful API fuzzing: schemathesis follows the OpenAPI links (web/api/links.py) from one
response to the next request, so scenarios read like a person's session: list the day's
papers, upvote the first, save it, file it in a new collection, delete the collection, ask
for it again. Every response is checked against the document, no answer is a 5xx, and the
stateful checks hold (a created collection can be fetched, a deleted one is gone).

Each request carries an API token, so the library endpoints run past the 401 and their
writes feed later steps. Runs on SQLite and PostgreSQL, derandomized and bounded (~10 s per
backend); ``PAPERBOARD_FUZZ_EXAMPLES=500 pytest tests/web/test_api_stateful.py`` explores
longer (the number of scenarios).
"""

from __future__ import annotations

import os
from collections import Counter
from itertools import count

from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import ensure_resource_availability, positive_data_acceptance

from paperboard.web.tokens import token_hash

from .test_schemathesis import arxiv_that_knows_nothing, schema_with_token

SCENARIOS = int(os.environ.get("PAPERBOARD_FUZZ_EXAMPLES", "25"))
RUN = hypothesis_settings(
    max_examples=SCENARIOS, stateful_step_count=10, deadline=None, derandomize=True, database=None,
    phases=[Phase.generate], suppress_health_check=list(HealthCheck),
)  # fmt: skip


def test_api_workflows_follow_the_links(settings, loaded_store) -> None:
    answered: Counter[tuple[str, int]] = Counter()
    followed: Counter[str] = Counter()  # links whose values led to a 2xx
    with arxiv_that_knows_nothing() as arxiv_url:
        schema = schema_with_token(settings, loaded_store, arxiv_url)
        machine = schema.as_state_machine()

        people = count(1)

        class Session(machine):  # type: ignore[misc, valid-type]
            def setup(self):
                # A new person per scenario: each starts with an empty library, so the same
                # draws meet the same state (Hypothesis requires it) and nothing leaks between.
                n = next(people)
                user = loaded_store.create_user(f"visitor{n}", "not-a-real-hash")
                self.token = f"pb_stateful-{n}"
                loaded_store.create_api_token(user.id, "stateful", token_hash(self.token))

            def get_call_kwargs(self, case):
                return {"headers": {"Authorization": f"Bearer {self.token}"}}

            def step(self, input):
                output = super().step(input)
                if (
                    input.transition is not None
                    and input.is_applied
                    and 200 <= output.response.status_code < 300
                ):
                    followed[input.transition.id] += 1
                return output

            def after_call(self, response, case):
                super().after_call(response, case)
                answered[case.operation.label, response.status_code] += 1

            def validate_response(self, response, case, additional_checks=None, **kwargs):
                # "Schema-valid data is accepted" is left out, as in test_schemathesis.py: the
                # document cannot say that a search needs a word (``q=-x`` is a clear 400).
                excluded = [positive_data_acceptance]
                if response.status_code == 404 and response.content.startswith(
                    b'{"detail":"no paper'
                ):
                    # Filing a made-up paper in a just-created collection: the 404 names the
                    # paper, and "created resource not found" cannot tell that from the
                    # collection. A 404 for the collection itself is still checked.
                    excluded.append(ensure_resource_availability)
                case.validate_response(
                    response, additional_checks=additional_checks, excluded_checks=excluded,
                    transport_kwargs=kwargs or None, recorder=self.recorder,
                )  # fmt: skip

        Session.run(settings=RUN)

    def ok(label: str) -> int:
        return sum(n for (op, status), n in answered.items() if op == label and 200 <= status < 300)

    # The links carried real data (a link followed with its values answered 2xx), and the
    # caller's own library answered (not only 401s and 404s).
    assert len(followed) >= 4, followed
    library = (
        "GET /api/collections",
        "GET /api/library",
        "GET /api/dismissals",
        "POST /api/collections",
    )
    assert all(ok(label) for label in library), answered
    assert not any(status == 401 for _, status in answered), "every request is authenticated"


# Failures the stateful run found, kept as plain regression tests.
def test_every_body_that_cannot_be_parsed_is_a_documented_400(client, loaded_store) -> None:
    """FastAPI answers 400 to a body that is not JSON; POST /api/dismissals and
    POST /api/collections/{id}/papers did not document it."""
    document = client.get("/openapi.json").json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                assert "400" in operation["responses"], f"{method.upper()} {path}"
    user = loaded_store.create_user("reader", "not-a-real-hash")
    loaded_store.create_api_token(user.id, "t", token_hash("pb_reader"))
    headers = {"Authorization": "Bearer pb_reader", "Content-Type": "application/json"}
    assert (
        client.post("/api/dismissals", content=b"\xff\x00\xff", headers=headers).status_code == 400
    )


def test_the_largest_filtered_search_answers(client, loaded_store) -> None:
    """limit=120 with a filter asked pgvector for ef_search=1200 (its maximum is 1000): a 500."""
    from paperboard.search.embedder import load_embedder
    from paperboard.search.embedding import embed_missing

    embed_missing(loaded_store, load_embedder())
    params = {"q": "attention", "limit": 120, "category": "cs.CL", "mode": "dense"}
    r = client.get("/api/papers/search", params=params)
    assert r.status_code == 200, r.text[:300]
    assert all("cs.CL" in hit["paper"]["categories"] for hit in r.json())


def test_a_paper_id_with_a_nul_is_just_not_found(client, loaded_store) -> None:
    """PostgreSQL refuses NUL in text: POST /api/dismissals {"paper_id": "<\\u0000"} was a 500."""
    user = loaded_store.create_user("nul", "not-a-real-hash")
    loaded_store.create_api_token(user.id, "t", token_hash("pb_nul"))
    auth = {"Authorization": "Bearer pb_nul"}
    for path in ("/api/dismissals", "/api/library"):
        assert client.post(path, json={"paper_id": "<\x00"}, headers=auth).status_code == 404
        assert client.delete(path + "/%3C%00", headers=auth).json() == {
            "paper_id": "<\x00",
            "changed": False,
        }
    assert client.get("/api/papers/%3C%00").status_code == 404
    assert client.post("/api/papers/%3C%00/upvote", headers=auth).status_code == 404
    assert client.get("/api/papers/%3C%00/similar").status_code == 404
