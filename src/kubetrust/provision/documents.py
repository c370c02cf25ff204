"""The documents the seed writes by hand, generated so that their ARNs always agree.

Trust policies, the CI role's chain policy, the target roles' permission policies, the pod's
AWS config file and its kubeconfig. Each builder takes plain values (ARNs, subjects) and
returns a document; nothing here reads live state, so the same inputs always give the same
text and a second plan finds nothing to change.

Sizes are measured as IAM measures them: the JSON text without white space (IAM does not
count it), against the default quotas (IAM and STS quotas page): a role trust policy 2,048
characters (adjustable to 4,096), all inline policies of one role together 10,240.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from kubetrust.model.vocabulary import IRSA_AUDIENCE, POD_IDENTITY_SERVICE

VERSION = "2012-10-17"
TOKEN_FILE = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"
"""Where the pod identity webhook mounts the projected token (reference C.4)."""
ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
TRUST_POLICY_LIMIT = 2048
INLINE_POLICIES_LIMIT = 10240
SOURCE_PROFILE = "ci-env"
POD_IDENTITY_ACTIONS = ("sts:AssumeRole", "sts:TagSession")
"""What EKS Pod Identity needs on both hops: EKS sets (transitive) session tags on the
association role's session, so every role assumed from it needs ``sts:TagSession`` too."""
CONTAINER_CREDENTIALS = "EcsContainer"
"""``credential_source`` of a profile whose source credentials come from the container
provider, which is how botocore reads the Pod Identity Agent (reference G.1)."""
POD_IDENTITY_TAGS = (
    "eks-cluster-arn",
    "kubernetes-namespace",
    "kubernetes-service-account",
)
"""The session tags kubetrust's Pod Identity trusts condition on: cluster, namespace and
service account, always together (service accounts are unique only per namespace,
namespaces only per cluster; reference F.1)."""


def policy_size(document: Mapping[str, Any]) -> int:
    """The size IAM counts: the JSON text without any white space."""
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    return sum(1 for char in text if not char.isspace())


def issuer_host_path(issuer_url: str) -> str:
    """``https://oidc.eks.r.amazonaws.com/id/X`` → ``oidc.eks.r.amazonaws.com/id/X``: the
    provider name in its ARN and the prefix of its condition keys (reference B.3)."""
    return issuer_url.removeprefix("https://").rstrip("/")


def oidc_provider_arn(account: str, issuer_url: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account}:oidc-provider/{issuer_host_path(issuer_url)}"


def web_identity_trust(
    provider_arn: str, issuer_url: str, subjects: Sequence[str], audience: str = IRSA_AUDIENCE
) -> dict[str, Any]:
    """The IRSA trust: only these service accounts' tokens, with the STS audience.

    ``StringEquals`` on ``:sub``, never ``StringLike``: a wildcard subject under
    ``StringEquals`` is a classic mistake that silently matches nothing, and a wildcard
    under ``StringLike`` opens the role to every service account it matches."""
    host_path = issuer_host_path(issuer_url)
    sub: str | list[str] = subjects[0] if len(subjects) == 1 else list(subjects)
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{host_path}:sub": sub, f"{host_path}:aud": audience}
                },
            }
        ],
    }


def role_trust(principal_arn: str) -> dict[str, Any]:
    """The chained target's trust: exactly the CI role (the seed's step 4), not its account."""
    return {
        "Version": VERSION,
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": principal_arn}, "Action": "sts:AssumeRole"}
        ],
    }


def chain_policy(target_role_arns: Sequence[str]) -> dict[str, Any]:
    """The CI role's identity policy: ``sts:AssumeRole`` on the target roles and nothing else
    (the cross-account hop needs this side too, reference A.2)."""
    resource: str | list[str] = (
        target_role_arns[0] if len(target_role_arns) == 1 else list(target_role_arns)
    )
    return {
        "Version": VERSION,
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": resource}],
    }


def pod_identity_trust(
    account: str, cluster_arn: str, service_accounts: Sequence[tuple[str, str]]
) -> dict[str, Any]:
    """The association role's trust: ``pods.eks.amazonaws.com`` may ``sts:AssumeRole`` and
    ``sts:TagSession`` (reference F.1), narrowed as the EKS user guide and best practices
    show, so that no other association can use the role: ``aws:SourceAccount`` (the
    cluster's account) and one statement per service account on the session tags EKS sets
    (``aws:RequestTag/<tag>``: cluster ARN, namespace, service account). The bare trust
    would let any association in the account use this role."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": POD_IDENTITY_SERVICE},
                "Action": list(POD_IDENTITY_ACTIONS),
                "Condition": {
                    "StringEquals": {
                        "aws:SourceAccount": account,
                        **_tag_conditions("aws:RequestTag", cluster_arn, namespace, name),
                    }
                },
            }
            for namespace, name in service_accounts
        ],
    }


def pod_identity_target_trust(
    source_role_arn: str, cluster_arn: str, service_accounts: Sequence[tuple[str, str]]
) -> dict[str, Any]:
    """A target role's trust with Pod Identity: exactly the association role
    (``Principal.AWS``), both actions (its session carries transitive tags), and per
    service account the session's tags as ``aws:PrincipalTag/<tag>`` (the user guide's
    variant A names them ``aws:RequestTag``; the principal's tags hold the same values and
    are there on both ways a target is reached: EKS's second hop with one target, the pod's
    own ``AssumeRole`` with several). No ``sts:ExternalId`` (reference F.4: it is not
    documented for associations with session tags)."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": source_role_arn},
                "Action": list(POD_IDENTITY_ACTIONS),
                "Condition": {
                    "StringEquals": _tag_conditions(
                        "aws:PrincipalTag", cluster_arn, namespace, name
                    )
                },
            }
            for namespace, name in service_accounts
        ],
    }


def _tag_conditions(prefix: str, cluster_arn: str, namespace: str, name: str) -> dict[str, str]:
    values = dict(zip(POD_IDENTITY_TAGS, (cluster_arn, namespace, name), strict=True))
    return {f"{prefix}/{tag}": value for tag, value in values.items()}


def pod_identity_chain_policy(target_role_arns: Sequence[str]) -> dict[str, Any]:
    """The association role's identity policy: both actions on the target roles (reference
    F.4: the second hop, by EKS or by the pod, sets the transitive tags again)."""
    resource: str | list[str] = (
        target_role_arns[0] if len(target_role_arns) == 1 else list(target_role_arns)
    )
    return {
        "Version": VERSION,
        "Statement": [
            {"Effect": "Allow", "Action": list(POD_IDENTITY_ACTIONS), "Resource": resource}
        ],
    }


def permissions_policy(statements: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": [dict(statement) for statement in statements]}


def canonical(document: object) -> str:
    """A stable JSON rendering for comparison and diffs: keys sorted, two-space indent, and
    the "string or list" elements that IAM treats as sets (actions, resources, principals,
    condition values) written as sorted lists, or as a string when they hold one value, so
    that ``"Action": "s3:X"`` and ``"Action": ["s3:X"]`` compare equal, as they are for IAM."""
    return json.dumps(_normalized(document), indent=2, sort_keys=True, ensure_ascii=False)


_SET_ELEMENTS = frozenset(
    {"Action", "NotAction", "Resource", "NotResource", "AWS", "Federated", "Service"}
)


def _normalized(value: object, key: str = "", in_condition: bool = False) -> object:
    if isinstance(value, Mapping):
        return {
            str(k): _normalized(v, str(k), in_condition or k == "Condition")
            for k, v in value.items()
        }
    as_set = key in _SET_ELEMENTS or in_condition
    if as_set and isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        unique = sorted({str(item) for item in value})
        return unique[0] if len(unique) == 1 else unique
    if isinstance(value, list | tuple):
        return [_normalized(item, "", in_condition) for item in value]
    return value


def aws_config(profiles: Sequence[tuple[str, Mapping[str, str]]]) -> str:
    """An AWS config file: ``[profile NAME]`` sections, keys in the given order."""
    sections = []
    for name, keys in profiles:
        lines = [f"[profile {name}]"] + [f"{key} = {value}" for key, value in keys.items()]
        sections.append("\n".join(lines))
    return "\n\n".join(sections) + "\n"


def kubeconfig(contexts: Sequence[Mapping[str, str]]) -> str:
    """A kubeconfig with one context per target cluster, as ``aws eks update-kubeconfig``
    writes them (reference G.6): the cluster ARN names the cluster and user, and the user
    runs ``aws eks get-token`` with ``AWS_PROFILE`` set to the target's profile (none when
    the context's ``profile`` is empty: the pod's default credentials are the target's).

    Each context mapping holds ``name``, ``arn``, ``endpoint``, ``ca_data``, ``region``,
    ``cluster`` and ``profile``."""
    config: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "current-context": contexts[0]["name"] if contexts else "",
        "clusters": [
            {
                "name": c["arn"],
                "cluster": {"server": c["endpoint"], "certificate-authority-data": c["ca_data"]},
            }
            for c in contexts
        ],
        "users": [{"name": c["arn"], "user": {"exec": _exec(c)}} for c in contexts],
        "contexts": [
            {"name": c["name"], "context": {"cluster": c["arn"], "user": c["arn"]}}
            for c in contexts
        ],
    }
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=False)


def _exec(context: Mapping[str, str]) -> dict[str, Any]:
    exec_config: dict[str, Any] = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": "aws",
        "args": [
            "--region",
            context["region"],
            "eks",
            "get-token",
            "--cluster-name",
            context["cluster"],
            "--output",
            "json",
        ],
    }
    if context.get("profile"):
        exec_config["env"] = [{"name": "AWS_PROFILE", "value": context["profile"]}]
    return exec_config
