"""What each audit rule checks, in a sentence: the ``shortDescription`` of its SARIF rule.

Code scanning shows a rule's short and full description at the top of every alert, and asks
that rules change only with the tool (reference I.3): so they come from this table, not
from one finding's message. The table follows docs/explain.md "Audit rules" (a test keeps
the two together); a rule not in it still gets a description made from its id.
"""

from __future__ import annotations

from collections.abc import Mapping

SUMMARIES: Mapping[str, str] = {
    "irsa-trust-no-sub": "An IRSA trust without a :sub condition admits every service account",
    "irsa-sub-wildcard-stringequals": "A :sub wildcard under StringEquals never matches",
    "irsa-sub-broad": "A StringLike :sub pattern admits many service accounts",
    "irsa-sub-negated": "A negated :sub condition admits every other subject",
    "irsa-trust-no-aud": "An IRSA trust without an :aud condition",
    "irsa-and-pod-identity": "A service account with both IRSA and a Pod Identity association",
    "trust-public-idp-no-audience": "A trust in a public identity provider without an audience",
    "node-role-imds": "Pods reach the node role through the instance metadata service",
    "node-role-cross-account": "A node instance role can assume roles of other accounts",
    "node-role-assume-permission": "A node instance role may assume other accounts' roles",
    "node-role-cluster-access": "aws-auth maps a node role to more than the node groups",
    "trust-account-root": "A trust names another account's root with no condition",
    "trust-everyone": "A trust names everyone (*) with no condition",
    "aws-auth-system-masters": "aws-auth maps an identity to system:masters",
    "aws-auth-entry-never-matches": "An aws-auth entry the authenticator never matches",
    "aws-auth-problem": "An aws-auth entry the authenticator drops or misreads",
    "access-entry-overrides-aws-auth": "An access entry silently overrides an aws-auth mapping",
    "aws-auth-ignored": "aws-auth is ignored: the cluster authenticates with the API only",
    "chained-session-duration": "A chained profile asks for more than the one-hour cap",
    "max-session-only-chained": "A MaxSessionDuration above one hour that no session can get",
    "trust-policy-size": "A trust policy near or over IAM's size quota",
    "pod-identity-agent-missing": "Pod Identity associations without the Pod Identity Agent",
    "pod-identity-target-trust": "A Pod Identity target role's trust misses what EKS needs",
    "pod-identity-trust-open": "A Pod Identity role any association of the account can use",
    "reach": "Who reaches each target role (report)",
}


def summary(rule: str) -> str:
    """The rule's sentence; for a rule not in the table, one made from its id."""
    return SUMMARIES.get(rule) or f"kubetrust audit rule {rule.replace('-', ' ')}"
