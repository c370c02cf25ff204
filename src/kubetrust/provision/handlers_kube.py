"""Plan and apply the Kubernetes side: namespaces, service accounts, ConfigMaps, aws-auth.

- Namespaces are created when missing and never deleted (a namespace delete takes
  everything in it).
- A service account kubetrust creates carries its labels and is deleted by destroy; one
  that existed is only annotated (``eks.amazonaws.com/role-arn`` plus the marker annotation
  ``kubetrust.dev/spec``) and destroy removes only those annotations. A role annotation set
  by someone else to another role is a conflict. With Pod Identity the service account
  gets no role annotation (one kubetrust set before is removed; someone else's is left,
  Pod Identity takes precedence over it on EKS).
- ConfigMaps are kubetrust's when labelled so; another ConfigMap of the same name is a
  conflict.
- aws-auth: see :mod:`.awsauth`. Each write re-reads the ConfigMap under a per-cluster lock,
  saves a backup file first, refuses an edit that changes the caller's own mapping, and
  replaces with the ``resourceVersion`` read, so a concurrent edit fails instead of being
  lost.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from kubetrust.model.vocabulary import API
from kubetrust.provision import awsauth, documents
from kubetrust.provision.changes import Action, Change, render_data, unified
from kubetrust.provision.context import Context, Observer
from kubetrust.provision.ports import LiveObject, ProvisionError
from kubetrust.provision.resources import (
    MANAGED_BY_LABEL,
    MANAGER,
    SPEC_ANNOTATION,
    SPEC_LABEL,
    AwsAuthEntry,
    ConfigMap,
    Item,
    Namespace,
    ServiceAccount,
    ownership_labels,
)

ROLE = documents.ROLE_ARN_ANNOTATION


def _labelled(live: LiveObject, spec_name: str) -> bool:
    return live.labels.get(MANAGED_BY_LABEL) == MANAGER and live.labels.get(SPEC_LABEL) == spec_name


class NamespaceHandler:
    def observe(self, item: Item, observer: Observer) -> Change:
        namespace = item.resource
        assert isinstance(namespace, Namespace)
        live = observer.ports.kube(namespace.cluster).get_namespace(namespace.name)
        if live is not None:
            return Change(Action.NOOP, item, live=live)
        return Change(
            Action.CREATE, item, unified("", f"namespace {namespace.name}", namespace.key)
        )

    def observe_destroy(self, item: Item, observer: Observer) -> Change | None:
        return None  # never deleted

    def execute(self, change: Change, context: Context) -> int:
        namespace = change.resource
        assert isinstance(namespace, Namespace)
        context.ports.kube(namespace.cluster).create_namespace(namespace.name, namespace.labels)
        return 1


class ServiceAccountHandler:
    def observe(self, item: Item, observer: Observer) -> Change:
        account = item.resource
        assert isinstance(account, ServiceAccount)
        port = observer.ports.kube(account.cluster)
        live = port.get_service_account(account.namespace, account.name)
        after = f"{ROLE}: {account.role_arn}" if account.role_arn else ""
        if live is None:
            text = after or f"serviceaccount {account.name}"
            return Change(Action.CREATE, item, unified("", text, account.key))
        current = live.annotations.get(ROLE)
        if current == account.role_arn:
            return Change(Action.NOOP, item, live=live)
        marked = live.annotations.get(SPEC_ANNOTATION) == observer.spec_name
        ours = marked or _labelled(live, observer.spec_name)
        if account.role_arn is None and not ours:
            note = f"annotated with `{current}` by someone else: Pod Identity takes precedence"
            return Change(Action.NOOP, item, live=live, note=note)
        if current is not None and not ours:
            return Change(
                Action.NOOP,
                item,
                live=live,
                conflict=f"annotated with another role (`{current}`) by someone else",
            )
        before = f"{ROLE}: {current}" if current is not None else ""
        return Change(Action.UPDATE, item, unified(before, after, account.key), live=live)

    def observe_destroy(self, item: Item, observer: Observer) -> Change | None:
        account = item.resource
        assert isinstance(account, ServiceAccount)
        live = observer.ports.kube(account.cluster).get_service_account(
            account.namespace, account.name
        )
        if live is None:
            return Change(Action.NOOP, item)
        if _labelled(live, observer.spec_name):
            return Change(
                Action.DELETE,
                item,
                unified(f"serviceaccount {account.name}", "", account.key),
                live,
            )
        if live.annotations.get(SPEC_ANNOTATION) == observer.spec_name:
            before = f"{ROLE}: {live.annotations.get(ROLE)}"
            note = "not created by kubetrust: only its annotations are removed"
            return Change(Action.DELETE, item, unified(before, "", account.key), live, note)
        return Change(Action.NOOP, item, live=live, note="kept: not annotated by this spec")

    def execute(self, change: Change, context: Context) -> int:
        account = change.resource
        assert isinstance(account, ServiceAccount)
        port = context.ports.kube(account.cluster)
        live: LiveObject | None = change.live
        if change.action is Action.CREATE:
            annotations = {ROLE: account.role_arn} if account.role_arn else {}
            labels = ownership_labels(context.spec_name)
            port.create_service_account(account.namespace, account.name, labels, annotations)
        elif change.action is Action.UPDATE:
            patch: dict[str, str | None] = {ROLE: account.role_arn}
            if live is None or not _labelled(live, context.spec_name):
                patch[SPEC_ANNOTATION] = context.spec_name if account.role_arn else None
            port.patch_service_account(account.namespace, account.name, patch)
        elif live is not None and _labelled(live, context.spec_name):
            port.delete_service_account(account.namespace, account.name)
        else:
            removal: dict[str, str | None] = {ROLE: None, SPEC_ANNOTATION: None}
            port.patch_service_account(account.namespace, account.name, removal)
        return 1


class ConfigMapHandler:
    def observe(self, item: Item, observer: Observer) -> Change:
        config = item.resource
        assert isinstance(config, ConfigMap)
        live = observer.ports.kube(config.cluster).get_config_map(config.namespace, config.name)
        after = render_data(config.data)
        if live is None:
            return Change(Action.CREATE, item, unified("", after, config.key))
        if not _labelled(live, observer.spec_name):
            return Change(
                Action.NOOP, item, live=live, conflict="exists and is not managed by this spec"
            )
        if dict(live.data) == dict(config.data):
            return Change(Action.NOOP, item, live=live)
        return Change(Action.UPDATE, item, unified(render_data(live.data), after, config.key), live)

    def observe_destroy(self, item: Item, observer: Observer) -> Change | None:
        config = item.resource
        assert isinstance(config, ConfigMap)
        live = observer.ports.kube(config.cluster).get_config_map(config.namespace, config.name)
        if live is None:
            return Change(Action.NOOP, item)
        if not _labelled(live, observer.spec_name):
            return Change(Action.NOOP, item, live=live, note="kept: not created by this spec")
        return Change(Action.DELETE, item, unified(render_data(live.data), "", config.key), live)

    def execute(self, change: Change, context: Context) -> int:
        config = change.resource
        assert isinstance(config, ConfigMap)
        port = context.ports.kube(config.cluster)
        live: LiveObject | None = change.live
        if change.action is Action.CREATE:
            port.create_config_map(config.namespace, config.name, config.data, config.labels)
        elif change.action is Action.DELETE:
            port.delete_config_map(config.namespace, config.name)
        else:
            assert live is not None
            port.replace_config_map(
                LiveObject(
                    config.namespace,
                    config.name,
                    {**live.labels, **config.labels},
                    live.annotations,
                    config.data,
                    live.resource_version,
                )
            )
        return 1


class AwsAuthHandler:
    def observe(self, item: Item, observer: Observer) -> Change:
        entry = item.resource
        assert isinstance(entry, AwsAuthEntry)
        if entry.authentication_mode == API:
            return Change(
                Action.NOOP,
                item,
                conflict=f"cluster `{entry.cluster.name}` has authentication mode API, which "
                "ignores aws-auth (use `accessEntry`)",
            )
        live = observer.ports.kube(entry.cluster).get_config_map(awsauth.NAMESPACE, awsauth.NAME)
        data = dict(live.data) if live is not None else {}
        role_arn = entry.mapping.role_arn
        found = awsauth.ours(data, role_arn, entry.cluster.name)
        if awsauth.matches(found, entry.mapping):
            return Change(Action.NOOP, item, live=live)
        after = awsauth.edit(data, role_arn, entry.mapping, entry.cluster.name)
        diff = unified(data.get("mapRoles", ""), after.get("mapRoles", ""), entry.key)
        return Change(Action.CREATE if not found else Action.UPDATE, item, diff, live=live)

    def observe_destroy(self, item: Item, observer: Observer) -> Change | None:
        entry = item.resource
        assert isinstance(entry, AwsAuthEntry)
        live = observer.ports.kube(entry.cluster).get_config_map(awsauth.NAMESPACE, awsauth.NAME)
        data = dict(live.data) if live is not None else {}
        if not awsauth.ours(data, entry.mapping.role_arn, entry.cluster.name):
            return Change(Action.NOOP, item, live=live)
        after = awsauth.edit(data, entry.mapping.role_arn, None, entry.cluster.name)
        diff = unified(data.get("mapRoles", ""), after.get("mapRoles", ""), entry.key)
        return Change(Action.DELETE, item, diff, live=live)

    def execute(self, change: Change, context: Context) -> int:
        entry = change.resource
        assert isinstance(entry, AwsAuthEntry)
        cluster = entry.cluster
        port = context.ports.kube(cluster)
        mapping = None if change.action is Action.DELETE else entry.mapping
        with context.lock(cluster.key):
            live = port.get_config_map(awsauth.NAMESPACE, awsauth.NAME)
            before = dict(live.data) if live is not None else {}
            after = awsauth.edit(before, entry.mapping.role_arn, mapping, cluster.name)
            if after == before:
                return 0
            if awsauth.locks_out(before, after, context.caller(cluster.account)):
                raise ProvisionError(
                    f"refusing to edit aws-auth of cluster `{cluster.name}`: the change would "
                    f"remove or alter the mapping of the caller "
                    f"`{context.caller(cluster.account)}` itself"
                )
            if live is None:
                port.create_config_map(awsauth.NAMESPACE, awsauth.NAME, after, {})
                return 1
            _backup(context, entry, live)
            port.replace_config_map(
                LiveObject(
                    live.namespace,
                    live.name,
                    live.labels,
                    live.annotations,
                    after,
                    live.resource_version,
                )
            )
        return 1


def _backup(context: Context, entry: AwsAuthEntry, live: LiveObject) -> None:
    """Save the aws-auth ConfigMap as read, before editing it, as a manifest that
    ``kubectl replace -f`` restores."""
    if context.backup_dir is None:
        return
    cluster = entry.cluster
    stamp = context.clock().strftime("%Y%m%dT%H%M%S%fZ")
    name = f"aws-auth-{cluster.account}-{cluster.region}-{cluster.name}-{stamp}.yaml"
    manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": awsauth.NAME, "namespace": awsauth.NAMESPACE},
        "data": dict(live.data),
    }
    context.backup_dir.mkdir(parents=True, exist_ok=True)
    path: Path = context.backup_dir / name
    path.write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    context.backups.append(path)
