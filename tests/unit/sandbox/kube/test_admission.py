"""Pod admission: the ServiceAccount plugin and the EKS pod identity webhook's IRSA mutation
(reference C.4), through the API (in-process) and, for the webhook, as a pure function."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from kube_appkit import App

from kubetrust.sandbox.kube import irsa

SA = "/api/v1/namespaces/default/serviceaccounts"
PODS = "/api/v1/namespaces/default/pods"
ROLE = "arn:aws:iam::111111111111:role/app"
TOKEN_DIR = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
API_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
IRSA_ENV = [
    {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
    {"name": "AWS_DEFAULT_REGION", "value": "us-west-2"},
    {"name": "AWS_REGION", "value": "us-west-2"},
    {"name": "AWS_ROLE_ARN", "value": ROLE},
    {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": f"{TOKEN_DIR}/token"},
]
"""The webhook appends in this order (``addEnvToContainer`` in pkg/handler/handler.go)."""


def account(app: App, name: str, annotations: dict[str, str] | None = None, **extra: Any) -> None:
    metadata: dict[str, Any] = {"name": name}
    if annotations is not None:
        metadata["annotations"] = annotations
    code, body = app.call("POST", SA, {"metadata": metadata, **extra})
    assert code == 201, body


def pod(
    app: App,
    name: str,
    account_name: str | None = "app",
    *,
    containers: list[dict[str, Any]] | None = None,
    annotations: dict[str, str] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "metadata": {"name": name, "annotations": annotations or {}},
        "spec": {"containers": containers or [{"name": "main", "image": "busybox"}], **spec},
    }
    if account_name is not None:
        body["spec"]["serviceAccountName"] = account_name
    code, created = app.call("POST", PODS, body)
    assert code == 201, created
    return dict(created)


def volume(created: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [v for v in created["spec"]["volumes"] if v["name"] == name]
    return dict(found)


def token_projection(created: dict[str, Any]) -> dict[str, Any]:
    return dict(volume(created, "aws-iam-token")["projected"]["sources"][0]["serviceAccountToken"])


# ---------------------------------------------------------------------- ServiceAccount plugin
def test_service_account_defaults_and_api_token_volume(app: App) -> None:
    created = pod(app, "plain", None)
    spec = created["spec"]
    assert spec["serviceAccountName"] == "default" and spec["serviceAccount"] == "default"
    (api_volume,) = [v for v in spec["volumes"] if v["name"].startswith("kube-api-access-")]
    assert len(api_volume["name"]) == len("kube-api-access-") + 5
    assert api_volume["projected"] == {
        "defaultMode": 420,
        "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {
                "configMap": {
                    "name": "kube-root-ca.crt",
                    "items": [{"key": "ca.crt", "path": "ca.crt"}],
                }
            },
            {
                "downwardAPI": {
                    "items": [
                        {
                            "path": "namespace",
                            "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                        }
                    ]
                }
            },
        ],
    }
    assert spec["containers"][0]["volumeMounts"] == [
        {"name": api_volume["name"], "readOnly": True, "mountPath": API_DIR}
    ]
    assert "env" not in spec["containers"][0]  # no role ARN: no AWS variables
    assert "aws-iam-token" not in [v["name"] for v in spec["volumes"]]


def test_missing_service_account_is_forbidden(app: App) -> None:
    body = {
        "metadata": {"name": "orphan"},
        "spec": {"serviceAccountName": "ghost", "containers": [{"name": "c", "image": "busybox"}]},
    }
    code, answer = app.call("POST", PODS, body)
    assert code == 403 and answer["reason"] == "Forbidden"
    assert answer["message"] == (
        'pods "orphan" is forbidden: error looking up service account default/ghost: '
        'serviceaccount "ghost" not found'
    )
    assert app.call("GET", f"{PODS}/orphan")[0] == 404


@pytest.mark.parametrize(
    ("pod_setting", "sa_setting", "mounted"),
    [(None, None, True), (False, None, False), (None, False, False), (True, False, True)],
)
def test_automount_pod_then_service_account(
    app: App, pod_setting: bool | None, sa_setting: bool | None, mounted: bool
) -> None:
    extra = {} if sa_setting is None else {"automountServiceAccountToken": sa_setting}
    account(app, "app", **extra)
    spec = {} if pod_setting is None else {"automountServiceAccountToken": pod_setting}
    created = pod(app, "auto", **spec)
    names = [v["name"] for v in created["spec"].get("volumes") or []]
    assert any(n.startswith("kube-api-access-") for n in names) is mounted


def test_existing_mount_at_the_token_path_is_kept(app: App) -> None:
    containers = [
        {
            "name": "own",
            "image": "busybox",
            "volumeMounts": [{"name": "mine", "mountPath": API_DIR}],
        },
        {"name": "other", "image": "busybox"},
    ]
    created = pod(
        app, "own-mount", None, containers=containers, volumes=[{"name": "mine", "emptyDir": {}}]
    )
    first, second = created["spec"]["containers"]
    assert first["volumeMounts"] == [{"name": "mine", "mountPath": API_DIR}]
    assert second["volumeMounts"][0]["name"].startswith("kube-api-access-")


# ---------------------------------------------------------------------- the IRSA webhook
def test_irsa_mutation_of_a_pod(app: App) -> None:
    account(app, "app", {"eks.amazonaws.com/role-arn": ROLE})
    init = [{"name": "init", "image": "busybox"}]
    created = pod(app, "irsa", initContainers=init, volumes=[{"name": "data", "emptyDir": {}}])
    spec = created["spec"]
    assert [v["name"] for v in spec["volumes"]][:2] == ["aws-iam-token", "data"]  # added first
    assert spec["volumes"][-1]["name"].startswith("kube-api-access-")  # the plugin ran before
    assert token_projection(created) == {
        "audience": "sts.amazonaws.com",
        "expirationSeconds": 86400,
        "path": "token",
    }
    for container in (*spec["containers"], *spec["initContainers"]):
        assert container["env"] == IRSA_ENV
        assert container["volumeMounts"][-1] == {
            "name": "aws-iam-token",
            "readOnly": True,
            "mountPath": TOKEN_DIR,
        }


@pytest.mark.parametrize(
    ("sa_annotations", "pod_annotations", "audience", "expiration"),
    [
        ({"eks.amazonaws.com/audience": "example.com"}, {}, "example.com", 86400),
        ({"eks.amazonaws.com/token-expiration": "7200"}, {}, "sts.amazonaws.com", 7200),
        ({"eks.amazonaws.com/token-expiration": "100"}, {}, "sts.amazonaws.com", 600),
        ({"eks.amazonaws.com/token-expiration": "soon"}, {}, "sts.amazonaws.com", 86400),
        (
            {"eks.amazonaws.com/token-expiration": "7200"},
            {"eks.amazonaws.com/token-expiration": "3600"},
            "sts.amazonaws.com",
            3600,
        ),
        ({}, {"eks.amazonaws.com/token-expiration": "-5"}, "sts.amazonaws.com", 600),
        ({}, {"eks.amazonaws.com/token-expiration": "x"}, "sts.amazonaws.com", 86400),
    ],
)
def test_irsa_audience_and_expiration_annotations(
    app: App,
    sa_annotations: dict[str, str],
    pod_annotations: dict[str, str],
    audience: str,
    expiration: int,
) -> None:
    account(app, "app", {"eks.amazonaws.com/role-arn": ROLE, **sa_annotations})
    created = pod(app, "annotated", annotations=pod_annotations)
    assert token_projection(created) == {
        "audience": audience,
        "expirationSeconds": expiration,
        "path": "token",
    }


@pytest.mark.parametrize(
    ("value", "regional"), [("false", False), ("0", False), ("True", True), ("no", True)]
)
def test_irsa_regional_sts_annotation(app: App, value: str, regional: bool) -> None:
    account(
        app,
        "app",
        {"eks.amazonaws.com/role-arn": ROLE, "eks.amazonaws.com/sts-regional-endpoints": value},
    )
    env = pod(app, "sts")["spec"]["containers"][0]["env"]
    assert env == (IRSA_ENV if regional else IRSA_ENV[1:])  # "no" is not a Go bool: ignored


def test_irsa_skip_containers(app: App) -> None:
    account(app, "app", {"eks.amazonaws.com/role-arn": ROLE})
    containers = [{"name": "a", "image": "busybox"}, {"name": "b", "image": "busybox"}]
    init = [{"name": "setup", "image": "busybox"}]
    skip = {"eks.amazonaws.com/skip-containers": "b,setup"}
    created = pod(app, "skip", containers=containers, initContainers=init, annotations=skip)
    first, second = created["spec"]["containers"]
    assert first["env"] == IRSA_ENV and "env" not in second
    assert "env" not in created["spec"]["initContainers"][0]
    assert [m["name"] for m in second["volumeMounts"]] == [second["volumeMounts"][0]["name"]]
    assert volume(created, "aws-iam-token")  # the volume is added all the same


def test_irsa_never_overrides_existing_variables(app: App) -> None:
    account(app, "app", {"eks.amazonaws.com/role-arn": ROLE})
    containers = [
        {
            "name": "region",
            "image": "busybox",
            "env": [{"name": "AWS_REGION", "value": "eu-west-1"}],
        },
        {"name": "role", "image": "busybox", "env": [{"name": "AWS_ROLE_ARN", "value": "mine"}]},
        {
            "name": "sts",
            "image": "busybox",
            "env": [{"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "legacy"}],
        },
        {
            "name": "all",
            "image": "busybox",
            "env": [
                {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": "/t"},
                {"name": "AWS_DEFAULT_REGION", "value": "eu-west-1"},
                {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
            ],
        },
    ]
    by_name = {c["name"]: c for c in pod(app, "mine", containers=containers)["spec"]["containers"]}
    names = {name: [e["name"] for e in c["env"]] for name, c in by_name.items()}
    assert names["region"] == [
        "AWS_REGION",
        "AWS_STS_REGIONAL_ENDPOINTS",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ]
    assert by_name["region"]["env"][0]["value"] == "eu-west-1"
    # a web-identity variable present: no web-identity variables added, the rest is
    assert names["role"] == ["AWS_ROLE_ARN", *[e["name"] for e in IRSA_ENV[:3]]]
    assert by_name["role"]["env"][0]["value"] == "mine"
    assert by_name["sts"]["env"][0] == {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "legacy"}
    assert names["sts"] == ["AWS_STS_REGIONAL_ENDPOINTS", *[e["name"] for e in IRSA_ENV[1:]]]
    # everything present: the container is left alone, not even mounted
    assert names["all"] == [
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_DEFAULT_REGION",
        "AWS_STS_REGIONAL_ENDPOINTS",
    ]
    assert "aws-iam-token" not in [m["name"] for m in by_name["all"]["volumeMounts"]]


def test_irsa_token_lifetime_beyond_2_32_is_invalid(app: App) -> None:
    account(app, "app", {"eks.amazonaws.com/role-arn": ROLE})
    body = {
        "metadata": {
            "name": "long",
            "annotations": {"eks.amazonaws.com/token-expiration": str(2**33)},
        },
        "spec": {"serviceAccountName": "app", "containers": [{"name": "c", "image": "busybox"}]},
    }
    code, answer = app.call("POST", PODS, body)
    assert code == 422
    assert answer["message"] == (
        'Pod "long" is invalid: spec.volumes[0].projected.sources[0].serviceAccountToken.'
        f"expirationSeconds: Invalid value: {2**33}: may not specify a duration larger than "
        "2^32 seconds"
    )


def test_irsa_mutation_is_pure_and_matches_the_webhook_on_windows() -> None:
    service_account = {"metadata": {"annotations": {irsa.ROLE_ARN: ROLE}}}
    windows = {
        "spec": {
            "nodeSelector": {"kubernetes.io/os": "windows"},
            "containers": [{"name": "c", "image": "i"}],
        }
    }
    before = copy.deepcopy(windows)
    mutated = irsa.mutate(copy.deepcopy(windows), service_account, irsa.Webhook("eu-west-1"))
    env = {e["name"]: e["value"] for e in mutated["spec"]["containers"][0]["env"]}
    assert env["AWS_WEB_IDENTITY_TOKEN_FILE"] == (
        "C:\\var\\run\\secrets\\eks.amazonaws.com\\serviceaccount\\token"
    )
    assert env["AWS_REGION"] == "eu-west-1"
    assert irsa.mutate(copy.deepcopy(before), {"metadata": {}}, irsa.Webhook("x")) == before
    assert irsa.mutate(copy.deepcopy(before), None, irsa.Webhook("x")) == before
    again = irsa.mutate(copy.deepcopy(mutated), service_account, irsa.Webhook("eu-west-1"))
    assert again == mutated  # a second pass finds everything in place


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", True),
        ("t", True),
        ("TRUE", True),
        ("False", False),
        ("f", False),
        ("yes", None),
        ("", None),
    ],
)
def test_go_parse_bool(text: str, value: bool | None) -> None:
    assert irsa.parse_bool(text) is value


def test_service_account_without_annotation_gets_no_aws_environment(app: App) -> None:
    account(app, "app", {"eks.amazonaws.com/audience": "sts.amazonaws.com"})  # no role ARN
    created = pod(app, "no-role")
    assert "env" not in created["spec"]["containers"][0]
    assert "aws-iam-token" not in [v["name"] for v in created["spec"]["volumes"]]
