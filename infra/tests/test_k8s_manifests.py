"""The Kubernetes manifests parse, and every service runs non-root with probes, resources and a migration Job."""

from __future__ import annotations

from pathlib import Path

import yaml

K8S = Path(__file__).resolve().parents[1] / "k8s"
SERVICES = {"intake": 8001, "validation": 8002, "gateway": 8000, "outbound": 8005, "analytics": 8006}


def documents() -> list[dict]:
    docs = []
    for name in yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]:
        docs += [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]
    return docs


def test_every_service_has_a_hardened_deployment_a_service_and_a_migration_job() -> None:
    docs = documents()
    for svc, port in SERVICES.items():
        deployment = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == svc)
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert container["resources"]["limits"] and container["ports"][0]["containerPort"] == port
        assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        job = next(d for d in docs if d["kind"] == "Job" and d["metadata"]["name"] == f"{svc}-migrate")
        assert job["spec"]["template"]["spec"]["containers"][0]["command"][-1] == "migrate"
        assert any(d["kind"] == "Service" and d["metadata"]["name"] == svc for d in docs)


def test_no_demo_environment_in_the_cluster_config() -> None:
    config = next(d for d in documents() if d["kind"] == "ConfigMap")
    assert config["data"]["WISER_ENV"] == "prod"


def _env_of(svc: str, kind: str) -> dict[str, str]:
    """What a service's pods (kind Deployment or Job) get from the ConfigMaps and Secrets they name."""
    docs = documents()
    sources = {(d["kind"], d["metadata"]["name"]): d.get("data") or d.get("stringData") or {} for d in docs}
    name = svc if kind == "Deployment" else f"{svc}-migrate"
    workload = next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)
    env: dict[str, str] = {}
    for ref in workload["spec"]["template"]["spec"]["containers"][0]["envFrom"]:
        kind_of, body = ("ConfigMap", ref["configMapRef"]) if "configMapRef" in ref else ("Secret", ref["secretRef"])
        env.update(sources[(kind_of, body["name"])])
    return env


def test_each_service_alone_gets_its_own_identity_private_key() -> None:
    for svc in SERVICES:
        for kind in ("Deployment", "Job"):
            keys = {k for k in _env_of(svc, kind) if k.endswith("_IDENTITY_PRIVATE_KEY")}
            assert keys == {f"WISER_{svc.upper()}_IDENTITY_PRIVATE_KEY"}, (svc, kind, keys)
        assert "wiser-gateway=" in _env_of(svc, "Deployment")["WISER_IDENTITY_PUBLIC_KEYS"]


def test_the_placeholders_as_shipped_are_refused_at_start_up(monkeypatch) -> None:
    import os

    import pytest
    from pydantic import ValidationError

    from wiser_analytics.config import Settings as AnalyticsSettings
    from wiser_gateway.config import Settings as GatewaySettings
    from wiser_intake.config import Settings as IntakeSettings
    from wiser_outbound.config import Settings as OutboundSettings
    from wiser_validation.config import Settings as ValidationSettings

    for name in list(os.environ):
        if name.startswith("WISER_"):
            monkeypatch.delenv(name)
    for svc, settings in (
        ("intake", IntakeSettings),
        ("validation", ValidationSettings),
        ("gateway", GatewaySettings),
        ("outbound", OutboundSettings),
        ("analytics", AnalyticsSettings),
    ):
        with monkeypatch.context() as m:
            for key, value in _env_of(svc, "Deployment").items():
                m.setenv(key, str(value))
            with pytest.raises(ValidationError, match="placeholder"):
                settings()


def test_intakes_ops_port_is_apart_and_reached_only_from_inside() -> None:
    docs = documents()
    deployment = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "intake")
    ports = {p["name"]: p["containerPort"] for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]}
    assert ports == {"http": 8001, "ops": 8101}
    assert deployment["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == "8101"
    policy = next(d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == "intake-ops-internal")
    ops_rule = next(r for r in policy["spec"]["ingress"] if r["ports"][0]["port"] == 8101)
    allowed = {p["podSelector"]["matchLabels"]["app"] for p in ops_rule["from"] if "podSelector" in p}
    assert allowed == {"gateway", "validation", "clinical", "letters", "outbound"}
    config = next(d for d in docs if d["kind"] == "ConfigMap")["data"]
    assert config["WISER_GATEWAY_INTAKE_URL"].endswith(":8101")
    assert config["WISER_VALIDATION_INTAKE_URL"].endswith(":8101")
    assert config["WISER_CLINICAL_INTAKE_URL"].endswith(":8101")
    assert config["WISER_OUTBOUND_INTAKE_URL"].endswith(":8101")
