"""The OpenAPI document is produced without Ray, and the web app's copy of it is current."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from serve.openapi import openapi_document

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "frontend" / "src" / "api" / "openapi.json"
# an entry of None in sys.modules makes `import ray` raise ImportError
WITHOUT_RAY = (
    "import sys, runpy; sys.modules['ray'] = None; "
    "runpy.run_module('serve.openapi', run_name='__main__')"
)


def test_the_document_is_made_with_ray_unimportable() -> None:
    made = subprocess.run(
        [sys.executable, "-c", WITHOUT_RAY], capture_output=True, text=True, check=False, cwd=ROOT
    )

    assert made.returncode == 0, made.stderr
    assert "/api/v1/orders" in json.loads(made.stdout)["paths"]


def test_the_web_apps_copy_of_the_document_is_current() -> None:
    committed = json.loads(COMMITTED.read_text())

    assert committed == openapi_document(), "regenerate it: make openapi"
