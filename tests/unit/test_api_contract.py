"""The OpenAPI document declares the problem answers of every operation, and a 405 lists
every method of its path: what the schemathesis run (test_api_fuzz.py) holds the API to."""

from __future__ import annotations

from fastapi import APIRouter

from serve.app import create_api
from serve.problems import DOCUMENTED, PROBLEM_JSON
from tests.unit.api import Api
from tests.unit.test_api_auth import assert_problem


def test_every_operation_documents_its_problem_answers_as_problem_json(api: Api) -> None:
    document = api.get("/openapi.json").json()

    operations = [op for path in document["paths"].values() for op in path.values()]
    assert operations
    for operation in operations:
        for status in DOCUMENTED:
            content = operation["responses"][str(status)]["content"]
            assert list(content) == [PROBLEM_JSON]
            assert content[PROBLEM_JSON]["schema"] == {"$ref": "#/components/schemas/Problem"}
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert {"type", "title", "status", "detail", "instance", "code"} <= set(
        schemas["Problem"]["required"]
    )


def test_a_route_added_later_is_documented_without_doing_anything(api: Api) -> None:
    app = create_api(api.runtime)
    later = APIRouter(prefix="/api/v1/later")

    @later.post("/thing")
    async def thing(value: int) -> dict[str, int]:
        return {"value": value}

    app.include_router(later)

    responses = app.openapi()["paths"]["/api/v1/later/thing"]["post"]["responses"]
    assert {str(status) for status in DOCUMENTED} <= set(responses)
    assert list(responses["422"]["content"]) == [PROBLEM_JSON]


def test_a_wrong_method_lists_every_method_of_the_path(api: Api) -> None:
    user = api.new_user()

    response = api.request("DELETE", "/api/v1/orders", headers=user)

    assert_problem(response, 405, "validation_error")
    assert response.headers["allow"] == "GET, POST"
