"""The :class:`~kubetrust.chain.parties.Directory` over explain's topology.

Explain reasons about sessions it imagines (a role session named ``kubetrust`` issued at
the request's time, without MFA; an IAM user on its long-term keys): :func:`caller_of`
describes them as :class:`~kubetrust.chain.parties.Caller` values, and
:class:`TopologyDirectory` answers what the inputs hold about their roles, users,
organization and OIDC providers. The rules that combine them are
:mod:`kubetrust.chain.parties`', the same the sandbox enforces with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kubetrust.chain import context, parties
from kubetrust.chain import sts as hops
from kubetrust.model.eks import OidcProvider
from kubetrust.model.iam import Role, User
from kubetrust.model.topology import Levels, Topology

Identity = Role | User


@dataclass(frozen=True, slots=True)
class TopologyDirectory:
    """What ``topology`` holds (``None``: nothing is known but the identities themselves,
    so the organization keys stay absent and no SCP or RCP applies)."""

    topology: Topology | None

    def holder_policies(self, holder: Identity) -> parties.HolderPolicies:
        """The identity documents and boundary the inputs hold for ``holder`` (never gone:
        the topology is one snapshot)."""
        if self.topology is None:
            return parties.HolderPolicies()
        permissions = self.topology.permissions(holder)
        return parties.HolderPolicies(
            identity=tuple(d.document for d in permissions.identity),
            boundaries=(permissions.boundary.document,) if permissions.boundary else (),
        )

    def holder_tags(self, holder: Identity) -> Mapping[str, str]:
        """A role's tags; a user's are not in the inputs."""
        return holder.tags if isinstance(holder, Role) else {}

    def scps(self, account: str) -> Levels:
        return self.topology.scps(account) if self.topology is not None else ()

    def rcps(self, account: str) -> Levels:
        return self.topology.rcps(account) if self.topology is not None else ()

    def org(self, account: str | None) -> context.Org | None:
        """``account``'s organization when the inputs say it is a member; ``None``
        otherwise, and the org keys stay absent."""
        found = self.topology.membership(account) if self.topology is not None else None
        if found is None or found.org_id is None:
            return None
        return context.Org(found.org_id, found.paths)

    def oidc_provider(self, account: str, url: str) -> OidcProvider | None:
        return self.topology.provider(account, url) if self.topology is not None else None


def caller_of(
    identity: Identity,
    session: str,
    *,
    request: context.RequestFacts | None = None,
    federated_provider: str | None = None,
    carried: hops.Carried | None = None,
) -> parties.Caller[Identity]:
    """``identity`` as explain imagines it calling: a role as its session named
    ``session`` (``aws:userid`` ``AROA…:session``, temporary credentials issued at the
    request's time, without MFA; ``carried``: the source identity and session tags the
    hop that made it set; ``federated_provider``: the IAM OIDC provider whose token made
    it), a user on its long-term keys."""
    if isinstance(identity, Role):
        session_set = carried or hops.Carried()
        return parties.Caller(
            holder=identity,
            kind=context.ROLE_SESSION,
            arn=identity.arn,
            account=identity.account,
            user_id=f"{identity.role_id}:{session}" if identity.role_id else None,
            temporary=True,
            issued_at=request.now if request else None,
            source_identity=session_set.source_identity,
            federated_provider=federated_provider,
            session_tags=session_set.tags,
        )
    return parties.Caller(
        holder=identity,
        kind=context.USER,
        arn=identity.arn,
        account=identity.account,
        user_id=identity.user_id or None,
        username=identity.name,
    )
