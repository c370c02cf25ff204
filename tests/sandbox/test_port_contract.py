"""The AWS port's contract: one set of cases against the fake, the sandbox, and the sandbox
with realism on, so that the in-memory fake the planner's unit tests use cannot drift from
:class:`kubetrust.adapters.BotoAwsPort` on AWS's behaviour.

Backends:

- ``fake``: :class:`provision_fakes.FakeAws` (tests/support/provision_fakes.py);
- ``sandbox``: ``BotoAwsPort`` on the session's sandbox (realism off), boto3 over loopback;
- ``realism``: ``BotoAwsPort`` on a private sandbox whose world file has a ``realism:`` block
  with small figures (IAM propagation, cluster and add-on creation, EKS propagation of two
  seconds or less, throttling low enough to be met), so that the port's waiters, paginators
  and standard retry mode are what pass the cases.

A write that names a role the case has just created goes through the handlers' own
propagation wait (:func:`kubetrust.provision.handlers_propagation` answers): on AWS and with
realism EKS refuses it for seconds; the fake and the plain sandbox accept it at once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from provision_fakes import FakeAws, Recorder

from kubetrust.adapters import AwsAccess, BotoAwsPort
from kubetrust.adapters.aws import AwsApiError, session
from kubetrust.provision import AccessPolicy, AwsPort, eventual
from kubetrust.provision.handlers_propagation import (
    PRINCIPAL_NOT_VISIBLE,
    ROLE_NOT_VISIBLE,
    AwsAnswer,
)
from kubetrust.sandbox.runtime.server import SandboxServer

from .realismkit import private_sandbox

REGION = "us-east-1"
REALISM_ACCOUNT = "720000000001"
REALISM = {
    "iam_propagation_seconds": 2,
    "eks_cluster_creation_seconds": 2,
    "eks_update_seconds": 1,
    "eks_propagation_seconds": 1,
    "addon_creation_seconds": 2,
    "aws_page_sizes": True,
    "throttling": {"iam": {"rate": 20, "burst": 10}, "eks": {"rate": 10, "burst": 5}},
}
VIEW = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
EDIT = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"
MANAGED = "arn:aws:iam::aws:policy/ReadOnlyAccess"
EKS_SERVICE_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "eks.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _pod_identity_trust() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ],
    }


@dataclass
class Backend:
    """A port, its account, and how to make a cluster in it."""

    name: str
    port: AwsPort
    account: str
    new_cluster: Callable[[], str]
    clusters: list[str] = field(default_factory=list)

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    def role_arn(self, name: str) -> str:
        return f"arn:aws:iam::{self.account}:role/{name}"

    def cluster(self) -> str:
        """One cluster per backend, made on first use (on the real ones: CreateCluster)."""
        if not self.clusters:
            self.clusters.append(self.new_cluster())
        return self.clusters[0]

    def new_role(self, trust: dict[str, Any] | None = None) -> str:
        name = self.unique("contract")
        self.port.create_role(name, trust or _pod_identity_trust(), 3600, {"k": "v"}, "contract")
        return name


def _after_propagation(answer: AwsAnswer, write: Callable[[], None]) -> None:
    """The handlers' wait for EKS to see a fresh role (30 s at most here)."""
    eventual.retry_write(write, answer.matches, eventual.Budget(30.0))


def _boto_cluster(port: BotoAwsPort) -> str:
    """A cluster made with CreateCluster (``CREATING`` first under realism)."""
    iam = port.client("iam")
    role = f"eks-service-{uuid.uuid4().hex[:8]}"
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(EKS_SERVICE_TRUST))
    name = f"contract-{uuid.uuid4().hex[:8]}"

    def create() -> None:
        try:
            port.client("eks").create_cluster(
                name=name,
                roleArn=arn["Role"]["Arn"],
                resourcesVpcConfig={},
                accessConfig={"authenticationMode": "API_AND_CONFIG_MAP"},
            )
        except Exception as error:  # the refusal of a role EKS cannot see yet, as AWS gives it
            raise AwsApiError("create_cluster", _code(error), str(error)) from error

    eventual.retry_write(
        create,
        lambda error: getattr(error, "code", "") == "InvalidParameterException",
        eventual.Budget(30.0),
    )
    return name


def _code(error: Exception) -> str:
    response = getattr(error, "response", {}) or {}
    return str(response.get("Error", {}).get("Code", type(error).__name__))


def _boto_port(account: str, keys: tuple[str, str], endpoint: str) -> BotoAwsPort:
    access = AwsAccess(
        access_key_id=keys[0], secret_access_key=keys[1], endpoint_url=endpoint, region=REGION
    )
    return BotoAwsPort(account, session(access), endpoint_url=endpoint, region=REGION)


@pytest.fixture(scope="module")
def realism_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    world = {
        "region": REGION,
        "realism": REALISM,
        "accounts": [{"id": REALISM_ACCOUNT, "name": "contract"}],
    }
    with private_sandbox(tmp_path_factory.mktemp("realism-contract"), world) as server:
        yield server


@pytest.fixture(scope="module", params=["fake", "sandbox", "realism"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "fake":
        fake = FakeAws("111111111111", Recorder())

        def fake_cluster() -> str:
            name = f"contract-{uuid.uuid4().hex[:8]}"
            fake.add_cluster(REGION, name)
            return name

        return Backend("fake", fake, fake.account, fake_cluster)
    if request.param == "sandbox":
        aws = request.getfixturevalue("aws")
        port = _boto_port(aws.CI, aws.sandbox.admin_keys[aws.CI], aws.sandbox.endpoint)
    else:
        server: SandboxServer = request.getfixturevalue("realism_sandbox")
        keys = server.admin_keys[REALISM_ACCOUNT]
        port = _boto_port(REALISM_ACCOUNT, keys, server.endpoint)
    return Backend(request.param, port, port.account, lambda: _boto_cluster(port))


# --------------------------------------------------------------------------- roles
def test_a_missing_role_reads_as_none(backend: Backend) -> None:
    assert backend.port.get_role(backend.unique("absent")) is None


def test_role_create_read_update_delete(backend: Backend) -> None:
    port = backend.port
    name = backend.new_role()
    live = port.get_role(name)
    assert live is not None
    assert (live.arn, live.max_session_duration, dict(live.tags)) == (
        backend.role_arn(name),
        3600,
        {"k": "v"},
    )
    assert live.trust == _pod_identity_trust()
    trust = {**_pod_identity_trust(), "Statement": EKS_SERVICE_TRUST["Statement"]}
    port.update_trust(name, trust)
    port.update_max_session_duration(name, 7200)
    port.tag_role(name, {"k": "w", "second": "2"})
    live = port.get_role(name)
    assert live is not None and live.trust == trust and live.max_session_duration == 7200
    assert dict(live.tags) == {"k": "w", "second": "2"}
    port.delete_role(name)
    assert port.get_role(name) is None


def test_inline_and_managed_policies(backend: Backend) -> None:
    port = backend.port
    name = backend.new_role()
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "eks:ListClusters", "Resource": "*"}],
    }
    port.put_role_policy(name, "inline", document)
    port.attach_role_policy(name, MANAGED)
    live = port.get_role(name)
    assert live is not None
    assert dict(live.inline) == {"inline": document} and live.attached == (MANAGED,)
    with pytest.raises(AwsApiError) as refused:
        port.delete_role(name)
    assert refused.value.code == "DeleteConflict"
    port.delete_role_policy(name, "inline")
    port.detach_role_policy(name, MANAGED)
    live = port.get_role(name)
    assert live is not None and not live.inline and live.attached == ()
    port.delete_role(name)


def test_many_inline_policies_are_all_read(backend: Backend) -> None:
    """More than one page of ListRolePolicies under AWS's page sizes (reference H.4)."""
    port = backend.port
    name = backend.new_role()
    statement = [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]
    names = [f"p{index:03d}" for index in range(12)]
    for policy in names:
        port.put_role_policy(name, policy, {"Version": "2012-10-17", "Statement": statement})
    live = port.get_role(name)
    assert live is not None and sorted(live.inline) == names


@pytest.mark.parametrize(
    ("operation", "code"),
    [("create_role", "EntityAlreadyExists"), ("delete_role", "NoSuchEntity")],
)
def test_role_refusals_carry_aws_codes(backend: Backend, operation: str, code: str) -> None:
    name = backend.new_role() if operation == "create_role" else backend.unique("absent")
    with pytest.raises(AwsApiError) as refused:
        if operation == "create_role":
            backend.port.create_role(name, _pod_identity_trust(), 3600, {}, "again")
        else:
            backend.port.delete_role(name)
    assert refused.value.code == code and refused.value.operation == operation


# --------------------------------------------------------------------------- OIDC providers
def test_oidc_provider_lifecycle(backend: Backend) -> None:
    port = backend.port
    url = f"https://oidc.eks.{REGION}.amazonaws.com/id/{uuid.uuid4().hex.upper()}"
    assert port.get_oidc_provider(url) is None
    port.create_oidc_provider(url, ["sts.amazonaws.com"], {"owner": "contract"})
    live = port.get_oidc_provider(url)
    assert live is not None and live.url == url
    assert live.arn == f"arn:aws:iam::{backend.account}:oidc-provider/{url[8:]}"
    assert live.client_ids == ("sts.amazonaws.com",) and dict(live.tags) == {"owner": "contract"}
    port.tag_oidc_provider(live.arn, {"more": "1"})
    live = port.get_oidc_provider(url)
    assert live is not None and dict(live.tags) == {"owner": "contract", "more": "1"}
    with pytest.raises(AwsApiError) as refused:
        port.create_oidc_provider(url, ["sts.amazonaws.com"], {})
    assert refused.value.code == "EntityAlreadyExists"
    port.delete_oidc_provider(live.arn)
    assert port.get_oidc_provider(url) is None


def test_oidc_provider_client_ids(backend: Backend) -> None:
    port = backend.port
    url = f"https://oidc.eks.{REGION}.amazonaws.com/id/{uuid.uuid4().hex.upper()}"
    port.create_oidc_provider(url, ["sts.amazonaws.com"], {})
    arn = f"arn:aws:iam::{backend.account}:oidc-provider/{url[8:]}"
    port.add_oidc_client_id(arn, "second")
    live = port.get_oidc_provider(url)
    assert live is not None and live.client_ids == ("sts.amazonaws.com", "second")
    port.add_oidc_client_id(arn, "second")  # IAM: adding one it has changes nothing
    again = port.get_oidc_provider(url)
    assert again is not None and again.client_ids == ("sts.amazonaws.com", "second")
    with pytest.raises(AwsApiError) as refused:
        port.add_oidc_client_id(arn.replace("/id/", "/id/X"), "third")
    assert refused.value.code == "NoSuchEntity"


# --------------------------------------------------------------------------- clusters
def test_a_cluster_reads_once_active(backend: Backend) -> None:
    port = backend.port
    assert port.describe_cluster(REGION, backend.unique("absent")) is None
    name = backend.cluster()
    info = port.describe_cluster(REGION, name)
    assert info is not None and info.status == "ACTIVE" and info.endpoint
    assert info.arn == f"arn:aws:eks:{REGION}:{backend.account}:cluster/{name}"


# --------------------------------------------------------------------------- access entries
def test_access_entry_lifecycle(backend: Backend) -> None:
    port, cluster = backend.port, backend.cluster()
    principal = backend.role_arn(backend.new_role())
    assert port.get_access_entry(REGION, cluster, principal) is None
    _after_propagation(
        PRINCIPAL_NOT_VISIBLE,
        lambda: port.create_access_entry(REGION, cluster, principal, None, ["viewers"], {}),
    )
    port.associate_access_policy(REGION, cluster, principal, AccessPolicy(VIEW, ("apps",)))
    port.associate_access_policy(REGION, cluster, principal, AccessPolicy(EDIT))
    live = port.get_access_entry(REGION, cluster, principal)
    assert live is not None and live.principal_arn == principal and live.groups == ("viewers",)
    assert sorted(live.policies, key=lambda p: p.arn) == [
        AccessPolicy(EDIT, None),
        AccessPolicy(VIEW, ("apps",)),
    ]
    port.update_access_entry(REGION, cluster, principal, "someone", ["editors"])
    port.disassociate_access_policy(REGION, cluster, principal, EDIT)
    live = port.get_access_entry(REGION, cluster, principal)
    assert live is not None and (live.username, live.groups) == ("someone", ("editors",))
    assert live.policies == (AccessPolicy(VIEW, ("apps",)),)
    with pytest.raises(AwsApiError) as refused:
        port.create_access_entry(REGION, cluster, principal, None, [], {})
    assert refused.value.code == "ResourceInUseException"
    port.delete_access_entry(REGION, cluster, principal)
    assert port.get_access_entry(REGION, cluster, principal) is None
    with pytest.raises(AwsApiError) as refused:
        port.delete_access_entry(REGION, cluster, principal)
    assert refused.value.code == "ResourceNotFoundException"


def test_an_access_entry_of_a_missing_cluster(backend: Backend) -> None:
    principal = backend.role_arn("anyone")
    with pytest.raises(AwsApiError) as refused:
        backend.port.create_access_entry(REGION, backend.unique("absent"), principal, None, [], {})
    assert refused.value.code == "ResourceNotFoundException"


# --------------------------------------------------------------------------- Pod Identity
def test_association_lifecycle_with_a_target_role(backend: Backend) -> None:
    port, cluster = backend.port, backend.cluster()
    namespace, account = "contract", backend.unique("sa")
    role = backend.role_arn(backend.new_role())
    target = "arn:aws:iam::222222222222:role/contract-target"
    assert port.get_pod_identity_association(REGION, cluster, namespace, account) is None
    _after_propagation(
        ROLE_NOT_VISIBLE,
        lambda: port.create_pod_identity_association(
            REGION, cluster, namespace, account, role, target, {"owner": "contract"}
        ),
    )
    live = port.get_pod_identity_association(REGION, cluster, namespace, account)
    assert live is not None and live.association_id.startswith("a-")
    assert (live.namespace, live.service_account, live.role_arn, live.target_role_arn) == (
        namespace,
        account,
        role,
        target,
    )
    assert dict(live.tags) == {"owner": "contract"} and live.owner_arn is None
    with pytest.raises(AwsApiError) as refused:
        port.create_pod_identity_association(REGION, cluster, namespace, account, role, None, {})
    assert refused.value.code == "ResourceInUseException"
    second = backend.role_arn(backend.new_role())
    _after_propagation(
        ROLE_NOT_VISIBLE,
        lambda: port.update_pod_identity_association(
            REGION, cluster, live.association_id, second, None
        ),
    )
    updated = port.get_pod_identity_association(REGION, cluster, namespace, account)
    assert updated is not None and (updated.role_arn, updated.target_role_arn) == (second, target)
    port.delete_pod_identity_association(REGION, cluster, live.association_id)
    assert port.get_pod_identity_association(REGION, cluster, namespace, account) is None
    with pytest.raises(AwsApiError) as refused:
        port.delete_pod_identity_association(REGION, cluster, live.association_id)
    assert refused.value.code == "ResourceNotFoundException"


def test_an_association_of_a_role_that_does_not_exist(backend: Backend) -> None:
    port, cluster = backend.port, backend.cluster()
    role = backend.role_arn(backend.unique("absent"))
    with pytest.raises(AwsApiError) as refused:
        port.create_pod_identity_association(REGION, cluster, "ns", "sa", role, None, {})
    assert ROLE_NOT_VISIBLE.matches(refused.value)


def test_addon_created_then_active(backend: Backend) -> None:
    port, cluster = backend.port, backend.cluster()
    name = "eks-pod-identity-agent"
    assert port.get_addon(REGION, cluster, name) is None
    port.create_addon(REGION, cluster, name, {"owner": "contract"})
    port.wait_addon_active(REGION, cluster, name)
    live = port.get_addon(REGION, cluster, name)
    assert live is not None and (live.name, live.status) == (name, "ACTIVE")
    with pytest.raises(AwsApiError) as refused:
        port.create_addon(REGION, cluster, name, {})
    assert refused.value.code == "ResourceInUseException"


def test_the_fake_implements_every_method_of_the_port() -> None:
    """No method of the port is left to the real adapter alone."""
    wanted = {name for name in vars(AwsPort) if not name.startswith("_")}
    assert wanted <= set(dir(FakeAws)), wanted - set(dir(FakeAws))
    assert wanted <= set(dir(BotoAwsPort))


def test_the_example_world_files_do_not_need_the_contract_accounts() -> None:
    """The realism backend's account is its own: it cannot collide with the session's."""
    examples = Path(__file__).parents[2] / "examples"
    assert all(REALISM_ACCOUNT not in path.read_text() for path in examples.glob("*.yaml"))
