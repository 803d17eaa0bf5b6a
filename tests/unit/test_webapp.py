"""The web app at /: its built files, index.html for its routes, and the API left alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cluster.local import web_app_note
from serve.api import build_api
from serve.settings import Settings
from serve.webapp import is_api_path

INDEX = "<!doctype html><title>Order Processor</title>"


@pytest.fixture
def built(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(INDEX)
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log(1)")
    (tmp_path.parent / "secret.txt").write_text("not served")
    return tmp_path


def client_for(directory: Path) -> TestClient:
    settings = Settings(environment="test", web_app_dir=str(directory))
    return TestClient(build_api(settings, None))


def test_the_root_is_the_web_app_under_its_own_content_security_policy(built: Path) -> None:
    response = client_for(built).get("/")

    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-security-policy"].startswith("default-src 'self'")


def test_a_client_route_opened_directly_starts_the_app(built: Path) -> None:
    response = client_for(built).get("/markets/BTC")

    assert response.status_code == 200
    assert response.text == INDEX


def test_a_hashed_bundle_is_served_to_be_kept(built: Path) -> None:
    response = client_for(built).get("/assets/index-abc123.js")

    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_a_missing_file_is_a_problem_not_the_app(built: Path) -> None:
    response = client_for(built).get("/favicon.ico")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_nothing_outside_the_built_directory_is_served(built: Path) -> None:
    response = client_for(built).get("/../secret.txt")

    assert "not served" not in response.text


def test_an_unknown_api_path_stays_an_api_problem(built: Path) -> None:
    response = client_for(built).get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_a_post_is_never_answered_by_the_web_app(built: Path) -> None:
    response = client_for(built).post("/markets", json={})

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_without_a_build_the_root_is_a_problem(tmp_path: Path) -> None:
    response = client_for(tmp_path / "absent").get("/")

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("path", "api"),
    [
        ("/api", True),
        ("/api/v1/orders", True),
        ("/health/ready", True),
        ("/docs", True),
        ("/openapi.json", True),
        ("/apis", False),
        ("/healthy-portfolio", False),
        ("/", False),
        ("/orders", False),
    ],
)
def test_the_api_paths_are_told_from_the_web_apps(path: str, api: bool) -> None:
    assert is_api_path(path) is api


def test_the_launcher_says_how_to_build_a_missing_web_app(built: Path, tmp_path: Path) -> None:
    assert web_app_note({"web_app_dir": str(built)}) == ""
    assert "make web" in web_app_note({"web_app_dir": str(tmp_path / "absent")})
