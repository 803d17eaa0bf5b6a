"""Print the API's OpenAPI document, without Ray or any store: the web app's typed client is
generated from it (``make openapi``; ``make lint`` fails when the committed copy drifts).

    python -m serve.openapi > frontend/src/api/openapi.json
"""

from __future__ import annotations

import json
import sys
from typing import Any

from serve.api import build_api
from serve.settings import Settings


def openapi_document() -> dict[str, Any]:
    """The document of the app as it is deployed (the settings do not change its shape)."""
    settings = Settings(environment="development", version=Settings.model_fields["version"].default)
    document: dict[str, Any] = build_api(settings, None).openapi()
    return document


def main() -> None:
    json.dump(openapi_document(), sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
