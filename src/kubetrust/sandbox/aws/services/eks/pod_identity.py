"""EKS Pod Identity associations: the five calls and the store the data plane reads.

moto has no Pod Identity. :class:`PodIdentityApi` answers ``CreatePodIdentityAssociation``,
``DescribePodIdentityAssociation``, ``ListPodIdentityAssociations``,
``UpdatePodIdentityAssociation`` and ``DeletePodIdentityAssociation`` for the gate's EKS hook
(:class:`~kubetrust.sandbox.aws.services.eks.api.EksExtras`), after the gate authorized the
IAM action and the caller's ``iam:PassRole`` of ``roleArn`` (:mod:`.actions`). It keeps EKS's
own rules (reference F.5): the cluster exists; the role exists in the cluster's account and
its trust admits ``pods.eks.amazonaws.com`` (:func:`trust_admits`); one association per
namespace and service account; ``policy`` only with ``disableSessionTags``; 5,000 per
cluster; an update changes only the role, the target role, ``disableSessionTags`` and
``policy``. Associations belong to one cluster *object*: a deleted cluster takes them with
it, and a cluster created again under the same name starts with none.

EKS's texts quoted from public reports are marked *[seen]* at their constant; the others
are the sandbox's own wording, marked *[sandbox]*, each one constant, easy to change.

Eventual consistency (reference H.2): the data plane (:meth:`PodIdentityApi.association_for`)
sees the associations as they were ``visibility_seconds`` ago, the API its own writes at
once; EKS sees IAM through a :class:`~kubetrust.sandbox.aws.propagation.Propagation`, so a
role IAM made or changed a moment ago may be refused as not existing (H.1). The writes need
an ``ACTIVE`` cluster (:func:`~.model.require_active`).

Not emulated: add-on-owned associations (``ownerArn`` is never set), tag APIs on
association ARNs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubetrust import arn as arns
from kubetrust import errors, policy
from kubetrust.chain import pod_identity as chain_pod_identity
from kubetrust.model.vocabulary import POD_IDENTITY_SERVICE
from kubetrust.sandbox.aws import credentials, state, wire
from kubetrust.sandbox.aws.propagation import Propagation
from kubetrust.sandbox.aws.services.eks import lifecycle, model
from kubetrust.sandbox.aws.services.eks.associations import PodIdentityAssociation

MAX_ASSOCIATIONS_PER_CLUSTER = 5000
"""EKS UG "Limits": up to 5,000 associations per cluster, not adjustable."""
MAX_TAGS = 50
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
ID_PREFIX = "a-"
ID_LENGTH = 17
"""``associationId`` is ``a-`` and 17 lowercase letters and digits (CLI examples)."""
_ID_ALPHABET = string.ascii_lowercase + string.digits

# [seen] texts: where each was reported is named in the docstring of the function using it.
ROLE_NOT_FOUND = "Role provided in the request does not exist"
INVALID_TRUST = "Trust policy of the role provided is invalid"
ALREADY_EXISTS = "Association already exists: {association_id}"
# [sandbox] texts: EKS's own wording was not found.
ROLE_OTHER_ACCOUNT = "Role provided in the request must be in the same account as the cluster"
INVALID_ROLE_ARN = "The roleArn {arn} is not a valid IAM role ARN"
INVALID_TARGET_ROLE_ARN = "The targetRoleArn {arn} is not a valid IAM role ARN"
POLICY_NEEDS_NO_TAGS = "disableSessionTags must be true when a policy is provided"
INVALID_POLICY = "The policy provided in the request is not a valid IAM policy: {reason}"
NOTHING_TO_UPDATE = (
    "At least one of roleArn, targetRoleArn, disableSessionTags or policy must be provided"
)
NOT_FOUND = "No Pod Identity Association found for id: {association_id}"
LIMIT_REACHED = "Cluster {cluster} has reached the limit of {limit} Pod Identity associations"
TOKEN_REUSED = "The clientRequestToken {token} was already used with different parameters"
"""EKS models no ``IdempotentParameterMismatch``: a token reused for another request is
refused as ``InvalidRequestException`` (400) [sandbox, unconfirmed]."""
INVALID_NAME = "The {what} {name} is not a valid Kubernetes name"
INVALID_TAGS = (
    "Tags must be at most {limit} pairs of a key of 1 to 128 and a value of at most 256 "
    "characters, keys not starting with aws:"
)

_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")
_ROLE_ARN = re.compile(r"arn:aws(-cn|-us-gov)?:iam::\d{12}:role/[\w+=,.@/-]{1,512}\Z")
_UPDATABLE = ("roleArn", "targetRoleArn", "disableSessionTags", "policy")


# --------------------------------------------------------------------------- unconfirmed choices


def cleared(value: object) -> bool:
    """Whether an update's ``targetRoleArn`` or ``policy`` removes it: ``""`` clears, a
    missing member keeps. [unconfirmed] The ACK controller sends ``""`` to remove a target
    role (aws-controllers-k8s/eks-controller#164); the API reference is silent."""
    return value == ""


def trust_admits(
    trust_policy: str, role_arn: str, needs_tag_session: bool, context: Mapping[str, object]
) -> bool:
    """Whether a role's trust admits EKS Pod Identity, as EKS checks it when an
    association is created or its role changed ([seen] "Trust policy of the role provided is
    invalid", hashicorp/terraform-provider-aws#41483, aws/aws-cdk#31522).

    The choice (reference F.5): the policy engine decides ``sts:AssumeRole`` — and
    ``sts:TagSession`` unless session tags are disabled — for the service principal
    ``pods.eks.amazonaws.com`` with what EKS knows at this time (``context``: the
    association's request tags). An Allow that fails only on a condition still admits: its
    values (the pod's name and UID, the source of the request) exist only when EKS Auth
    assumes the role, and a user guide example scopes the trust exactly so. An applicable
    Deny, or no Allow naming the service for the action, refuses."""
    actions = ["sts:AssumeRole", *(["sts:TagSession"] if needs_tag_session else [])]
    policies = policy.policy_set(resource=trust_policy, resource_kind="trust")
    for action in actions:
        request = policy.Request(POD_IDENTITY_SERVICE, action, role_arn, context)
        decision = policy.authorize(request, policies)
        if decision.allowed:
            continue
        near_miss = any(r.effect == "NotApplicable" for r in decision.reasons)
        if decision.outcome is policy.Outcome.EXPLICIT_DENY or not near_miss:
            return False
    return True


# --------------------------------------------------------------------------- the store


@dataclass(slots=True)
class ClusterAssociations:
    """The associations of one moto cluster object, and the request tokens they came from."""

    cluster: Any
    published: lifecycle.DelayedView[dict[str, PodIdentityAssociation]]
    """The associations as the data plane sees them (module doc)."""
    by_id: dict[str, PodIdentityAssociation] = field(default_factory=dict)
    tokens: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    """(operation, token) → (request fingerprint, association id)."""

    def find(self, namespace: str, service_account: str) -> PodIdentityAssociation | None:
        for association in self.by_id.values():
            if (association.namespace, association.service_account) == (
                namespace,
                service_account,
            ):
                return association
        return None

    def publish(self, now: float) -> None:
        if self.by_id != self.published.latest:
            self.published.record(now, dict(self.by_id))

    def forget(self, association_id: str) -> None:
        self.tokens = {k: v for k, v in self.tokens.items() if v[1] != association_id}


@dataclass(frozen=True, slots=True)
class _Settings:
    """What an association's role settings become after a create or an update."""

    role_arn: str
    target_role_arn: str | None
    disable_session_tags: bool
    policy: str | None


Handler = Callable[[credentials.Credential, model.Call], model.Response]


class PodIdentityApi:
    """The five calls and the associations per cluster. Not locked: the EKS hook calls it
    under its own lock."""

    def __init__(
        self,
        clock: model.Clock,
        *,
        propagation: Propagation | None = None,
        visibility_seconds: float = 0.0,
    ) -> None:
        self.clock = clock
        self.propagation = propagation or Propagation(0.0)
        self.visibility_seconds = visibility_seconds
        self.limit = MAX_ASSOCIATIONS_PER_CLUSTER
        self._clusters: dict[tuple[str, str, str], ClusterAssociations] = {}

    def handlers(self) -> dict[str, Handler]:
        """The hook's routing table for the five calls."""
        return {
            "CreatePodIdentityAssociation": self._create,
            "DescribePodIdentityAssociation": self._describe,
            "ListPodIdentityAssociations": self._list,
            "UpdatePodIdentityAssociation": self._update,
            "DeletePodIdentityAssociation": self._delete,
        }

    # ------------------------------------------------------------------ data plane
    def association_for(
        self,
        account: str,
        region: str,
        cluster: str,
        namespace: str,
        service_account: str,
        now: float,
    ) -> PodIdentityAssociation | None:
        """The association of this service account in the cluster now named ``cluster``,
        as the data plane sees it at ``now`` (module doc)."""
        found = state.eks(account, region).clusters.get(cluster)
        if found is None:
            return None
        seen = self._of(account, region, cluster, found).published.seen(now)
        return next(
            (
                a
                for a in seen.values()
                if (a.namespace, a.service_account) == (namespace, service_account)
            ),
            None,
        )

    def publish(self, account: str, region: str, cluster: str, now: float) -> None:
        """The cluster's associations as they are now start on their way to the data
        plane (the hook calls it after every call)."""
        held = self._clusters.get((account, region, cluster))
        if held is not None:
            held.publish(now)

    # ------------------------------------------------------------------ lookups
    def _of(self, account: str, region: str, name: str, cluster: Any) -> ClusterAssociations:
        key = (account, region, name)
        held = self._clusters.get(key)
        if held is None or held.cluster is not cluster:
            held = ClusterAssociations(cluster, lifecycle.DelayedView(self.visibility_seconds, {}))
            self._clusters[key] = held
        return held

    def _writable(self, call: model.Call) -> ClusterAssociations:
        """The named cluster's associations, for a change: the cluster must be active."""
        held = self._cluster(call)
        model.require_active(call, held.cluster)
        return held

    def _cluster(self, call: model.Call) -> ClusterAssociations:
        """The named cluster's associations, or EKS's not-found answer (moto's text, which
        moto took from EKS)."""
        found = state.eks(call.account, call.region).clusters.get(call.cluster)
        if found is None:
            raise wire.AwsError(
                "ResourceNotFoundException", f"No cluster found for name: {call.cluster}.", 404
            )
        return self._of(call.account, call.region, call.cluster, found)

    @staticmethod
    def _association(held: ClusterAssociations, association_id: str) -> PodIdentityAssociation:
        found = held.by_id.get(association_id)
        if found is None:
            message = NOT_FOUND.format(association_id=association_id)
            raise wire.AwsError("ResourceNotFoundException", message, 404)
        return found

    # ------------------------------------------------------------------ handlers
    def _create(self, _caller: credentials.Credential, call: model.Call) -> model.Response:
        """One association per namespace and service account ([seen] "Association already
        exists: ID", 409, eksctl-io/eksctl#7753); the namespace and service account need not
        exist in the cluster (EKS UG ``pod-id-association``)."""
        held = self._writable(call)
        replay = _replayed(held, "create", call)
        if replay is not None:
            return _answer(replay)
        body = call.body
        namespace = _name(body.get("namespace"), "namespace", _LABEL, 63)
        service_account = _name(body.get("serviceAccount"), "serviceAccount", _SUBDOMAIN, 253)
        tags = _tags(body.get("tags"))
        target = body.get("targetRoleArn")
        settings = _Settings(
            role_arn=_text(body.get("roleArn")),
            target_role_arn=None if target in (None, "") else _text(target),
            disable_session_tags=_flag(body.get("disableSessionTags"), False),
            policy=_optional_text(body.get("policy")),
        )
        _check_settings(settings)
        existing = held.find(namespace, service_account)
        if existing is not None:
            message = ALREADY_EXISTS.format(association_id=existing.association_id)
            raise wire.AwsError("ResourceInUseException", message, 409)
        if len(held.by_id) >= self.limit:
            message = LIMIT_REACHED.format(cluster=call.cluster, limit=self.limit)
            raise wire.AwsError("ResourceLimitExceededException", message, 400)
        _check_role(call, namespace, service_account, settings, self.propagation)
        association = self._new(call, held, namespace, service_account, settings, tags)
        _remember(held, "create", call, association.association_id)
        return _answer(association)

    def _new(
        self,
        call: model.Call,
        held: ClusterAssociations,
        namespace: str,
        service_account: str,
        settings: _Settings,
        tags: dict[str, str],
    ) -> PodIdentityAssociation:
        association_id = _new_id(held)
        partition = arns.partition_of_region(call.region)
        now = self.clock()
        association = PodIdentityAssociation(
            account=call.account,
            region=call.region,
            cluster=call.cluster,
            namespace=namespace,
            service_account=service_account,
            role_arn=settings.role_arn,
            association_id=association_id,
            association_arn=(
                f"arn:{partition}:eks:{call.region}:{call.account}:"
                f"podidentityassociation/{call.cluster}/{association_id}"
            ),
            created_at=now,
            modified_at=now,
            tags=tags,
        )
        association = _with_settings(association, settings)
        held.by_id[association_id] = association
        return association

    def _describe(self, _caller: credentials.Credential, call: model.Call) -> model.Response:
        return _answer(self._association(self._cluster(call), call.label(3)))

    def _list(self, _caller: credentials.Credential, call: model.Call) -> model.Response:
        """Summaries only (no role, times or tags), filtered by ``namespace`` and
        ``serviceAccount``, in creation order, paged by ``maxResults`` (1–100) and
        ``nextToken``."""
        held = self._cluster(call)
        namespace = call.first("namespace")
        service_account = call.first("serviceAccount")
        summaries = [
            _summary(a)
            for a in held.by_id.values()
            if namespace in (None, a.namespace) and service_account in (None, a.service_account)
        ]
        page, token = model.page(summaries, call)
        return model.ok({"associations": page, **({"nextToken": token} if token else {})})

    def _update(self, _caller: credentials.Credential, call: model.Call) -> model.Response:
        """Only the role, the target role, ``disableSessionTags`` and ``policy`` change, and
        at least one must be given (API reference); the role is checked again as at
        creation when it or ``disableSessionTags`` is given. A just-created role may be
        refused with [seen] "Role provided in the request does not exist"
        (hashicorp/terraform-provider-aws#34711: Terraform retries on that text)."""
        held = self._writable(call)
        current = self._association(held, call.label(3))
        replay = _replayed(held, "update", call)
        if replay is not None:
            return _answer(replay)
        body = call.body
        if all(body.get(member) is None for member in _UPDATABLE):
            raise model.invalid(NOTHING_TO_UPDATE)
        settings = _updated(current, body)
        _check_settings(settings)
        if body.get("roleArn") is not None or body.get("disableSessionTags") is not None:
            _check_role(
                call, current.namespace, current.service_account, settings, self.propagation
            )
        association = dataclasses.replace(
            _with_settings(current, settings), modified_at=self.clock()
        )
        held.by_id[association.association_id] = association
        _remember(held, "update", call, association.association_id)
        return _answer(association)

    def _delete(self, _caller: credentials.Credential, call: model.Call) -> model.Response:
        """Answers the deleted association (API reference); sessions already issued stay
        valid until they expire."""
        held = self._writable(call)
        association = self._association(held, call.label(3))
        del held.by_id[association.association_id]
        held.forget(association.association_id)
        return _answer(association)


# --------------------------------------------------------------------------- settings


def _updated(current: PodIdentityAssociation, body: Mapping[str, Any]) -> _Settings:
    target = body.get("targetRoleArn")
    policy_text = body.get("policy")
    return _Settings(
        role_arn=current.role_arn if body.get("roleArn") is None else _text(body["roleArn"]),
        target_role_arn=(
            current.target_role_arn
            if target is None
            else None
            if cleared(target)
            else _text(target)
        ),
        disable_session_tags=_flag(body.get("disableSessionTags"), current.disable_session_tags),
        policy=(
            current.policy
            if policy_text is None
            else None
            if cleared(policy_text)
            else _text(policy_text)
        ),
    )


def _with_settings(
    association: PodIdentityAssociation, settings: _Settings
) -> PodIdentityAssociation:
    """The association with these settings; ``externalId`` exists only with a target role."""
    external = None
    if settings.target_role_arn is not None:
        # [unconfirmed] its form: one definition, shared with explain (reference F.5)
        external = chain_pod_identity.external_id(
            association.region,
            association.account,
            association.cluster,
            association.namespace,
            association.service_account,
        )
    return dataclasses.replace(
        association,
        role_arn=settings.role_arn,
        target_role_arn=settings.target_role_arn,
        disable_session_tags=settings.disable_session_tags,
        policy=settings.policy,
        external_id=external,
    )


def _check_settings(settings: _Settings) -> None:
    """Syntax of the role ARNs, ``policy`` only with ``disableSessionTags`` (API reference:
    "When using this policy, disableSessionTags must be set to true"), and the policy a
    valid IAM policy."""
    if not _ROLE_ARN.match(settings.role_arn):
        raise model.invalid(INVALID_ROLE_ARN.format(arn=settings.role_arn))
    target = settings.target_role_arn
    if target is not None and not _ROLE_ARN.match(target):
        raise model.invalid(INVALID_TARGET_ROLE_ARN.format(arn=target))
    if settings.policy is None:
        return
    if not settings.disable_session_tags:
        raise model.invalid(POLICY_NEEDS_NO_TAGS)
    try:
        policy.parse_policy(settings.policy, policy.PolicyKind.SESSION)
    except (errors.PolicyParseError, errors.InputError) as bad:
        raise model.invalid(INVALID_POLICY.format(reason=bad)) from None


def _check_role(
    call: model.Call, namespace: str, sa: str, settings: _Settings, propagation: Propagation
) -> None:
    """The association role: in the cluster's account (it is passed to EKS: ``iam:PassRole``
    is the gate's), existing ([seen] terraform-provider-aws#34711), and trusting EKS Pod
    Identity (:func:`trust_admits`) — as EKS sees IAM (``propagation``, reference H.1: a
    role just made is "Role provided in the request does not exist" for a few seconds, a
    trust just changed is still the old one). The target role is not checked: it may be in
    any account, EKS only assumes it later, and no ``iam:PassRole`` applies to it."""
    role_arn = settings.role_arn
    if role_arn.split(":")[4] != call.account:
        raise model.invalid(ROLE_OTHER_ACCOUNT)
    role = propagation.role_by_arn(role_arn) if propagation.principal_visible(role_arn) else None
    if role is None:
        raise model.invalid(ROLE_NOT_FOUND)
    context = _request_tags(call, namespace, sa) if not settings.disable_session_tags else {}
    if not trust_admits(role.trust_policy, role.arn, not settings.disable_session_tags, context):
        raise model.invalid(INVALID_TRUST)


def _request_tags(call: model.Call, namespace: str, sa: str) -> dict[str, object]:
    """The session tags EKS Auth will set that are known before any pod exists."""
    partition = arns.partition_of_region(call.region)
    cluster_arn = f"arn:{partition}:eks:{call.region}:{call.account}:cluster/{call.cluster}"
    tags = {
        "eks-cluster-arn": cluster_arn,
        "eks-cluster-name": call.cluster,
        "kubernetes-namespace": namespace,
        "kubernetes-service-account": sa,
    }
    return {f"aws:RequestTag/{k}": v for k, v in tags.items()}


# --------------------------------------------------------------------------- idempotency


def _fingerprint(call: model.Call) -> str:
    body = {k: v for k, v in call.body.items() if k != "clientRequestToken"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _replayed(
    held: ClusterAssociations, operation: str, call: model.Call
) -> PodIdentityAssociation | None:
    """The association a retry with the same ``clientRequestToken`` made, or ``None`` for a
    new request; the same token with other parameters is refused (:data:`TOKEN_REUSED`).
    A deleted association's tokens are forgotten: its retry creates anew."""
    token = call.body.get("clientRequestToken")
    if not isinstance(token, str) or not token:
        return None
    seen = held.tokens.get((operation, token))
    if seen is None:
        return None
    fingerprint, association_id = seen
    if fingerprint != _fingerprint(call) or (
        operation == "update" and association_id != call.label(3)
    ):
        raise wire.AwsError("InvalidRequestException", TOKEN_REUSED.format(token=token), 400)
    return held.by_id.get(association_id)


def _remember(held: ClusterAssociations, operation: str, call: model.Call, ident: str) -> None:
    token = call.body.get("clientRequestToken")
    if isinstance(token, str) and token:
        held.tokens[(operation, token)] = (_fingerprint(call), ident)


# --------------------------------------------------------------------------- values


def _new_id(held: ClusterAssociations) -> str:
    while True:
        candidate = ID_PREFIX + "".join(secrets.choice(_ID_ALPHABET) for _ in range(ID_LENGTH))
        if candidate not in held.by_id:
            return candidate


def _name(raw: object, what: str, pattern: re.Pattern[str], limit: int) -> str:
    """A Kubernetes namespace (DNS-1123 label) or service account (DNS-1123 subdomain)
    name: an association for a name Kubernetes refuses could never apply [sandbox]."""
    if not isinstance(raw, str) or not raw or len(raw) > limit or not pattern.match(raw):
        raise model.invalid(INVALID_NAME.format(what=what, name=raw))
    return raw


def _text(raw: object) -> str:
    if not isinstance(raw, str):
        raise model.invalid(f"Expected a string, got {errors.shown(raw)}")
    return raw


def _optional_text(raw: object) -> str | None:
    return None if raw in (None, "") else _text(raw)


def _flag(raw: object, default: bool) -> bool:
    if raw is None:
        return default
    if not isinstance(raw, bool):
        raise model.invalid(f"Expected a boolean, got {errors.shown(raw)}")
    return raw


def _tags(raw: object) -> dict[str, str]:
    """At most 50 tags, keys 1–128 and values up to 256 characters, no ``aws:`` key
    prefix in any case (botocore's model and its documentation)."""
    if raw is None:
        return {}
    refused = model.invalid(INVALID_TAGS.format(limit=MAX_TAGS))
    if not isinstance(raw, Mapping) or len(raw) > MAX_TAGS:
        raise refused
    for key, value in raw.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise refused
        if not 1 <= len(key) <= MAX_TAG_KEY or len(value) > MAX_TAG_VALUE:
            raise refused
        if key.lower().startswith("aws:"):
            raise refused
    return {str(k): str(v) for k, v in raw.items()}


def to_wire(association: PodIdentityAssociation) -> dict[str, Any]:
    """botocore's ``PodIdentityAssociation`` shape; times as epoch seconds; ``ownerArn``,
    ``targetRoleArn``, ``externalId`` and ``policy`` only when set."""
    wired: dict[str, Any] = {
        "clusterName": association.cluster,
        "namespace": association.namespace,
        "serviceAccount": association.service_account,
        "roleArn": association.role_arn,
        "associationArn": association.association_arn,
        "associationId": association.association_id,
        "tags": dict(association.tags),
        "createdAt": _epoch(association.created_at),
        "modifiedAt": _epoch(association.modified_at),
        "disableSessionTags": association.disable_session_tags,
    }
    optional = {
        "ownerArn": association.owner_arn,
        "targetRoleArn": association.target_role_arn,
        "externalId": association.external_id,
        "policy": association.policy,
    }
    wired.update({k: v for k, v in optional.items() if v is not None})
    return wired


def _summary(association: PodIdentityAssociation) -> dict[str, Any]:
    """``PodIdentityAssociationSummary``: no role, times or tags."""
    summary = {
        "clusterName": association.cluster,
        "namespace": association.namespace,
        "serviceAccount": association.service_account,
        "associationArn": association.association_arn,
        "associationId": association.association_id,
    }
    if association.owner_arn is not None:
        summary["ownerArn"] = association.owner_arn
    return summary


def _epoch(moment: dt.datetime) -> float:
    return moment.timestamp()


def _answer(association: PodIdentityAssociation) -> model.Response:
    return model.ok({"association": to_wire(association)})
