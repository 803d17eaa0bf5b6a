"""The web app at ``/``: the built files of ``frontend/``, and ``index.html`` for its routes.

A GET or HEAD for a path that is not the API's (``/api``, ``/health``, the docs) is answered
from the built directory: a file when there is one, otherwise ``index.html`` so that a client
route (``/markets/BTC``) opened directly or reloaded starts the app. A missing file with an
extension, and everything else, goes on to the API (a problem-details 404 there).
"""

from __future__ import annotations

from pathlib import Path

from starlette.responses import FileResponse
from starlette.types import ASGIApp, Receive, Scope, Send

NOT_THE_WEB_APP = ("/api", "/health", "/docs", "/redoc", "/openapi.json")
INDEX = "index.html"
# Vite names each bundled file by its content hash: it never changes, so it may be kept
IMMUTABLE = "public, max-age=31536000, immutable"
# index.html names the current bundles: always asked again, so a release is seen at once
REVALIDATE = "no-cache"


class WebApp:
    """Serve ``directory`` (a Vite build) in front of ``app``; absent, pass everything on."""

    def __init__(self, app: ASGIApp, directory: Path) -> None:
        self.app = app
        self.directory = directory.resolve()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        file = self._file_for(scope) if scope["type"] == "http" else None
        if file is None:
            await self.app(scope, receive, send)
            return
        hashed = file.parent.name == "assets"
        headers = {"cache-control": IMMUTABLE if hashed else REVALIDATE}
        await FileResponse(file, headers=headers)(scope, receive, send)

    def _file_for(self, scope: Scope) -> Path | None:
        path: str = scope["path"]
        if scope["method"] not in ("GET", "HEAD") or is_api_path(path):
            return None
        index = self.directory / INDEX
        if not index.is_file():
            return None  # not built: the API alone
        wanted = (self.directory / path.lstrip("/")).resolve()
        if wanted.is_relative_to(self.directory) and wanted.is_file():
            return wanted
        if "." in path.rsplit("/", 1)[-1]:
            return None  # a file that is not there (favicon.ico...): a 404, not the app
        return index


def is_api_path(path: str) -> bool:
    """Whether ``path`` belongs to the API or its docs rather than to the web app."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in NOT_THE_WEB_APP)
