"""Property-based fuzzing of the inventory routes on a populated catalogue (the whole-API fuzz
test runs them on an empty one): whatever the query or path, never a 5xx."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.unit.test_market_api import populated_market

MARKET = populated_market()
schema = schemathesis.openapi.from_asgi("/openapi.json", MARKET.app).include(
    path_regex="^/api/v1/inventory"
)


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_query_or_path_makes_the_inventory_answer_5xx(case: schemathesis.Case) -> None:
    response = case.call()

    case.validate_response(response, checks=[not_a_server_error])
    if response.status_code >= 400:
        assert response.headers["content-type"][0].startswith("application/problem+json")
