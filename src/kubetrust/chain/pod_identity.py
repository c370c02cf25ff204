"""EKS Pod Identity's role assumptions as STS hops: what EKS Auth decides, and explain reports.

When the Pod Identity agent asks EKS Auth for a pod's credentials (``AssumeRoleForPodIdentity``,
reference F.3), EKS makes one or two role assumptions (F.1, F.4):

1. **the association role**, assumed by the service principal ``pods.eks.amazonaws.com``
   with ``sts:AssumeRole`` and, unless the association disables them, ``sts:TagSession``
   for the six session tags (:data:`SESSION_TAG_KEYS`, all transitive). A service principal
   has no identity policies: the role's trust policy (and the RCPs of its account) alone
   decide, like the web-identity hop of IRSA;
2. with ``targetRoleArn``, **the target role**, assumed with the association role's session:
   an ordinary chained ``AssumeRole`` (:func:`kubetrust.chain.sts.assume_role`), both sides
   deciding — the association role's identity policies need ``sts:AssumeRole`` (and
   ``sts:TagSession`` when tags are on: the transitive tags are set again on the chained
   hop) on the target, the target's trust must allow both for the association role
   (``aws:PrincipalArn``, ``aws:PrincipalTag/<tag>``, ``aws:RequestTag/<tag>``,
   ``sts:ExternalId``); the session is capped at one hour (role chaining, B.1).

:func:`decide` evaluates both over a :class:`kubetrust.chain.parties.Directory` (the
sandbox's IAM state, or explain's topology), returning every check with its deciding
statements; :func:`session_tags`, :func:`session_name`, :func:`external_id` are the values
EKS gives the hops. Pure: the caller supplies "now" (in the request facts) and the random
part of the session name.

Choices on points the sources leave open, each in one place (reference F.3, F.4):

- :func:`session_name`: ``eks-<cluster>-<pod>-<uuid>`` cut to STS's 64 characters from
  the end (:data:`MAX_SESSION_NAME`); AWS's truncation rule is not documented.
- :func:`external_id`: ``<region>/<account>/<cluster>/<namespace>/<service account>``, the
  form of the EKS user guide's example; sent on the target hop whether or not session tags
  are on (:data:`EXTERNAL_ID_ALWAYS`).
- ``sts:TagSession`` is asked for only when tags are passed (never with
  ``disableSessionTags``): STS asks for it only then.
- ``aws:RequestTag/<tag>`` and ``aws:TagKeys`` are in the context of the ``sts:AssumeRole``
  check too, not only of ``sts:TagSession``: the user guide's trust policies put
  ``aws:RequestTag`` conditions on one statement granting both actions, and EKS documents
  them as working (:func:`kubetrust.policy.sts.assume_role_requests` puts them in every
  check of one call).
- Keys of the service principal's request (hop 1): ``aws:SourceAccount`` (the cluster's
  account) and ``aws:SourceOrgID`` (its organization, when in one), which the EKS best
  practices guide and AWS samples condition on; no ``aws:SourceArn``, whose value EKS
  sends is not documented (:func:`source_keys`): a trust conditioned on it is refused.
- Durations: the association role's session lasts :data:`ASSOCIATION_SESSION_SECONDS`
  (six hours: the agent caches credentials "6 hours" without a target role, reference
  F.4); the target role's one hour (the chaining cap; "59 minutes" cached).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from kubetrust import arn as arns
from kubetrust import policy
from kubetrust.chain import context, parties
from kubetrust.chain import sts as hops
from kubetrust.model.vocabulary import CHAINED_SESSION_CAP, POD_IDENTITY_SERVICE
from kubetrust.policy import sts as sts_requests

Holder = TypeVar("Holder")

SERVICE_PRINCIPAL = POD_IDENTITY_SERVICE
"""Who assumes the association role: EKS Pod Identity's service principal."""

CLUSTER_ARN_TAG = "eks-cluster-arn"
CLUSTER_NAME_TAG = "eks-cluster-name"
NAMESPACE_TAG = "kubernetes-namespace"
SERVICE_ACCOUNT_TAG = "kubernetes-service-account"
POD_NAME_TAG = "kubernetes-pod-name"
POD_UID_TAG = "kubernetes-pod-uid"
SESSION_TAG_KEYS = (
    CLUSTER_ARN_TAG,
    CLUSTER_NAME_TAG,
    NAMESPACE_TAG,
    SERVICE_ACCOUNT_TAG,
    POD_NAME_TAG,
    POD_UID_TAG,
)
"""The six session tags EKS sets, all transitive (EKS UG ``pod-id-abac``, reference F.1)."""

SESSION_NAME_PREFIX = "eks-"
MAX_SESSION_NAME = 64
"""STS's ``RoleSessionName`` limit; [unconfirmed] how EKS shortens longer names: we cut the
end (the random part first), keeping ``eks-<cluster>-<pod>`` readable."""

EXTERNAL_ID_ALWAYS = True
"""[unconfirmed] whether EKS sends ``sts:ExternalId`` on the target hop when session tags
are on: the API documents the association's ``externalId`` for target roles without
condition, the user guide shows it in the tags-off trust; we always send it."""

ASSOCIATION_SESSION_SECONDS = 6 * 3600
"""[unconfirmed] the association role's session lifetime: six hours, what the user guide
says the agent caches without a target role (whatever the role's MaxSessionDuration)."""
TARGET_SESSION_SECONDS = CHAINED_SESSION_CAP
"""The target role's session: role chaining's one-hour cap (B.1)."""


@dataclass(frozen=True, slots=True)
class PodSubject:
    """Whose credentials are asked for: the pod, its service account, its cluster."""

    cluster_arn: str
    namespace: str
    service_account: str
    pod_name: str
    pod_uid: str

    @property
    def cluster_name(self) -> str:
        return arns.parse(self.cluster_arn).resource_name

    @property
    def account(self) -> str:
        return arns.parse(self.cluster_arn).account

    @property
    def region(self) -> str:
        return arns.parse(self.cluster_arn).region


@dataclass(frozen=True, slots=True)
class Association:
    """What of an association the hops read (F.4): its role, optional target role, whether
    session tags are off, and the external id sent to the target."""

    role_arn: str
    target_role_arn: str | None = None
    disable_session_tags: bool = False
    external_id: str | None = None


def cluster_arn(account: str, region: str, cluster: str, *, partition: str = "aws") -> str:
    """``arn:aws:eks:<region>:<account>:cluster/<name>``: the ``eks-cluster-arn`` tag."""
    return f"arn:{partition}:eks:{region}:{account}:cluster/{cluster}"


def session_tags(subject: PodSubject, *, disabled: bool) -> sts_requests.SessionTags | None:
    """The six transitive session tags of ``subject``; ``None`` when the association
    disables them (``disableSessionTags``)."""
    if disabled:
        return None
    values = {
        CLUSTER_ARN_TAG: subject.cluster_arn,
        CLUSTER_NAME_TAG: subject.cluster_name,
        NAMESPACE_TAG: subject.namespace,
        SERVICE_ACCOUNT_TAG: subject.service_account,
        POD_NAME_TAG: subject.pod_name,
        POD_UID_TAG: subject.pod_uid,
    }
    return sts_requests.SessionTags(values, SESSION_TAG_KEYS)


def session_name(cluster: str, pod: str, unique: str) -> str:
    """``eks-<cluster>-<pod>-<unique>`` (the model's form, ``unique`` a random UUID), at
    most :data:`MAX_SESSION_NAME` characters (see there)."""
    return f"{SESSION_NAME_PREFIX}{cluster}-{pod}-{unique}"[:MAX_SESSION_NAME]


def external_id(region: str, account: str, cluster: str, namespace: str, sa: str) -> str:
    """[unconfirmed] the association's ``externalId`` as the user guide's example shows it:
    ``<region>/<account>/<cluster>/<namespace>/<service account>``."""
    return f"{region}/{account}/{cluster}/{namespace}/{sa}"


def source_keys(subject: PodSubject, org: context.Org | None) -> dict[str, object]:
    """What the service principal's request carries about its source (module doc)."""
    keys: dict[str, object] = {"aws:SourceAccount": subject.account}
    if org is not None:
        keys["aws:SourceOrgID"] = org.id
        if org.paths:
            keys["aws:SourceOrgPaths"] = list(org.paths)
    return keys


# ---------------------------------------------------------------------- the hops
def association_hop(
    role: hops.RoleSide,
    *,
    session_name: str,
    tags: sts_requests.SessionTags | None,
    source: Mapping[str, object],
    request: context.RequestFacts | None = None,
) -> hops.HopResult:
    """Hop 1: ``pods.eks.amazonaws.com`` assumes the association role. No caller side (a
    service principal has no identity policies): the trust policy and the RCPs of the
    role's account decide ``sts:AssumeRole`` and, with tags, ``sts:TagSession``."""
    keys = {**role.context(request), **source}
    requests = sts_requests.assume_role_requests(
        SERVICE_PRINCIPAL, role.arn, session_name=session_name, tags=tags, context=keys
    )
    policies = policy.policy_set(resource=role.trust, rcps=role.rcps, resource_kind="trust")
    checks = tuple(
        hops.Check(r, decision, None, decision)
        for r in requests
        for decision in (policy.authorize(r, policies),)
    )
    return hops.HopResult("sts:AssumeRole", SERVICE_PRINCIPAL, role.arn, checks)


def target_hop(
    caller: context.Principal,
    caller_side: hops.CallerSide,
    target: hops.RoleSide,
    *,
    session_arn: str,
    session_name: str,
    tags: sts_requests.SessionTags | None,
    external_id: str | None,
    request: context.RequestFacts | None = None,
) -> hops.HopResult:
    """Hop 2: the association role's session (``caller``, ``session_arn``) assumes the
    target role, both sides deciding (:func:`kubetrust.chain.sts.assume_role`) with the
    session's keys (``aws:PrincipalArn`` = the association role, ``aws:PrincipalTag/<k>``
    = its tags) and the transitive tags set again (``tags``)."""
    keys = context.principal_keys(caller, request.now if request else None)
    if request is not None:
        keys.update(context.request_keys(request, "sts"))
    return hops.assume_role(
        session_arn,
        caller_side,
        target,
        session_name=session_name,
        external_id=external_id,
        tags=tags,
        context=keys,
        request=request,
    )


# ---------------------------------------------------------------------- both together
@dataclass(frozen=True, slots=True)
class PodIdentityDecision:
    """Both hops as EKS Auth makes them: ``association`` always, ``target`` when the
    association has a target role and the first hop was allowed. ``tags`` are the session
    tags of both sessions; ``durations`` their lifetimes in seconds."""

    association: hops.HopResult
    target: hops.HopResult | None
    session_name: str
    tags: sts_requests.SessionTags | None
    association_duration: int
    target_duration: int | None

    @property
    def steps(self) -> tuple[hops.HopResult, ...]:
        """The hops made, in order."""
        return (self.association,) if self.target is None else (self.association, self.target)

    @property
    def allowed(self) -> bool:
        return all(hop.allowed for hop in self.steps)

    @property
    def failed(self) -> tuple[hops.HopResult, hops.Check] | None:
        """The first hop that denied and its first denying check."""
        for hop in self.steps:
            check = hop.failed
            if check is not None:
                return hop, check
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleParty:
    """The association role as both hops see it: its side as the assumed role (trust,
    RCPs, tags) and, for hop 2, who its session is (``holder`` as the directory finds the
    role, ``role_id`` its unique id ``AROA…``, ``name``)."""

    side: hops.RoleSide
    role_id: str
    name: str


def decide(
    directory: parties.Directory[Holder],
    holder: Holder,
    *,
    subject: PodSubject,
    association: Association,
    role: RoleParty,
    target: hops.RoleSide | None,
    unique: str,
    request: context.RequestFacts | None = None,
    evaluate_all: bool = False,
) -> PodIdentityDecision:
    """Both hops of ``association`` for ``subject`` (module doc). ``evaluate_all``: decide
    the target hop even when the first is denied (explain shows every broken link; EKS
    Auth stops at the first denial). ``holder`` is how
    ``directory`` finds the association role's policies (hop 2's caller side); ``target``
    the target role's side (``None`` without a target role, or when it does not exist:
    then the association's target ARN stands for a role with no trust, and hop 2 is
    denied as STS denies an unknown role); ``unique`` the session name's random part."""
    name = session_name(subject.cluster_name, subject.pod_name, unique)
    tags = session_tags(subject, disabled=association.disable_session_tags)
    first = association_hop(
        role.side,
        session_name=name,
        tags=tags,
        source=source_keys(subject, directory.org(subject.account)),
        request=request,
    )
    if association.target_role_arn is None or not (first.allowed or evaluate_all):
        return PodIdentityDecision(first, None, name, tags, ASSOCIATION_SESSION_SECONDS, None)
    caller = parties.Caller(
        holder=holder,
        kind=context.ROLE_SESSION,
        arn=role.side.arn,
        account=role.side.account,
        user_id=f"{role.role_id}:{name}",
        temporary=True,
        issued_at=request.now if request else None,
        session_tags=dict(tags.tags) if tags else {},
    )
    chained = hops.chained_tags(hops.Carried.of(None, tags), None)
    second = target_hop(
        parties.principal(directory, caller),
        parties.caller_side(directory, caller),
        target or hops.RoleSide(association.target_role_arn, _NO_TRUST),
        session_arn=arns.assumed_role_arn(role.side.account, role.name, name),
        session_name=name,
        tags=chained,
        external_id=association.external_id if EXTERNAL_ID_ALWAYS or tags is None else None,
        request=request,
    )
    duration = min(TARGET_SESSION_SECONDS, target.max_session_duration if target else 0)
    return PodIdentityDecision(
        first, second, name, tags, ASSOCIATION_SESSION_SECONDS, duration or None
    )


_NO_TRUST = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole",'
    '"Principal":{"Service":"nobody.kubetrust.amazonaws.com"}}]}'
)
"""The trust of a target role that does not exist: it admits no caller, so STS's denial
reads as for a role that does not trust the caller (STS does not tell the two apart)."""
