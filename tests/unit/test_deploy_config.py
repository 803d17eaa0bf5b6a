"""The deployment files: the cluster launcher's ray-cluster.yaml against the schema shipped in
the ray package, the KubeRay manifests against the KubeRay CRDs (``../shared/data/kuberay``),
and the Serve config file, which the RayService carries verbatim."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import ray.autoscaler
import yaml
from ray.serve import Application
from ray.serve.schema import ServeDeploySchema

from cluster.serve_config import SERVE_CONFIG, ServeConfig
from serve.app import build_app

ROOT = Path(__file__).resolve().parents[2]
CRDS = ROOT.parent / "shared" / "data" / "kuberay"
RAYSERVICE = ROOT / "cluster" / "kuberay" / "rayservice.yaml"


def strict(schema: Any) -> Any:
    """The CRD schema refusing unknown fields, as ``kubectl apply --validate=strict`` does
    (the API server would silently prune them: a misspelled field would do nothing)."""
    if isinstance(schema, dict):
        schema = {key: strict(value) for key, value in schema.items()}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
    elif isinstance(schema, list):
        schema = [strict(item) for item in schema]
    return schema


def crd_schema(name: str) -> Any:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser: 1 MB files
    crd = yaml.load((CRDS / f"ray.io_{name}.yaml").read_text(), Loader=loader)
    (v1,) = [version for version in crd["spec"]["versions"] if version["name"] == "v1"]
    return strict(v1["schema"]["openAPIV3Schema"])


@pytest.fixture(scope="module")
def manifests() -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all(RAYSERVICE.read_text())}


@pytest.fixture(scope="module")
def rayservice_schema() -> Any:
    return crd_schema("rayservices")


def test_the_rayservice_is_valid_against_the_kuberay_crd(
    manifests: dict[str, dict[str, Any]], rayservice_schema: Any
) -> None:
    jsonschema.validate(manifests["RayService"], rayservice_schema)


def test_a_misspelled_field_fails_the_crd_check(
    manifests: dict[str, dict[str, Any]], rayservice_schema: Any
) -> None:
    broken = copy.deepcopy(manifests["RayService"])
    broken["spec"]["rayClusterConfig"]["headGroupSpec"]["rayStartParam"] = {"num-cpus": "0"}

    with pytest.raises(jsonschema.ValidationError, match="rayStartParam"):
        jsonschema.validate(broken, rayservice_schema)


def test_the_rayservices_cluster_is_a_valid_raycluster_spec(
    manifests: dict[str, dict[str, Any]],
) -> None:
    cluster = {
        "apiVersion": "ray.io/v1",
        "kind": "RayCluster",
        "metadata": {"name": "order-processor"},
        "spec": manifests["RayService"]["spec"]["rayClusterConfig"],
    }

    jsonschema.validate(cluster, crd_schema("rayclusters"))


def test_the_rayservice_serves_the_serve_config_file_verbatim(
    manifests: dict[str, dict[str, Any]],
) -> None:
    carried = yaml.safe_load(manifests["RayService"]["spec"]["serveConfigV2"])

    assert carried == yaml.safe_load(SERVE_CONFIG.read_text())


def test_the_head_does_no_work_the_workers_autoscale_and_pods_use_the_irsa_account(
    manifests: dict[str, dict[str, Any]],
) -> None:
    cluster = manifests["RayService"]["spec"]["rayClusterConfig"]
    (workers,) = cluster["workerGroupSpecs"]
    account = manifests["ServiceAccount"]

    assert cluster["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    assert cluster["enableInTreeAutoscaling"] is True
    assert workers["minReplicas"] < workers["maxReplicas"]
    assert cluster["gcsFaultToleranceOptions"]["redisAddress"]
    assert "eks.amazonaws.com/role-arn" in account["metadata"]["annotations"]
    for group in (cluster["headGroupSpec"], workers):
        assert group["template"]["spec"]["serviceAccountName"] == account["metadata"]["name"]


def test_the_serve_config_file_is_a_valid_serve_config_that_builds_the_app() -> None:
    config = ServeDeploySchema.model_validate(yaml.safe_load(SERVE_CONFIG.read_text()))
    (app,) = config.applications

    assert app.import_path == "serve.app:build_app"
    assert isinstance(build_app({**app.args, "environment": "test"}), Application)
    (gateway,) = app.deployments
    assert gateway["name"] == "Gateway" if isinstance(gateway, dict) else gateway.name == "Gateway"
    assert config.logging_config is not None and config.logging_config.encoding == "JSON"


def validate_launcher_config(config: dict[str, Any]) -> None:
    """The schema check of ``ray up`` (as ``validate_config`` does it, without its check for
    the defaults that ``ray up`` fills in first)."""
    schema = Path(ray.autoscaler.__file__).parent / "ray-schema.json"
    jsonschema.validate(config, json.loads(schema.read_text()))


def launcher_config() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((ROOT / "ray-cluster.yaml").read_text())
    return config


def test_ray_cluster_yaml_is_valid_against_the_launcher_schema() -> None:
    config = launcher_config()

    validate_launcher_config(config)

    head = config["available_node_types"][config["head_node_type"]]
    assert head["resources"] == {"CPU": 0}
    workers = [n for name, n in config["available_node_types"].items() if name != "head"]
    assert all(n["min_workers"] < n["max_workers"] for n in workers)
    assert all(
        "IamInstanceProfile" in n["node_config"] for n in config["available_node_types"].values()
    )


def test_a_misspelled_launcher_field_fails_the_schema_check() -> None:
    config = launcher_config()
    config["available_node_types"]["head"]["min_worker"] = 0

    with pytest.raises(jsonschema.ValidationError):
        validate_launcher_config(config)


def test_the_launchers_reading_of_the_serve_config_is_the_files() -> None:
    config = ServeConfig.load()
    raw = yaml.safe_load(SERVE_CONFIG.read_text())
    (app,) = raw["applications"]
    (gateway,) = app["deployments"]

    assert config.args("order-processor") == app["args"]
    assert config.deployment_options("order-processor", "Gateway") == {
        key: value for key, value in gateway.items() if key != "name"
    }
    assert config.deployment_options("order-processor", "NoSuchDeployment") == {}
    assert config.http_option("keep_alive_timeout_s") == raw["http_options"]["keep_alive_timeout_s"]
    assert config.logging_config() == raw["logging_config"]
    with pytest.raises(KeyError, match="order-processor"):
        config.application("another-app")


def test_a_misspelled_field_in_the_serve_config_fails_the_launcher(tmp_path: Path) -> None:
    raw = yaml.safe_load(SERVE_CONFIG.read_text())
    raw["applications"][0]["deployments"][0]["max_ongoing_request"] = 8
    raw["applications"][0]["deployments"][0]["autoscaling_config"]["min_replica"] = 1
    raw["http_options"]["keep_alive_timeout"] = 75
    (tmp_path / "serve_config.yaml").write_text(yaml.safe_dump(raw))

    with pytest.raises(ValueError) as refused:
        ServeConfig.load(tmp_path / "serve_config.yaml")

    named = str(refused.value).split("unknown field(s) ")[1].split(", ")
    assert sorted(named) == [
        "applications[0].deployments[0].autoscaling_config.min_replica",
        "applications[0].deployments[0].max_ongoing_request",
        "http_options.keep_alive_timeout",
    ]
