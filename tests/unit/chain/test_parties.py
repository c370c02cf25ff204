"""Who is asking and what binds them (:mod:`kubetrust.chain.parties`), over a topology
(:mod:`kubetrust.chain.topology_parties`) and over a directory of plain values that stands
for the sandbox's IAM state (deleted holders, federated users, the root user: what a
topology never holds)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubetrust import policy
from kubetrust.chain import context, graph, parties
from kubetrust.chain import sts as hops
from kubetrust.chain.topology_parties import TopologyDirectory, caller_of
from kubetrust.model.eks import OidcProvider
from kubetrust.model.iam import AccountIam, ManagedPolicy, NamedDocument, Role, User
from kubetrust.model.topology import OrgPolicies, Topology

A = "111111111111"
B = "222222222222"
NOW = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)
FACTS = context.RequestFacts(now=NOW, secure_transport=False, region="eu-west-1")
ORG = context.Org("o-abc1234567", (f"o-abc1234567/r-ab12/ou-ab12-cdef3456/{A}/",))
ISSUER = "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE"
PROVIDER = OidcProvider(
    arn=f"arn:aws:iam::{A}:oidc-provider/{ISSUER.removeprefix('https://')}",
    account=A,
    url=ISSUER.removeprefix("https://"),
    client_ids=("sts.amazonaws.com",),
)


def _doc(kind: policy.PolicyKind, effect: str, action: str) -> policy.PolicyDocument:
    statement: dict[str, object] = {"Effect": effect, "Action": action, "Resource": "*"}
    if kind in (policy.PolicyKind.RCP, policy.PolicyKind.TRUST):
        statement["Principal"] = "*"
    if kind is policy.PolicyKind.TRUST:
        del statement["Resource"]
    return policy.parse_policy({"Version": "2012-10-17", "Statement": [statement]}, kind)


READ = _doc(policy.PolicyKind.IDENTITY, "Allow", "s3:Get*")
MANAGED_ARN = f"arn:aws:iam::{A}:policy/eks-read"
MANAGED = _doc(policy.PolicyKind.IDENTITY, "Allow", "eks:Describe*")
BOUNDARY_ARN = f"arn:aws:iam::{A}:policy/boundary"
BOUNDARY = _doc(policy.PolicyKind.IDENTITY, "Allow", "*")
SCP = _doc(policy.PolicyKind.SCP, "Deny", "iam:*")
RCP = _doc(policy.PolicyKind.RCP, "Deny", "s3:*")

APP = Role(
    arn=f"arn:aws:iam::{A}:role/team/app",
    name="app",
    account=A,
    path="/team/",
    role_id="AROAAPPAPPAPPAPPAPPAP",
    inline=(NamedDocument("inline read", READ),),
    attached=(MANAGED_ARN,),
    boundary_arn=BOUNDARY_ARN,
    max_session_duration=7200,
    tags={"team": "red", "env": "prod"},
)
ALICE = User(arn=f"arn:aws:iam::{A}:user/alice", name="alice", account=A, user_id="AIDAALICE")


def _topology() -> Topology:
    account = AccountIam(
        A,
        roles={"app": APP},
        users={"alice": ALICE},
        policies={
            MANAGED_ARN: ManagedPolicy(MANAGED_ARN, "eks-read", MANAGED),
            BOUNDARY_ARN: ManagedPolicy(BOUNDARY_ARN, "boundary", BOUNDARY),
        },
    )
    org = {A: OrgPolicies(scps=((SCP,),), rcps=((RCP,),), org_id=ORG.id, paths=ORG.paths)}
    return Topology.build([account, AccountIam(B)], providers=[PROVIDER], org=org)


# ---------------------------------------------------------------------- over a topology
def test_a_roles_caller_side_is_its_policies_boundary_and_scps() -> None:
    topology = _topology()
    side = parties.caller_side(TopologyDirectory(topology), caller_of(APP, "s"))
    assert list(side.identity) == [READ, MANAGED]
    assert list(side.boundaries) == [BOUNDARY]
    assert side.session == ()
    assert side.scps == ((SCP,),)
    assert graph.caller_side(topology, APP) == side  # explain's edges gather the same


def test_a_role_sessions_keys_carry_the_role_path_session_tags_and_source_identity() -> None:
    carried = hops.Carried("alice@example.com", {"TEAM": "blue"}, ("TEAM",))
    who = caller_of(APP, "s", request=FACTS, federated_provider=PROVIDER.arn, carried=carried)
    keys = parties.caller_context(TopologyDirectory(_topology()), who, FACTS)
    assert keys["aws:PrincipalArn"] == APP.arn  # the role with its path, not the session
    assert keys["aws:PrincipalType"] == "AssumedRole"
    assert keys["aws:userid"] == "AROAAPPAPPAPPAPPAPPAP:s"
    assert keys["aws:PrincipalTag/TEAM"] == "blue"  # the session tag over the role's
    assert "aws:PrincipalTag/team" not in keys  # same key ignoring case (B.6)
    assert keys["aws:PrincipalTag/env"] == "prod"
    assert keys["aws:SourceIdentity"] == "alice@example.com"
    assert keys["aws:FederatedProvider"] == PROVIDER.arn
    assert keys["aws:TokenIssueTime"] == "2024-05-01T12:00:00Z"
    assert keys["aws:MultiFactorAuthPresent"] is False
    assert keys["aws:PrincipalOrgID"] == ORG.id
    assert keys["aws:PrincipalOrgPaths"] == list(ORG.paths)
    assert keys["aws:RequestedRegion"] == "eu-west-1"


def test_a_user_on_long_term_keys() -> None:
    who = parties.principal(TopologyDirectory(_topology()), caller_of(ALICE, "ignored"))
    keys = context.principal_keys(who, NOW)
    assert keys["aws:PrincipalArn"] == ALICE.arn
    assert keys["aws:username"] == "alice"
    assert keys["aws:userid"] == "AIDAALICE"
    assert "aws:MultiFactorAuthPresent" not in keys and "aws:TokenIssueTime" not in keys
    assert keys["aws:PrincipalOrgID"] == ORG.id


def test_without_a_topology_the_org_keys_are_absent() -> None:
    keys = parties.caller_context(TopologyDirectory(None), caller_of(APP, "s"), None)
    assert "aws:PrincipalOrgID" not in keys and "aws:CurrentTime" not in keys
    assert keys["aws:PrincipalTag/team"] == "red"  # the role's own tags still


def test_a_roles_side_is_its_trust_rcps_tags_and_org() -> None:
    topology = _topology()
    trust = _doc(policy.PolicyKind.TRUST, "Allow", "sts:AssumeRole")
    side = parties.role_side(
        TopologyDirectory(topology),
        arn=APP.arn,
        account=A,
        trust=trust,
        max_session_duration=APP.max_session_duration,
        tags=APP.tags,
    )
    assert (side.trust, side.rcps, side.max_session_duration) == (trust, ((RCP,),), 7200)
    keys = side.context(FACTS)
    assert keys["aws:ResourceTag/team"] == "red"
    assert keys["aws:ResourceOrgID"] == ORG.id
    assert keys["aws:ResourceAccount"] == A
    assert graph.role_side(topology, APP).rcps == side.rcps


def test_a_resource_gets_its_accounts_org_only_when_known() -> None:
    directory = TopologyDirectory(_topology())
    assert parties.resource_side(directory, context.Resource(account=A)).org == ORG
    assert parties.resource_side(directory, context.Resource(account=B)).org is None
    assert parties.resource_side(directory, context.Resource()).org is None
    given = context.Resource(account=A, org=context.Org("o-other00000"))
    assert parties.resource_side(directory, given) is given


def test_the_providers_are_found_in_the_named_account_only() -> None:
    directory = TopologyDirectory(_topology())
    assert directory.oidc_provider(A, ISSUER) == PROVIDER
    assert directory.oidc_provider(A, PROVIDER.url) == PROVIDER
    assert directory.oidc_provider(B, ISSUER) is None


# ---------------------------------------------------------------------- over stored values
@dataclass
class Stored:
    """A directory of plain values, keyed by unique id, as the sandbox keys its holders."""

    policies: dict[str, parties.HolderPolicies] = field(default_factory=dict)
    tags: dict[str, dict[str, str]] = field(default_factory=dict)

    def holder_policies(self, holder: str) -> parties.HolderPolicies | None:
        return self.policies.get(holder)

    def holder_tags(self, holder: str) -> Mapping[str, str]:
        return self.tags.get(holder, {})

    def scps(self, account: str) -> parties.Levels:
        return (('{"Version":"2012-10-17","Statement":[]}',),) if account == A else ()

    def rcps(self, account: str) -> parties.Levels:
        return ()

    def org(self, account: str | None) -> context.Org | None:
        return ORG if account == A else None

    def oidc_provider(self, account: str, url: str) -> OidcProvider | None:
        return None


def _caller(kind: str, holder: str = "AIDAALICE", **fields: Any) -> parties.Caller[str]:
    return parties.Caller(holder=holder, kind=kind, arn=ALICE.arn, account=A, **fields)


def test_the_keys_of_a_gone_holder_grant_nothing() -> None:
    side = parties.caller_side(Stored(), _caller(context.ROLE_SESSION, "AROAGONE"))
    assert side.identity == () and side.boundaries == ()
    assert side.session == (parties.DENY_ALL,)
    assert side.scps == Stored().scps(A)  # the organization still binds
    request = policy.Request(ALICE.arn, "s3:GetObject", "arn:aws:s3:::b/k", {})
    allowing = [json.dumps({"Version": "2012-10-17", "Statement": [_allow_all()]})]
    decision = policy.authorize(
        request, policy.policy_set(identity=allowing, session=list(side.session))
    )
    assert decision.outcome is policy.Outcome.EXPLICIT_DENY


def _allow_all() -> dict[str, str]:
    return {"Effect": "Allow", "Action": "*", "Resource": "*"}


def test_a_present_holder_is_bound_by_its_policies_and_the_session_policies() -> None:
    stored = Stored(policies={"AIDAALICE": parties.HolderPolicies(("user-doc",), ())})
    side = parties.caller_side(stored, _caller(context.USER, session_policies=("session-doc",)))
    assert (side.identity, side.session) == (("user-doc",), ("session-doc",))


def test_whose_tags_a_principal_carries() -> None:
    stored = Stored(tags={"AIDAALICE": {"team": "red", "env": "prod"}})
    session_tags = {"Team": "blue"}
    as_user = parties.principal(stored, _caller(context.USER, session_tags=session_tags))
    assert as_user.tags == {"env": "prod", "Team": "blue"}
    federated = parties.principal(
        stored, _caller(context.FEDERATED_USER, session_tags=session_tags)
    )
    assert federated.tags == {"Team": "blue"}  # its session tags only, not its user's
    root = parties.principal(stored, _caller(context.ROOT, username="alice"))
    assert root.tags == {} and root.username is None
    assert root.org == ORG


def test_mfa_and_issue_time_come_from_the_caller() -> None:
    caller = _caller(
        context.USER,
        temporary=True,
        issued_at=NOW - dt.timedelta(hours=1),
        mfa_at=NOW - dt.timedelta(minutes=10),
    )
    keys = parties.caller_context(Stored(), caller, FACTS)
    assert keys["aws:MultiFactorAuthPresent"] is True
    assert keys["aws:MultiFactorAuthAge"] == 600
    assert keys["aws:TokenIssueTime"] == "2024-05-01T11:00:00Z"
    assert "aws:SourceIp" not in keys and keys["aws:SecureTransport"] is False
