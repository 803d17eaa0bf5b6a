"""Property-based fuzzing of the whole HTTP API from its OpenAPI document (schemathesis), with
every default check: whatever a client sends, valid or not, the answer is documented (status,
content type, headers, body schema), never a 5xx, and every error is a problem."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from serve.app import create_api
from tests.unit.api import build_api, registration, unique_username

API = build_api(raise_app_exceptions=False)


def _bearer_token() -> str:
    """A token the way a client gets one: register, then log in (a new session every case, so
    that a generated logout or password change cannot leave later cases unauthenticated)."""
    body = registration(unique_username())
    assert API.post("/api/v1/auth/register", json=body).status_code == 201
    login = API.login(body["username"])
    assert login.status_code == 200, login.text
    token: str = login.json()["access_token"]
    return token


schema = schemathesis.openapi.from_asgi("/openapi.json", create_api(API.runtime))


@schema.auth(refresh_interval=None)
class BearerToken:
    """The registered user's token on every operation, except where schemathesis removes the
    Authorization header on purpose (a negative case, which must then be a 401)."""

    def get(self, case: schemathesis.Case, ctx: schemathesis.AuthContext) -> str:
        return _bearer_token()

    def set(self, case: schemathesis.Case, data: str, ctx: schemathesis.AuthContext) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_conforms_to_the_documented_contract(case: schemathesis.Case) -> None:
    response = case.call()

    # Every default check but positive_data_acceptance (ST202: "schema-valid data is accepted"):
    # the contract (API.md) answers 422 to data a schema cannot express: an asset not traded,
    # a password without each character class, a name with digits, an age under 13, an
    # Idempotency-Key that is not printable ASCII. Those stay 422s, not 2xx.
    case.validate_response(response, excluded_checks=[positive_data_acceptance])
    if response.status_code >= 400:
        assert response.headers["content-type"][0].startswith("application/problem+json")
