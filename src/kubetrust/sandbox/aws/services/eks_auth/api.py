"""EKS Auth's ``AssumeRoleForPodIdentity``: a pod's token in, its role's credentials out.

The gate has already verified the caller's signature (the node role, in the agent) and
authorized ``eks-auth:AssumeRoleForPodIdentity`` on the cluster (:mod:`.actions`). Then,
as EKS Auth (reference F.3, F.4):

1. the cluster must exist in the caller's account and region;
2. the token must be a pod's service-account token of that cluster, for
   ``pods.eks.amazonaws.com``, not expired (:mod:`.token`);
3. the token's service account must have an association (:class:`AssociationLookup`);
4. the association role is assumed by ``pods.eks.amazonaws.com`` and, with
   ``targetRoleArn``, the target role with that session: both decided by
   :func:`kubetrust.chain.pod_identity.decide` (what explain reports too) over the
   sandbox's IAM state;
5. the session handed back is minted by the sandbox's STS (:meth:`StsService.issue_role_session
   <kubetrust.sandbox.aws.services.sts.api.StsService.issue_role_session>`), so it works at
   the gate like any AssumeRole session: its ``aws:PrincipalTag/<k>`` are the six session
   tags (transitive: the pod's own AssumeRole calls carry them on), its next AssumeRole is
   role chaining, and the association's ``policy`` is its session policy. With a target role
   only the target role's session is minted (the association role's is EKS's own business)
   and it lasts one hour.

Errors: :mod:`.errors` (one table). Not emulated: eventual consistency, throttling, the
``eksNodeName``/``instanceId``/``zone`` inputs of newer models (accepted, unused) and
``workloadIdentityProviderArn``.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable
from typing import Any

from kubetrust import arn as arns
from kubetrust import errors as kubetrust_errors
from kubetrust.chain import context
from kubetrust.chain import pod_identity as chain
from kubetrust.chain import sts as hops
from kubetrust.model.vocabulary import POD_IDENTITY_AUDIENCE
from kubetrust.sandbox import oidc
from kubetrust.sandbox.aws import credentials, identity, operations, state, wire
from kubetrust.sandbox.aws.request import RawRequest
from kubetrust.sandbox.aws.services.eks.associations import (
    AssociationLookup,
    PodIdentityAssociation,
)
from kubetrust.sandbox.aws.services.eks_auth import errors, token
from kubetrust.sandbox.aws.services.sts.api import StsService

IssuerLookup = Callable[[str, str, str], "oidc.ClusterIssuer | None"]
"""(account, region, cluster name) → the cluster's issuer, ``None`` for no such cluster."""
BoundCheck = Callable[[str, str, str, token.PodToken], bool]
"""(account, region, cluster name, verified token) → whether the token's pod and service
account still exist in that cluster with the uids it names (the cluster's TokenReview)."""


class EksAuthService:
    """EKS Auth of one sandbox: its STS (to decide and mint), its associations and its
    clusters' issuers, all handed in by the sandbox server."""

    def __init__(
        self,
        sts: StsService,
        associations: AssociationLookup,
        issuer_of: IssuerLookup,
        still_bound: BoundCheck,
        *,
        new_unique: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.sts = sts
        self.associations = associations
        self.issuer_of = issuer_of
        self.still_bound = still_bound
        self.new_unique = new_unique

    def __call__(
        self,
        caller: credentials.Credential,
        op: operations.Operation,
        request: RawRequest,
        facts: context.RequestFacts,
    ) -> wire.Response:
        """Answer an authorized ``AssumeRoleForPodIdentity`` (module doc); refusals are
        raised as :class:`wire.AwsError`, which the gate renders in rest-json."""
        cluster = arns.parse(op.resources[0])
        facts = facts if facts.now is not None else dataclasses.replace(facts, now=self.sts.clock())
        issuer = self.issuer_of(cluster.account, cluster.region, cluster.resource_name)
        if (
            issuer is None
            or state.cluster_tags(cluster.account, cluster.region, cluster.resource_name) is None
        ):
            raise errors.no_cluster(cluster.resource_name)
        assert facts.now is not None
        pod = token.verify(_token(request), issuer, cluster.account, int(facts.now.timestamp()))
        if not self.still_bound(cluster.account, cluster.region, cluster.resource_name, pod):
            raise errors.invalid_token(token.MSG_INVALIDATED)
        association = self.associations.association_for(
            cluster.account,
            cluster.region,
            cluster.resource_name,
            pod.namespace,
            pod.service_account,
        )
        if association is None:
            raise errors.no_association(cluster.resource_name, pod.namespace, pod.service_account)
        issued = self._assume(str(cluster), association, pod, facts)
        return _answer(association, pod, issued)

    def _assume(
        self,
        cluster_arn: str,
        association: PodIdentityAssociation,
        pod: token.PodToken,
        facts: context.RequestFacts,
    ) -> credentials.Credential:
        """Both hops decided (module doc, step 4), the handed-back session minted (step 5)."""
        iam = self.sts.propagation  # IAM as EKS Auth sees it: late (reference H.1)
        role = iam.role_by_arn(association.role_arn)
        if role is None:  # deleted since the association was made, or not propagated yet
            raise errors.access_denied(errors.MSG_HOP_ONE_DENIED)
        target = (
            iam.role_by_arn(association.target_role_arn) if association.target_role_arn else None
        )
        subject = chain.PodSubject(
            cluster_arn, pod.namespace, pod.service_account, pod.pod_name, pod.pod_uid
        )
        decision = chain.decide(
            identity.SandboxDirectory(self.sts.world, self.sts.user_boundaries, iam),
            identity.Holder(identity.ROLE, role.account, role.id),
            subject=subject,
            association=chain.Association(
                association.role_arn,
                association.target_role_arn,
                association.disable_session_tags,
                association.external_id,
            ),
            role=chain.RoleParty(side=self.sts.role_side(role), role_id=role.id, name=role.name),
            target=self.sts.role_side(target) if target is not None else None,
            unique=self.new_unique(),
            request=facts,
        )
        _refuse_denial(decision)
        final = target if target is not None else role
        duration = decision.target_duration or decision.association_duration
        tags = decision.tags
        return self.sts.issue_role_session(
            final,
            decision.session_name,
            duration,
            (association.policy,) if association.policy else (),
            facts,
            chained=True,
            tags=dict(tags.tags) if tags else {},
            transitive=tuple(tags.transitive) if tags else (),
        )


def _refuse_denial(decision: chain.PodIdentityDecision) -> None:
    """EKS Auth's refusal of a denied hop (:mod:`.errors`): hop 1 in the words a user saw,
    hop 2 as STS words a denied AssumeRole, without the trust side's "because" clause."""
    failed = decision.failed
    if failed is None:
        return
    hop, check = failed
    if hop is decision.association:
        raise errors.access_denied(errors.MSG_HOP_ONE_DENIED)
    raise errors.access_denied(_sts_text(hop, check))


def _sts_text(hop: hops.HopResult, check: hops.Check) -> str:
    return (
        f"User: {hop.caller} is not authorized to perform: {check.action} on resource: {hop.role}"
    )


def _token(request: RawRequest) -> str:
    """The body's ``token`` (the gate checked it against the model: present, a string of
    three base64url segments)."""
    try:
        body: Any = kubetrust_errors.decode_json(request.body or b"{}")
    except ValueError:  # the gate refused these already
        body = {}
    value = body.get("token") if isinstance(body, dict) else None
    if not isinstance(value, str):
        raise wire.AwsError(errors.INVALID_PARAMETER, "token is required", 400)
    return value


def _answer(
    association: PodIdentityAssociation, pod: token.PodToken, issued: credentials.Credential
) -> wire.Response:
    """botocore's ``AssumeRoleForPodIdentityResponse``; ``expiration`` in epoch seconds."""
    assert issued.expires_at is not None  # every session STS issues expires
    expires = issued.expires_at
    body = {
        "subject": {"namespace": pod.namespace, "serviceAccount": pod.service_account},
        "audience": POD_IDENTITY_AUDIENCE,
        "podIdentityAssociation": {
            "associationArn": association.association_arn,
            "associationId": association.association_id,
        },
        "assumedRoleUser": {"arn": issued.principal_arn, "assumeRoleId": issued.user_id},
        "credentials": {
            "sessionToken": issued.session_token,
            "secretAccessKey": issued.secret_access_key,
            "accessKeyId": issued.access_key_id,
            "expiration": int(expires.timestamp()),
        },
    }
    headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", str(uuid.uuid4()))]
    return 200, headers, json.dumps(body).encode("utf-8")
