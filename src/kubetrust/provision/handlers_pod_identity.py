"""Plan and apply EKS Pod Identity: the agent add-on and the associations (reference F).

- **The agent.** Without the ``eks-pod-identity-agent`` add-on no pod of the cluster gets
  Pod Identity credentials (F.2). ``podIdentityAgent: require`` makes a missing add-on a
  conflict naming the cluster and both fixes, so plan and apply stop before any write;
  ``install`` creates it. The add-on is never deleted: every association of the cluster
  needs it, not only this spec's.
- **Associations**, one per service account (EKS allows one, F.5), are kubetrust's when
  they carry this spec's ownership tags. Such an association converges to the spec:
  ``UpdatePodIdentityAssociation`` changes its role and target role in place; removing a
  target role replaces the association (:func:`replaces`). An association made by another
  spec, by someone else or by an add-on (``ownerArn``) is a conflict, never taken over.
  Destroy deletes only this spec's.
- **A role just created** may not be visible to EKS yet: the association writes then
  answer ``InvalidParameterException`` "Role provided in the request does not exist" (F.5,
  H.1); that one answer is retried for a bounded time
  (:mod:`kubetrust.provision.handlers_propagation`), then reported.
- **The agent add-on** apply creates is ``CREATING`` for a while: apply waits for it to be
  ``ACTIVE`` (:meth:`~kubetrust.provision.ports.AwsPort.wait_addon_active`), since no pod
  gets credentials before.
"""

from __future__ import annotations

from collections.abc import Callable

from kubetrust.provision.changes import Action, Change, unified
from kubetrust.provision.context import Context, Observer, ownership
from kubetrust.provision.handlers_propagation import ROLE_NOT_VISIBLE, propagated_write
from kubetrust.provision.ports import AwsPort, LivePodIdentityAssociation
from kubetrust.provision.resources import (
    Item,
    PodIdentityAgent,
    PodIdentityAssociation,
    ownership_tags,
)


def replaces(association: PodIdentityAssociation, live: LivePodIdentityAssociation) -> bool:
    """Whether converging needs a delete and a create rather than an update: when the
    target role is to be removed. [unconfirmed] Whether ``UpdatePodIdentityAssociation``
    clears ``targetRoleArn`` when sent ``""`` is not documented (reference F.5);
    replacing is documented behaviour everywhere."""
    return association.target_role_arn is None and live.target_role_arn is not None


def _text(role_arn: str, target_role_arn: str | None) -> str:
    lines = [f"role {role_arn}"]
    return "\n".join(lines + ([f"target role {target_role_arn}"] if target_role_arn else []))


def _owner(live: LivePodIdentityAssociation, spec_name: str) -> str:
    if live.owner_arn:
        return f"the EKS add-on `{live.owner_arn}`"
    owner = ownership(live.tags, spec_name)
    if owner == "this":
        return ""
    return "another kubetrust spec" if owner == "other" else "someone else (no kubetrust tags)"


def _read(association: PodIdentityAssociation, port: AwsPort) -> LivePodIdentityAssociation | None:
    cluster = association.cluster
    return port.get_pod_identity_association(
        cluster.region, cluster.name, association.namespace, association.service_account
    )


class PodIdentityAssociationHandler:
    def observe(self, item: Item, observer: Observer) -> Change:
        association = item.resource
        assert isinstance(association, PodIdentityAssociation)
        live = _read(association, observer.ports.aws(association.cluster.account))
        after = _text(association.role_arn, association.target_role_arn)
        if live is None:
            return Change(Action.CREATE, item, unified("", after, association.key))
        owner = _owner(live, observer.spec_name)
        if owner:
            return Change(
                Action.NOOP,
                item,
                live=live,
                conflict=f"association {live.association_id} (role `{live.role_arn}`) belongs "
                f"to {owner}; not changed (EKS allows one association per service account)",
            )
        same = (live.role_arn, live.target_role_arn) == (
            association.role_arn,
            association.target_role_arn,
        )
        if same:
            return Change(Action.NOOP, item, live=live)
        diff = unified(_text(live.role_arn, live.target_role_arn), after, association.key)
        note = "replaced: the target role is removed" if replaces(association, live) else ""
        return Change(Action.UPDATE, item, diff, live=live, note=note)

    def observe_destroy(self, item: Item, observer: Observer) -> Change | None:
        association = item.resource
        assert isinstance(association, PodIdentityAssociation)
        live = _read(association, observer.ports.aws(association.cluster.account))
        if live is None:
            return Change(Action.NOOP, item)
        if _owner(live, observer.spec_name):
            return Change(Action.NOOP, item, live=live, note="kept: not created by this spec")
        before = _text(live.role_arn, live.target_role_arn)
        return Change(Action.DELETE, item, unified(before, "", association.key), live=live)

    def execute(self, change: Change, context: Context) -> int:
        association = change.resource
        assert isinstance(association, PodIdentityAssociation)
        cluster = association.cluster
        port = context.ports.aws(cluster.account)
        live: LivePodIdentityAssociation | None = change.live

        def create() -> None:
            port.create_pod_identity_association(
                cluster.region,
                cluster.name,
                association.namespace,
                association.service_account,
                association.role_arn,
                association.target_role_arn,
                association.tags,
            )

        def after_propagation(write: Callable[[], None]) -> None:
            propagated_write(change, context, association.role_arn, ROLE_NOT_VISIBLE, write)
            context.note_association_written()

        if change.action is Action.CREATE:
            after_propagation(create)
            return 1
        assert live is not None  # INVARIANT: update and delete come from a live association
        if change.action is Action.DELETE or replaces(association, live):
            port.delete_pod_identity_association(cluster.region, cluster.name, live.association_id)
            if change.action is Action.DELETE:
                return 1
            after_propagation(create)
            return 2

        def update() -> None:
            port.update_pod_identity_association(
                cluster.region,
                cluster.name,
                live.association_id,
                association.role_arn,
                association.target_role_arn,
            )

        after_propagation(update)
        return 1


def agent_missing(agent: PodIdentityAgent) -> str:
    """The conflict of ``podIdentityAgent: require`` on a cluster without the add-on."""
    cluster = agent.cluster
    return (
        f"cluster `{cluster.name}` (account {cluster.account}, region {cluster.region}) does "
        f"not run the `{agent.name}` add-on, without which no pod gets Pod Identity "
        f"credentials: install it with `aws eks create-addon --cluster-name {cluster.name} "
        f"--addon-name {agent.name} --region {cluster.region}`, or set "
        "`source.podIdentityAgent: install` to let apply create it"
    )


class PodIdentityAgentHandler:
    def observe(self, item: Item, observer: Observer) -> Change:
        agent = item.resource
        assert isinstance(agent, PodIdentityAgent)
        cluster = agent.cluster
        port = observer.ports.aws(cluster.account)
        live = port.get_addon(cluster.region, cluster.name, agent.name)
        if live is not None:
            note = "" if live.status == "ACTIVE" else f"add-on status {live.status}"
            return Change(Action.NOOP, item, live=live, note=note)
        if not agent.install:
            return Change(Action.NOOP, item, conflict=agent_missing(agent))
        return Change(Action.CREATE, item, unified("", f"addon {agent.name}", agent.key))

    def observe_destroy(self, item: Item, observer: Observer) -> Change | None:
        return None  # never removed: the cluster's other associations need it

    def execute(self, change: Change, context: Context) -> int:
        agent = change.resource
        assert isinstance(agent, PodIdentityAgent)
        cluster = agent.cluster
        port = context.ports.aws(cluster.account)
        port.create_addon(
            cluster.region, cluster.name, agent.name, ownership_tags(context.spec_name)
        )
        port.wait_addon_active(cluster.region, cluster.name, agent.name)
        return 1
