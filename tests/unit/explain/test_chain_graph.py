"""chain.graph: candidate edges through indexes, decided exactly as chain.sts decides a hop.

The fast path of :class:`EdgeJudge` (one compiled policy set per role, two-sided across
accounts) must agree with :func:`kubetrust.chain.sts.assume_role` on every case, and the
new side policy sets of chain.sts must give the decisions ``assume_role`` keeps.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from kubetrust.chain import graph
from kubetrust.chain import sts as hops
from kubetrust.model.iam import AccountIam, NamedDocument, Role
from kubetrust.model.topology import OrgPolicies, Topology
from kubetrust.policy import PolicyKind, parse_policy

A, B = "111111111111", "222222222222"
V = "2012-10-17"


def _identity(doc: dict[str, Any]) -> NamedDocument:
    return NamedDocument("inline", parse_policy(doc, PolicyKind.IDENTITY))


def _role(account: str, name: str, trust: dict[str, Any], *identity: dict[str, Any]) -> Role:
    return Role(
        arn=f"arn:aws:iam::{account}:role/{name}",
        name=name,
        account=account,
        role_id=f"AROA{name.upper()}",
        trust=parse_policy(trust, PolicyKind.TRUST),
        inline=tuple(_identity(d) for d in identity),
    )


def _trust(principal: Any, **extra: Any) -> dict[str, Any]:
    return {
        "Version": V,
        "Statement": [
            {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", **extra}
        ],
    }


ALLOW_ASSUME = {
    "Version": V,
    "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
}
DENY_ASSUME = {
    "Version": V,
    "Statement": [{"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*"}],
}

TRUSTS = {
    "names-role": lambda caller: _trust({"AWS": caller}),
    "names-account": lambda caller: _trust({"AWS": caller.split(":")[4]}),
    "names-other": lambda caller: _trust({"AWS": "arn:aws:iam::333333333333:role/x"}),
    "everyone": lambda caller: _trust("*"),
    "external-id": lambda caller: _trust(
        {"AWS": caller}, Condition={"StringEquals": {"sts:ExternalId": "x"}}
    ),
}
IDENTITIES = {"none": (), "allow": (ALLOW_ASSUME,), "deny": (ALLOW_ASSUME, DENY_ASSUME)}


def _topology(caller: Role, target: Role, scp: bool) -> Topology:
    accounts: dict[str, dict[str, Role]] = {}
    for role in (caller, target):
        accounts.setdefault(role.account, {})[role.name.lower()] = role
    org = {}
    if scp:
        deny = parse_policy(
            {"Version": V, "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]},
            PolicyKind.SCP,
        )
        org[caller.account] = OrgPolicies(scps=((deny,),))
    return Topology.build([AccountIam(a, roles) for a, roles in accounts.items()], org=org)


CASES = list(itertools.product(TRUSTS, IDENTITIES, [A, B], [False, True]))


@pytest.mark.parametrize(("trust", "identity", "target_account", "scp"), CASES)
def test_judge_agrees_with_assume_role(
    trust: str, identity: str, target_account: str, scp: bool
) -> None:
    caller = _role(A, "caller", _trust({"Service": "ec2.amazonaws.com"}), *IDENTITIES[identity])
    target = _role(target_account, "target", TRUSTS[trust](caller.arn))
    topology = _topology(caller, target, scp)
    hop = hops.assume_role(
        graph.session_arn(caller),
        graph.caller_side(topology, caller),
        graph.role_side(topology, target),
        session_name=graph.SESSION_NAME,
        context=graph.caller_context(caller),
    )
    verdict = graph.EdgeJudge(topology).judge(caller, target)
    assert verdict.allowed is hop.allowed
    if trust == "external-id" and identity == "allow" and not scp:
        assert verdict.conditional, "an unmet ExternalId condition makes the edge conditional"


@pytest.mark.parametrize(("trust", "identity"), list(itertools.product(TRUSTS, IDENTITIES)))
def test_side_policy_sets_match_assume_role(trust: str, identity: str) -> None:
    caller = _role(A, "caller", _trust({"Service": "ec2.amazonaws.com"}), *IDENTITIES[identity])
    target = _role(B, "target", TRUSTS[trust](caller.arn))
    topology = _topology(caller, target, False)
    session = graph.session_arn(caller)
    side = graph.caller_side(topology, caller)
    role_side = graph.role_side(topology, target)
    hop = hops.assume_role(session, side, role_side, session_name="s")
    (check,) = hop.checks
    caller_only = hops.caller_side_policy_set(session, side)
    trust_only = hops.trust_side_policy_set(role_side)
    from kubetrust import policy

    assert check.caller_side is not None
    assert policy.authorize(check.request, caller_only) == check.caller_side
    assert policy.authorize(check.request, trust_only) == check.trust_side


def test_trust_index_and_patterns() -> None:
    caller = _role(A, "ci", _trust({"Service": "ec2.amazonaws.com"}), ALLOW_ASSUME)
    named = _role(B, "named", _trust({"AWS": f"arn:aws:iam::{A}:role/path/ci"}))
    root = _role(B, "root", _trust({"AWS": A}))
    web = _role(
        A,
        "web",
        {
            "Version": V,
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": f"arn:aws:iam::{A}:oidc-provider/x/id/Y"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                }
            ],
        },
    )
    index = graph.TrustIndex.build(iter([caller, named, root, web]))
    assert [r.name for r in index.naming(caller)] == ["named"]
    assert [r.name for r in index.accounts[A]] == ["root"]
    assert list(index.federated) == [f"arn:aws:iam::{A}:oidc-provider/x/id/Y"]
    assert [r.name for r in index.services["ec2.amazonaws.com"]] == ["ci"]
    patterns = graph.assume_patterns([d.document for d in caller.inline])
    assert patterns == ("*",)
    assert graph.patterns_match(
        ("arn:aws:iam::*:role/deploy-*",), f"arn:aws:iam::{B}:role/deploy-1"
    )
    assert not graph.patterns_match((), f"arn:aws:iam::{B}:role/deploy-1")
