"""Property-based fuzzing of the whole HTTP API from its OpenAPI document (schemathesis):
whatever a client sends, valid or not, the answer is never a 5xx and every error is a problem."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from serve.app import create_api
from tests.unit.api import build_api

API = build_api(raise_app_exceptions=False)
TOKEN = API.new_user()["Authorization"].removeprefix("Bearer ")
schema = schemathesis.openapi.from_asgi("/openapi.json", create_api(API.runtime))


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_the_api_answer_5xx(case: schemathesis.Case) -> None:
    response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})

    case.validate_response(response, checks=[not_a_server_error])
    if response.status_code >= 400:
        assert response.headers["content-type"][0].startswith("application/problem+json")
