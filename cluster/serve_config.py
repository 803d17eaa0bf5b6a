"""The Serve config file, ``cluster/serve_config.yaml``, read by the local launcher.

The file is the one source of the application's deployment options: ``serve deploy`` sends it
to a Ray cluster, the KubeRay RayService carries it verbatim as ``serveConfigV2``, and
``make run`` (``cluster.local``) deploys with the same options through ``serve.run``, which
takes them from here. It is validated with Serve's own schema, so a misspelled field fails here
and more strictly than ``serve deploy``: Serve's schema ignores a field it does not know (a
misspelled ``max_ongoing_request`` would silently keep the default), this refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from ray.serve.config import AutoscalingConfig
from ray.serve.schema import ServeApplicationSchema, ServeDeploySchema

SERVE_CONFIG = Path(__file__).resolve().parent / "serve_config.yaml"
# fields the schema types as plain dicts, which the controller validates later as these models
DICT_FIELD_MODELS: dict[str, type[BaseModel]] = {"autoscaling_config": AutoscalingConfig}


@dataclass(frozen=True)
class ServeConfig:
    """The parsed file, with what the launcher needs of it."""

    schema: ServeDeploySchema

    @classmethod
    def load(cls, path: Path = SERVE_CONFIG) -> ServeConfig:
        """Parse and validate ``path`` (a ValueError names what is wrong)."""
        raw = yaml.safe_load(path.read_text())
        schema = ServeDeploySchema.model_validate(raw)
        unknown = unknown_fields(schema, raw)
        if unknown:
            raise ValueError(f"{path}: unknown field(s) {', '.join(unknown)}")
        return cls(schema)

    def application(self, name: str) -> ServeApplicationSchema:
        """The application called ``name`` (a KeyError names the ones the file has)."""
        for app in self.schema.applications:
            if app.name == name:
                return app
        known = [app.name for app in self.schema.applications]
        raise KeyError(f"no application {name!r} in the Serve config (it has {known})")

    def args(self, name: str) -> dict[str, Any]:
        """The ``args`` the file gives the application's builder."""
        return dict(self.application(name).args or {})

    def deployment_options(self, name: str, deployment: str) -> dict[str, Any]:
        """The options the file sets for ``deployment``, as ``Deployment.options`` takes them
        (only those set: the code's decorator keeps the rest)."""
        for options in self.application(name).deployments or []:
            if options.name == deployment:
                return options.model_dump(exclude_unset=True, exclude={"name"})
        return {}

    def http_option(self, key: str) -> Any:
        """One of the file's ``http_options`` (the launcher picks its own host and port)."""
        return getattr(self.schema.http_options, key)

    def logging_config(self) -> dict[str, Any]:
        """The file's ``logging_config`` (JSON logs at INFO, with the access log)."""
        config = self.schema.logging_config
        return config.model_dump(exclude_unset=True) if config else {}


def unknown_fields(model: BaseModel, raw: Any, where: str = "") -> list[str]:
    """The keys of ``raw`` (what ``model`` was validated from) that no field of the model, or
    of the models nested in it, has: dotted paths."""
    if not isinstance(raw, dict):
        return []
    fields = type(model).model_fields
    names = {field.alias or name: name for name, field in fields.items()} | {n: n for n in fields}
    found: list[str] = []
    for key, value in raw.items():
        path = f"{where}{key}"
        if key not in names:
            found.append(path)
            continue
        nested = getattr(model, names[key], None)
        if isinstance(nested, dict) and names[key] in DICT_FIELD_MODELS:
            nested = DICT_FIELD_MODELS[names[key]].model_validate(nested)
        if isinstance(nested, BaseModel):
            found += unknown_fields(nested, value, f"{path}.")
        elif isinstance(nested, list) and isinstance(value, list):
            for index, (item, item_raw) in enumerate(zip(nested, value, strict=False)):
                if isinstance(item, BaseModel):
                    found += unknown_fields(item, item_raw, f"{path}[{index}].")
    return found
