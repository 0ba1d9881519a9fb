"""Property-based API testing: schemathesis generates requests from /openapi.json and checks
that no response is a server error and every response matches the document, one operation at
a time (test_api_stateful.py follows the links between them)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from paperboard.web.app import create_app
from paperboard.web.tokens import token_hash

pytestmark = pytest.mark.sqlite_only  # the API layer is the same on every backend
EMPTY_FEED = (Path(__file__).parent.parent / "fixtures" / "arxiv_api" / "empty.xml").read_bytes()
TOKEN = "pb_schemathesis-token"


@contextmanager
def arxiv_that_knows_nothing() -> Iterator[str]:
    """A local arXiv API that answers every query with an empty feed (paper not found)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/atom+xml")
            self.send_header("Content-Length", str(len(EMPTY_FEED)))
            self.end_headers()
            self.wfile.write(EMPTY_FEED)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/api/query"
    finally:
        httpd.shutdown()
        httpd.server_close()


def schema_with_token(settings, store, arxiv_url: str) -> schemathesis.schemas.BaseSchema:
    """The app's OpenAPI schema, served in-process, with a user who holds ``TOKEN``."""
    user = store.create_user("robot", "not-a-real-hash")
    store.create_api_token(user.id, "schemathesis", token_hash(TOKEN))
    app = create_app(settings.model_copy(update={"arxiv_api_url": arxiv_url}), store)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture
def api_schema(settings, loaded_store):
    with arxiv_that_knows_nothing() as url:
        yield schema_with_token(settings, loaded_store, url)


# schemathesis's own pytest plugin does not run under this pytest version, so each operation
# gets a hypothesis test of its own here (same strategies, same checks).
# Derandomized, so CI is reproducible; PAPERBOARD_FUZZ_EXAMPLES=1000 explores longer.
SETTINGS = hypothesis_settings(
    max_examples=int(os.environ.get("PAPERBOARD_FUZZ_EXAMPLES", "80")), deadline=None, database=None, derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)  # fmt: skip


def test_api_matches_its_openapi_document(api_schema):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 6
    for operation in operations:

        @SETTINGS
        @given(case=operation.as_strategy())
        def check(case):
            # Authenticated, so the write endpoints are exercised past the 401. Every check
            # runs except "schema-valid data is accepted": the document cannot say that a
            # search needs at least one word (``q=-x`` is a clear 400).
            case.call_and_validate(
                headers={"Authorization": f"Bearer {TOKEN}"},
                excluded_checks=[positive_data_acceptance],
            )

        check()
