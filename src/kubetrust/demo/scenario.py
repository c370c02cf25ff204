"""The seed's scenario as the demo runs it: names, files, the in-pod checks and the links.

The names are the blog's (``ci-account-iam-role``, ``ci-namespace/ci-serviceaccount``...) and
must agree with the spec file; the test keeps the packaged spec identical to
``examples/seed.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kubetrust.demo.model import LinkSpec, Verdict
from kubetrust.model.vocabulary import IRSA_AUDIENCE

FEDERATION = "irsa"
"""``kubetrust demo --federation irsa``, the default: the seed as the blog has it."""
SCENARIO_DIR = Path(__file__).with_name("scenario")
EXAMPLE_SPEC = Path(__file__).resolve().parents[3] / "examples" / "seed.yaml"
"""The spec in a source checkout, shown to the user because they can open it."""
PACKAGED_SPEC = SCENARIO_DIR / "seed.yaml"
"""The same spec inside the package, for an installed kubetrust without the examples."""
WORLD_FILE = SCENARIO_DIR / "world.yaml"
TEST_DEPLOYMENT = SCENARIO_DIR / "test-deployment.yaml"
OTHER_DEPLOYMENT = SCENARIO_DIR / "other-serviceaccount.yaml"

REGION = "us-east-1"
CI_ACCOUNT = "111111111111"
TARGET_ACCOUNT = "222222222222"
CI_CLUSTER = "ci-cluster"
TARGET_CLUSTER = "target-cluster"
NAMESPACE = "ci-namespace"
SERVICE_ACCOUNT = "ci-serviceaccount"
OTHER_SERVICE_ACCOUNT = "other-serviceaccount"
CI_ROLE = "ci-account-iam-role"
TARGET_ROLE = "target-account-iam-role"
CI_ROLE_ARN = f"arn:aws:iam::{CI_ACCOUNT}:role/{CI_ROLE}"
TARGET_ROLE_ARN = f"arn:aws:iam::{TARGET_ACCOUNT}:role/{TARGET_ROLE}"
SESSION_NAME = "xactarget"
"""``role_session_name`` of the pod's ``target-env`` profile (the spec's ``sessionName``)."""
KUBE_USER = "test-user"
KUBE_GROUP = "system:masters"
"""What the seed's aws-auth mapping gives the target role in the target cluster."""
AUDIENCE = IRSA_AUDIENCE
TOKEN_PATH = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"
DEPLOYMENTS = {"test-deployment": "test-pod", "other-deployment": "other-pod"}
"""Deployment name → its pods' ``app`` label."""
EXPECTED_FINDING = "aws-auth-system-masters"
"""The seed maps the target role to system:masters; the audit must say so."""
WEB_IDENTITY_DENIED = "Not authorized to perform sts:AssumeRoleWithWebIdentity"


def spec_file() -> Path:
    """``examples/seed.yaml`` in a checkout, else the packaged copy (the same bytes)."""
    return EXAMPLE_SPEC if EXAMPLE_SPEC.is_file() else PACKAGED_SPEC


@dataclass(frozen=True)
class PodCommand:
    """One line of the in-pod script; ``key`` names it in the script's output markers."""

    key: str
    command: str


COPY_CONFIG = PodCommand("copy-config", "cp -r aws_config/ ~/.aws/")
"""The blog's script line, run from ``/`` (the ubuntu image's working directory)."""
MAPPING_ADAPTATION = PodCommand(
    "token-path",
    f'sed -i "s|{TOKEN_PATH}|$AWS_WEB_IDENTITY_TOKEN_FILE|" ~/.aws/config',
)
"""Only without a private mount namespace (``sandbox exec`` mapping mode): the token is not
at its absolute path there, but ``$AWS_WEB_IDENTITY_TOKEN_FILE`` says where it is."""

POSITIVE_CHECKS = (
    PodCommand("ci-identity", "aws sts get-caller-identity --profile ci-env"),
    PodCommand("target-identity", "aws sts get-caller-identity --profile target-env"),
    PodCommand("list-clusters", "aws eks list-clusters --profile target-env"),
    PodCommand(
        "describe-cluster", f"aws eks describe-cluster --name {TARGET_CLUSTER} --profile target-env"
    ),
    PodCommand(
        "update-kubeconfig",
        f"aws eks update-kubeconfig --name {TARGET_CLUSTER} --profile target-env",
    ),
    PodCommand("whoami", "kubectl auth whoami -o json"),
    PodCommand("namespaces", "kubectl get namespaces"),
    PodCommand("kube-system-pods", "kubectl get pods -n kube-system"),
)
"""The seed's checks (step 5 and 7), plus ``kubectl auth whoami`` to show the identity
that aws-auth gave the target role."""
NEGATIVE_CHECKS = (
    PodCommand("ci-identity", "aws sts get-caller-identity --profile ci-env"),
    PodCommand("target-identity", "aws sts get-caller-identity --profile target-env"),
)

OIDC = LinkSpec(
    "oidc",
    f"OIDC issuer of {CI_CLUSTER} → IAM OIDC provider in {CI_ACCOUNT}",
    Verdict.ALLOWED,
    f"AWS STS in the CI account can verify the tokens {CI_CLUSTER} signs: the issuer "
    f"publishes its keys, and the account trusts it for the audience {AUDIENCE}.",
    "steps 1-2",
)
WEB_IDENTITY = LinkSpec(
    "web-identity",
    f"{NAMESPACE}/{SERVICE_ACCOUNT} → {CI_ROLE} (sts:AssumeRoleWithWebIdentity)",
    Verdict.ALLOWED,
    "The pod's projected service-account token (mounted by the IRSA webhook because the "
    "service account carries the role annotation) bought a session of the CI role: its "
    "trust policy names this service account in the `:sub` condition.",
    "step 3",
)
ASSUME_ROLE = LinkSpec(
    "assume-role",
    f"{CI_ROLE} → {TARGET_ROLE} in {TARGET_ACCOUNT} (sts:AssumeRole)",
    Verdict.ALLOWED,
    "The cross-account hop: both sides allowed it. The CI role's policy allows "
    "sts:AssumeRole on the target role, and the target role's trust policy names the CI role.",
    "steps 3-5",
)
AWS_API = LinkSpec(
    "aws-api",
    f"{TARGET_ROLE} → EKS API of {TARGET_ACCOUNT}",
    Verdict.ALLOWED,
    "The target role's permission policy (eks:ListClusters, eks:DescribeCluster) works "
    "from the pod, with nothing but the AWS config from the ConfigMap.",
    "step 5",
)
KUBE_IDENTITY = LinkSpec(
    "kube-identity",
    f"EKS token → aws-auth of {TARGET_CLUSTER} → Kubernetes identity",
    Verdict.ALLOWED,
    "kubectl's exec plugin (aws eks get-token --profile target-env) presigned "
    f"sts:GetCallerIdentity; {TARGET_CLUSTER} verified it and mapped the target role "
    "through aws-auth to a Kubernetes user and groups.",
    "steps 6-7",
)
RBAC = LinkSpec(
    "rbac",
    f"RBAC in {TARGET_CLUSTER}: list namespaces, list pods in kube-system",
    Verdict.ALLOWED,
    "That identity may read the cluster. It is system:masters, as in the blog: every verb "
    "on everything (the audit below flags it).",
    "step 7",
)
DENIED = LinkSpec(
    "other-serviceaccount-denied",
    f"{NAMESPACE}/{OTHER_SERVICE_ACCOUNT} → {CI_ROLE} (sts:AssumeRoleWithWebIdentity)",
    Verdict.DENIED,
    "Only the service account named in the trust gets the role: another pod in the same "
    "namespace, annotated with the same role ARN, is refused by STS. Granting the node's "
    "instance profile instead (the blog warns against it) would give every pod the access.",
    "least privilege, the point of IRSA",
)
LINKS = (OIDC, WEB_IDENTITY, ASSUME_ROLE, AWS_API, KUBE_IDENTITY, RBAC, DENIED)
