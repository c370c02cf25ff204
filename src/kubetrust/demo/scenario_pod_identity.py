"""The seed's chain with EKS Pod Identity and ``targetRoleArn``: names, files, checks, links.

The same two accounts, clusters, namespace and service accounts as the seed (the world file
is the seed's), so that the two demos read side by side; what changes is how the pod gets
its credentials. ``kubetrust apply`` of ``scenario/pod-identity.yaml`` makes one pod identity
association for ``ci-namespace/ci-serviceaccount`` with ``roleArn`` = the association role
in the CI account and ``targetRoleArn`` = the target role; the pod mounts no AWS config at
all, and its default credentials (the container provider, through the Pod Identity Agent)
are the target role's session. EKS Auth makes two role assumptions the pod never sees
separately (reference F.1, F.4): the association role as ``pods.eks.amazonaws.com``, then,
with that session, the target role. The demo shows the first one through the association
(``describe-pod-identity-association``, as the CI administrator) and through how a refusal
of either hop reaches the pod (:mod:`kubetrust.demo.verdicts_pod_identity`).
"""

from __future__ import annotations

from kubetrust.chain.pod_identity import SERVICE_PRINCIPAL, SESSION_NAME_PREFIX
from kubetrust.demo.model import LinkSpec, Verdict
from kubetrust.demo.scenario import (
    CI_ACCOUNT,
    CI_CLUSTER,
    NAMESPACE,
    OTHER_SERVICE_ACCOUNT,
    REGION,
    SCENARIO_DIR,
    SERVICE_ACCOUNT,
    TARGET_ACCOUNT,
    TARGET_CLUSTER,
    TARGET_ROLE,
    TARGET_ROLE_ARN,
    PodCommand,
)
from kubetrust.provision.spec import DEFAULT_KUBECONFIG_MAP

FEDERATION = "pod-identity"
SPEC_FILE = SCENARIO_DIR / "pod-identity.yaml"
TEST_DEPLOYMENT = SCENARIO_DIR / "pod-identity-deployment.yaml"
OTHER_DEPLOYMENT = SCENARIO_DIR / "pod-identity-other.yaml"

ASSOCIATION_ROLE = "ci-pod-identity-role"
ASSOCIATION_ROLE_ARN = f"arn:aws:iam::{CI_ACCOUNT}:role/{ASSOCIATION_ROLE}"
AGENT_ADDON = "eks-pod-identity-agent"
KUBE_USER = "ci-deployer"
ACCESS_POLICY = "AmazonEKSViewPolicy"
KUBECONFIG_MAP = DEFAULT_KUBECONFIG_MAP
"""The kubeconfig ConfigMap ``kubetrust apply`` writes (the spec's default name); the pod
manifests mount it at ``/kubeconfig`` and set ``KUBECONFIG`` to its ``config`` key."""
TARGET_SESSION_PREFIX = (
    f"arn:aws:sts::{TARGET_ACCOUNT}:assumed-role/{TARGET_ROLE}/{SESSION_NAME_PREFIX}{CI_CLUSTER}-"
)
"""The pod's identity: a session of the target role named ``eks-<cluster>-<pod>-<uuid>``."""
ASSOCIATION_SESSION = f"arn:aws:sts::{CI_ACCOUNT}:assumed-role/{ASSOCIATION_ROLE}/"
"""The association role's session, which appears in the pod only inside a hop-2 refusal."""

NO_CREDENTIALS = "Unable to locate credentials"
"""botocore's words when no provider of its chain has credentials: what a pod of a service
account without an association meets (with the instance metadata out of reach)."""
HOP1_REFUSED = "EKS does not have permissions to assume the associated role"
"""EKS Auth's refusal of the first hop, as the agent passes it on (reference F.3)."""
HOP2_REFUSED = "is not authorized to perform: sts:"
"""STS's refusal of the second hop, naming the association role's session as the caller."""

INJECTED = PodCommand("injected", "env | grep ^AWS_CONTAINER_ | sort")
"""What EKS's webhook put in the pod's environment (nothing for a service account without
an association: grep then exits 1)."""
POSITIVE_CHECKS = (
    PodCommand(
        "no-aws-config",
        'test ! -e ~/.aws && test -z "$AWS_CONFIG_FILE$AWS_PROFILE$AWS_ACCESS_KEY_ID"',
    ),
    INJECTED,
    PodCommand("identity", "aws sts get-caller-identity"),
    PodCommand("list-clusters", "aws eks list-clusters"),
    PodCommand("describe-cluster", f"aws eks describe-cluster --name {TARGET_CLUSTER}"),
    PodCommand("whoami", "kubectl auth whoami -o json"),
    PodCommand("namespaces", "kubectl get namespaces"),
    PodCommand("kube-system-pods", "kubectl get pods -n kube-system"),
)
"""The seed's checks without ``--profile`` and without ``update-kubeconfig``: the default
credentials, and the kubeconfig ConfigMap ``$KUBECONFIG`` names."""
NEGATIVE_CHECKS = (
    INJECTED,
    PodCommand("identity", f"aws sts get-caller-identity --region {REGION}"),
    PodCommand("whoami", "kubectl auth whoami"),
)
"""``--region``: without an association the webhook sets no ``AWS_REGION`` either, and the
check must fail for want of credentials, not of a region. ``kubectl auth whoami`` runs the
exec plugin once (``get namespaces`` would retry it through API discovery)."""
CREDENTIAL_CHECKS = ("identity", "whoami")
"""The negative checks that must each fail with :data:`NO_CREDENTIALS`."""

_GUIDE = "EKS user guide"

AGENT = LinkSpec(
    "agent-addon",
    f"{AGENT_ADDON} add-on on {CI_CLUSTER}",
    Verdict.ALLOWED,
    "The Pod Identity Agent runs on the cluster's nodes: without it nothing answers the "
    "address EKS's webhook gives pods, and no pod gets credentials (apply's "
    "`podIdentityAgent: require` checks it).",
    "Set up the EKS Pod Identity Agent",
    _GUIDE,
)
ASSOCIATION = LinkSpec(
    "association",
    f"{NAMESPACE}/{SERVICE_ACCOUNT} → pod identity association in {CI_CLUSTER}",
    Verdict.ALLOWED,
    "The association names the service account, the association role (the cluster's "
    "account) and the target role; EKS's webhook gave the pod the agent's address and a "
    "token for audience pods.eks.amazonaws.com, and the pod has no AWS config at all.",
    "Assign an IAM role to a Kubernetes service account",
    _GUIDE,
)
ASSOCIATION_HOP = LinkSpec(
    "association-role",
    f"EKS Auth → {ASSOCIATION_ROLE} ({SERVICE_PRINCIPAL}: sts:AssumeRole, sts:TagSession)",
    Verdict.ALLOWED,
    "Hop 1, made by EKS Auth for the agent: the association role's trust admits the service "
    f"principal {SERVICE_PRINCIPAL} with the six transitive session tags. Its session never "
    "reaches the pod (a target role is set); a refusal here fails the pod's credential fetch "
    "with EKS's own words.",
    "Assign an IAM role to a Kubernetes service account",
    _GUIDE,
)
TARGET_HOP = LinkSpec(
    "target-role",
    f"{ASSOCIATION_ROLE} → {TARGET_ROLE} in {TARGET_ACCOUNT} (sts:AssumeRole, sts:TagSession)",
    Verdict.ALLOWED,
    "Hop 2, from the association role's session: its policy allows both actions on the "
    "target role, and the target's trust names the association role. The pod's default "
    "credentials are this session (one hour at most: role chaining).",
    "Access AWS resources using EKS Pod Identity Target IAM Roles",
    _GUIDE,
)
AWS_API = LinkSpec(
    "aws-api",
    f"{TARGET_ROLE} → EKS API of {TARGET_ACCOUNT}",
    Verdict.ALLOWED,
    "The target role's permission policy (eks:ListClusters, eks:DescribeCluster) works from "
    "the pod with the default credentials: no profile, no config file.",
    "Access AWS resources using EKS Pod Identity Target IAM Roles",
    _GUIDE,
)
KUBE_IDENTITY = LinkSpec(
    "kube-identity",
    f"EKS token → access entry of {TARGET_CLUSTER} → Kubernetes identity",
    Verdict.ALLOWED,
    f"kubectl's exec plugin (aws eks get-token, from the {KUBECONFIG_MAP} ConfigMap) "
    f"presigned sts:GetCallerIdentity with the default credentials; {TARGET_CLUSTER} "
    "verified it and found the target role's access entry.",
    "Grant IAM users access to Kubernetes with EKS access entries",
    _GUIDE,
)
RBAC = LinkSpec(
    "rbac",
    f"{ACCESS_POLICY} in {TARGET_CLUSTER}: list namespaces, list pods in kube-system",
    Verdict.ALLOWED,
    f"The access entry's policy ({ACCESS_POLICY}, cluster-wide) lets that identity read "
    "the cluster, and nothing more: no system:masters.",
    "Associate access policies with access entries",
    _GUIDE,
)
DENIED = LinkSpec(
    "other-serviceaccount-denied",
    f"{NAMESPACE}/{OTHER_SERVICE_ACCOUNT} (no association) → no credentials",
    Verdict.DENIED,
    "An association is per namespace and service account: another pod in the same "
    "namespace gets no agent address and no token, so the aws CLI and kubectl find no "
    "credentials at all.",
    "least privilege: one association per service account",
    _GUIDE,
)
LINKS = (AGENT, ASSOCIATION, ASSOCIATION_HOP, TARGET_HOP, AWS_API, KUBE_IDENTITY, RBAC, DENIED)

EXPECTED_ASSOCIATION = {"roleArn": ASSOCIATION_ROLE_ARN, "targetRoleArn": TARGET_ROLE_ARN}
"""What the association must say."""
