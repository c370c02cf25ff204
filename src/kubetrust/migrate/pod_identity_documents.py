"""The policy edits of IRSA → Pod Identity, as pure functions of one document.

Each edit takes a document as IAM returns it and gives the document after the edit; an
edit whose result is already there gives the document back unchanged (canonically equal),
which is what makes a rerun plan nothing and a resumed run do only what is missing —
``eksctl utils migrate-to-pod-identity`` appends its trust statement without looking, so a
rerun duplicates it (reference F.8).

- :func:`pods_statement`: the association role's trust statement for one service account:
  ``pods.eks.amazonaws.com`` may ``sts:AssumeRole`` and ``sts:TagSession`` (reference
  F.1), narrowed as kubetrust's own Pod Identity trusts are
  (:func:`kubetrust.provision.documents.pod_identity_trust`: the cluster's account and
  the session tags naming the cluster, namespace and service account), so that no other
  association in the account can use the role;
- :func:`drop_subject`: ``--remove-irsa``: only this service account's ``:sub`` value is
  taken out of the web-identity statements of the cluster's provider; a statement left
  with no subject is dropped, one shared with other service accounts keeps theirs;
- :func:`tag_session_statement` / :func:`tag_session_policy`: what the Pod Identity path
  needs on each further ``sts:AssumeRole`` — the session carries EKS's transitive session
  tags, which STS sets again on the next hop, so that hop asks for ``sts:TagSession``
  (reference B.6, F.1, F.4): on the next role's trust for the caller, and across accounts
  in the caller's identity policy too (A.2).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kubetrust.model.vocabulary import POD_IDENTITY_SERVICE
from kubetrust.provision import documents

TAG_SESSION = "sts:TagSession"
TAG_SESSION_SID = "KubetrustPodIdentityTagSession"
"""The Sid of the trust statement this migration adds for ``sts:TagSession``: it names
what added it, for whoever reads the trust later."""
TAG_SESSION_POLICY = "kubetrust-pod-identity-tag-session"
"""The inline policy this migration puts on a role that chains across accounts."""

Document = dict[str, Any]


def pods_statement(account: str, cluster_arn: str, namespace: str, name: str) -> Document:
    """The trust statement that lets EKS Pod Identity assume the role for this one service
    account (module doc)."""
    trust = documents.pod_identity_trust(account, cluster_arn, [(namespace, name)])
    statement: Document = trust["Statement"][0]
    return statement


def tag_session_statement(caller_arn: str) -> Document:
    """A trust statement allowing ``caller_arn`` to pass session tags (nothing else)."""
    return {
        "Sid": TAG_SESSION_SID,
        "Effect": "Allow",
        "Principal": {"AWS": caller_arn},
        "Action": TAG_SESSION,
    }


def tag_session_policy(target_arns: Sequence[str]) -> Document:
    """The identity policy allowing ``sts:TagSession`` on exactly these roles."""
    resource: str | list[str] = (
        target_arns[0] if len(target_arns) == 1 else sorted(set(target_arns))
    )
    return {
        "Version": documents.VERSION,
        "Statement": [{"Effect": "Allow", "Action": TAG_SESSION, "Resource": resource}],
    }


def statements(document: Mapping[str, Any]) -> list[Document]:
    """The document's statements as a list (IAM allows a single object)."""
    found = document.get("Statement", [])
    items = found if isinstance(found, list) else [found]
    return [dict(item) for item in items if isinstance(item, Mapping)]


def _without_sid(statement: Mapping[str, Any]) -> str:
    return documents.canonical({k: v for k, v in statement.items() if k != "Sid"})


def contains(document: Mapping[str, Any], statement: Mapping[str, Any]) -> bool:
    """Whether ``document`` already holds ``statement`` (canonically, whatever its Sid),
    or — for a Pod Identity statement — eksctl's unconditioned one, which admits it too."""
    wanted = _without_sid(statement)
    for present in statements(document):
        if _without_sid(present) == wanted:
            return True
        if _is_pods(statement) and _is_bare_pods(present):
            return True
    return False


def _is_pods(statement: Mapping[str, Any]) -> bool:
    principal = statement.get("Principal")
    return isinstance(principal, Mapping) and principal.get("Service") == POD_IDENTITY_SERVICE


def _is_bare_pods(statement: Mapping[str, Any]) -> bool:
    """eksctl's statement: the service principal, both actions, no condition."""
    principal = statement.get("Principal")
    if not isinstance(principal, Mapping) or statement.get("Effect") != "Allow":
        return False
    services = principal.get("Service")
    names = {services} if isinstance(services, str) else set(services or ())
    actions = statement.get("Action")
    granted = {actions} if isinstance(actions, str) else set(actions or ())
    return (
        POD_IDENTITY_SERVICE in names
        and set(documents.POD_IDENTITY_ACTIONS) <= granted
        and not statement.get("Condition")
    )


def add_statements(document: Mapping[str, Any], wanted: Iterable[Mapping[str, Any]]) -> Document:
    """``document`` with each statement of ``wanted`` appended unless already there."""
    result: Document = copy.deepcopy(dict(document))
    current = statements(result)
    for statement in wanted:
        if not contains({"Statement": current}, statement):
            current.append(dict(statement))
    result["Statement"] = current
    result.setdefault("Version", documents.VERSION)
    return result


def same(left: Mapping[str, Any] | None, right: Mapping[str, Any] | None) -> bool:
    """Whether two documents are equal for IAM (:func:`documents.canonical`)."""
    if left is None or right is None:
        return left is right
    return documents.canonical(left) == documents.canonical(right)


def drop_subject(
    document: Mapping[str, Any], provider_arn: str, issuer_host_path: str, subject: str
) -> tuple[Document, list[str]]:
    """``document`` without ``subject`` in the web-identity statements of ``provider_arn``
    (module doc), and what could not be narrowed: a statement admitting the subject only
    through a wildcard or with no ``:sub`` condition at all admits other service accounts
    too, so it is kept and reported."""
    key = f"{issuer_host_path}:sub"
    kept: list[Document] = []
    notes: list[str] = []
    for statement in statements(document):
        if not _federated_by(statement, provider_arn):
            kept.append(statement)
            continue
        narrowed, note = _without_subject(statement, key, subject)
        if note:
            notes.append(note)
        if narrowed is not None:
            kept.append(narrowed)
    result: Document = copy.deepcopy(dict(document))
    result["Statement"] = kept
    return result, notes


def _federated_by(statement: Mapping[str, Any], provider_arn: str) -> bool:
    principal = statement.get("Principal")
    if not isinstance(principal, Mapping):
        return False
    federated = principal.get("Federated")
    names = [federated] if isinstance(federated, str) else list(federated or ())
    return any(str(name).lower() == provider_arn.lower() for name in names)


def _without_subject(statement: Document, key: str, subject: str) -> tuple[Document | None, str]:
    """The statement without ``subject`` (``None``: nothing left to admit), and a note
    when it cannot be narrowed."""
    condition = statement.get("Condition")
    blocks = condition if isinstance(condition, Mapping) else {}
    where = [op for op, block in blocks.items() if isinstance(block, Mapping) and key in block]
    if not where:
        return (
            statement,
            f"a web-identity statement without `{key}` admits every service "
            "account of the cluster: kept (narrow it by hand)",
        )
    result = copy.deepcopy(statement)
    for operator in where:
        values = result["Condition"][operator][key]
        listed = [values] if isinstance(values, str) else [str(v) for v in values]
        if subject not in listed:
            if operator.startswith("StringLike"):
                return (
                    statement,
                    f"`{subject}` is admitted by a wildcard in {operator} "
                    f"`{key}`: kept (narrow it by hand)",
                )
            continue
        rest = [value for value in listed if value != subject]
        if not rest:
            return None, ""
        result["Condition"][operator][key] = rest[0] if len(rest) == 1 else rest
    return result, ""
