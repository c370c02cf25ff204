"""Plan and apply EKS access entries and their access policy associations (reference E).

An access entry is kubetrust's when its principal is one of the spec's target roles. The
entry converges to the spec: username (when the spec sets one), groups, and the exact set
of access policies with their scopes (an association is re-made when its scope changed,
which replaces the scope, E.4). The cluster must accept access entries (authentication
mode ``API`` or ``API_AND_CONFIG_MAP``); a ``CONFIG_MAP`` cluster is a conflict to fix in
the spec (use ``awsAuth``) or in the cluster, not something to change silently. A role
apply has just created may not be visible to EKS yet: ``CreateAccessEntry`` is retried while
EKS answers that its principal is invalid (:mod:`kubetrust.provision.handlers_propagation`).
"""

from __future__ import annotations

from kubetrust.model.vocabulary import reads_access_entries
from kubetrust.provision.changes import Action, Change, unified
from kubetrust.provision.context import Context, Observer
from kubetrust.provision.handlers_propagation import PRINCIPAL_NOT_VISIBLE, propagated_write
from kubetrust.provision.ports import AccessPolicy, LiveAccessEntry, ProvisionError
from kubetrust.provision.resources import AccessEntry, Item


def _text(username: str | None, groups: tuple[str, ...], policies: tuple[AccessPolicy, ...]) -> str:
    lines = [f"username {username}"] if username else []
    lines += [f"group {group}" for group in sorted(groups)]
    for policy in sorted(policies, key=lambda p: p.arn):
        scope = "cluster" if policy.namespaces is None else ", ".join(policy.namespaces)
        lines.append(f"policy {policy.arn} ({scope})")
    return "\n".join(lines)


def _scopes(policies: tuple[AccessPolicy, ...]) -> dict[str, tuple[str, ...] | None]:
    return {
        p.arn: tuple(sorted(p.namespaces)) if p.namespaces is not None else None for p in policies
    }


class AccessEntryHandler:
    def observe(self, item: Item, observer: Observer) -> Change:
        entry = item.resource
        assert isinstance(entry, AccessEntry)
        mode = entry.authentication_mode
        if mode and not reads_access_entries(mode):
            return Change(
                Action.NOOP,
                item,
                conflict=f"cluster `{entry.cluster.name}` has authentication mode "
                f"{entry.authentication_mode}, which takes no access entries (use `awsAuth`, "
                "or switch the cluster to API_AND_CONFIG_MAP)",
            )
        cluster = entry.cluster
        live = observer.ports.aws(cluster.account).get_access_entry(
            cluster.region, cluster.name, entry.principal_arn
        )
        after = _text(entry.username, entry.groups, entry.policies)
        if live is None:
            return Change(Action.CREATE, item, unified("", after, entry.key))
        if not _differs(entry, live):
            return Change(Action.NOOP, item, live=live)
        username = live.username if entry.username else None
        before = _text(username, live.groups, live.policies)
        return Change(Action.UPDATE, item, unified(before, after, entry.key), live=live)

    def observe_destroy(self, item: Item, observer: Observer) -> Change | None:
        entry = item.resource
        assert isinstance(entry, AccessEntry)
        cluster = entry.cluster
        live = observer.ports.aws(cluster.account).get_access_entry(
            cluster.region, cluster.name, entry.principal_arn
        )
        if live is None:
            return Change(Action.NOOP, item)
        before = _text(live.username, live.groups, live.policies)
        return Change(Action.DELETE, item, unified(before, "", entry.key), live=live)

    def execute(self, change: Change, context: Context) -> int:
        entry = change.resource
        assert isinstance(entry, AccessEntry)
        cluster = entry.cluster
        port = context.ports.aws(cluster.account)
        where = (cluster.region, cluster.name, entry.principal_arn)
        if (
            change.action is not Action.CREATE
            and context.caller(cluster.account) == entry.principal_arn
        ):
            raise ProvisionError(
                f"refusing to {change.action} the access entry of `{entry.principal_arn}` in "
                f"cluster `{cluster.name}`: it is the caller's own access"
            )
        if change.action is Action.DELETE:
            port.delete_access_entry(*where)
            return 1
        live: LiveAccessEntry | None = change.live
        writes = 0
        if live is None:
            propagated_write(
                change,
                context,
                entry.principal_arn,
                PRINCIPAL_NOT_VISIBLE,
                lambda: port.create_access_entry(*where, entry.username, entry.groups, entry.tags),
            )
            writes += 1
        elif _entry_fields_differ(entry, live):
            port.update_access_entry(*where, entry.username, entry.groups)
            writes += 1
        wanted = _scopes(entry.policies)
        have = _scopes(live.policies) if live is not None else {}
        for policy in entry.policies:
            if policy.arn not in have or have[policy.arn] != wanted[policy.arn]:
                port.associate_access_policy(*where, policy)
                writes += 1
        for policy_arn in have:
            if policy_arn not in wanted:
                port.disassociate_access_policy(*where, policy_arn)
                writes += 1
        return writes


def _entry_fields_differ(entry: AccessEntry, live: LiveAccessEntry) -> bool:
    if entry.username and entry.username != live.username:
        return True
    return sorted(entry.groups) != sorted(live.groups)


def _differs(entry: AccessEntry, live: LiveAccessEntry) -> bool:
    return _entry_fields_differ(entry, live) or _scopes(entry.policies) != _scopes(live.policies)
