"""Schemathesis against the API's own OpenAPI spec: generated requests, valid and invalid, over a
small scored warehouse never get a 5xx, and every answer matches its documented schema.

Invalid requests are not required to be rejected (schemathesis' negative_data_rejection): the
API parses numbers leniently, as pydantic does, so `min_dropbacks=0.0` is read as 0.

The operations are driven through `APIOperation.as_strategy` with plain hypothesis: the
pytest integration of schemathesis (`schemathesis.pytest.from_fixture`) does not run under
pytest 9. Default runs are derandomized (the same examples every run); `make soak` draws fresh
random examples, SOAK_ITERATIONS x 20 per operation.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis import checks as st_checks
from schemathesis.core.failures import ServerError

from passing_score.reports.api.app import create_app
from passing_score.reports.leaderboard import board as lb
from tests.factories.boards import make_scored_warehouse

# the spec does not depend on the data: read it from an app over a file that is never opened
SPEC: dict[str, Any] = create_app(Path("spec-only.duckdb")).openapi()
OPERATIONS = sorted(p for p, item in SPEC["paths"].items() if "get" in item)
WITH_PARAMETERS = [p for p in OPERATIONS if SPEC["paths"][p]["get"].get("parameters")]
EXAMPLES = 40
SOAK_EXAMPLES = 20 * int(os.environ.get("SOAK_ITERATIONS", "25"))
CHECKS = ("not_a_server_error", "response_schema_conformance", "status_code_conformance",
          "content_type_conformance")


@pytest.fixture(scope="module")
def scored_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scored synthetic warehouse (read only)."""
    return make_scored_warehouse(tmp_path_factory.mktemp("schemathesis") / "w.duckdb")


@pytest.fixture(scope="module")
def api_schema(scored_db: Path) -> schemathesis.BaseSchema:
    """The OpenAPI schema loaded from the ASGI app over the scored warehouse."""
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(scored_db))


def fuzz(schema: schemathesis.BaseSchema, path: str, mode: GenerationMode, examples: int,
         derandomize: bool) -> None:
    """Send `examples` generated GET requests to one operation and run the checks on each."""
    checks = [getattr(st_checks, name) for name in CHECKS]
    operation = schema[path]["GET"]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=examples, deadline=None, derandomize=derandomize, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=checks)

    run()


def test_spec_lists_every_endpoint() -> None:
    assert {"/health", "/seasons", "/leaderboard", "/qbs/{passer_id}", "/qbs/{passer_id}/games",
            "/games/{game_id}/scores"} <= set(OPERATIONS)


def test_a_server_error_is_caught(scored_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fuzz fails when the API answers 5xx (here: a bug turned into a logged 503)."""
    def bug(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(lb, "board", bug)
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(scored_db))
    with pytest.raises(BaseExceptionGroup) as failures:
        fuzz(schema, "/leaderboard", GenerationMode.POSITIVE, 5, derandomize=True)
    assert failures.group_contains(ServerError)


@pytest.mark.parametrize("path", OPERATIONS)
def test_valid_requests_get_no_5xx_and_match_the_schema(api_schema: schemathesis.BaseSchema,
                                                        path: str) -> None:
    fuzz(api_schema, path, GenerationMode.POSITIVE, EXAMPLES, derandomize=True)


@pytest.mark.parametrize("path", WITH_PARAMETERS)
def test_invalid_requests_get_no_5xx_and_match_the_schema(api_schema: schemathesis.BaseSchema,
                                            path: str) -> None:
    fuzz(api_schema, path, GenerationMode.NEGATIVE, EXAMPLES, derandomize=True)


@pytest.mark.soak
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("path", OPERATIONS)
def test_soak_schemathesis(api_schema: schemathesis.BaseSchema, path: str,
                           mode: GenerationMode) -> None:
    if mode == GenerationMode.NEGATIVE and path not in WITH_PARAMETERS:
        pytest.skip("no parameters to make invalid")
    fuzz(api_schema, path, mode, SOAK_EXAMPLES, derandomize=False)
