"""Plan: desired resources vs. live state → the ordered list of changes.

:func:`plan` reads the facts the spec leaves open (the source cluster's issuer, the target
clusters), builds the desired resources (:mod:`.desired`) and asks each resource's handler
to compare it with what the ports read. :func:`plan_destroy` does the same for removal, in
reverse dependency order, and lists only what this spec owns. Reads only: a plan writes
nothing, so ``kubetrust plan`` is always safe to run.
"""

from __future__ import annotations

from kubetrust.provision import desired as desired_state
from kubetrust.provision.changes import Change, Plan
from kubetrust.provision.context import Handler, Observer
from kubetrust.provision.handlers_aws import (
    InlinePolicyHandler,
    ManagedPoliciesHandler,
    OidcProviderHandler,
    RoleHandler,
)
from kubetrust.provision.handlers_eks import AccessEntryHandler
from kubetrust.provision.handlers_kube import (
    AwsAuthHandler,
    ConfigMapHandler,
    NamespaceHandler,
    ServiceAccountHandler,
)
from kubetrust.provision.handlers_pod_identity import (
    PodIdentityAgentHandler,
    PodIdentityAssociationHandler,
)
from kubetrust.provision.ports import Ports
from kubetrust.provision.resources import (
    AccessEntry,
    AwsAuthEntry,
    ConfigMap,
    InlinePolicy,
    Item,
    ManagedPolicies,
    Namespace,
    OidcProvider,
    PodIdentityAgent,
    PodIdentityAssociation,
    Role,
    ServiceAccount,
)
from kubetrust.provision.spec import Spec

HANDLERS: dict[type, Handler] = {
    OidcProvider: OidcProviderHandler(),
    Role: RoleHandler(),
    InlinePolicy: InlinePolicyHandler(),
    ManagedPolicies: ManagedPoliciesHandler(),
    Namespace: NamespaceHandler(),
    ServiceAccount: ServiceAccountHandler(),
    ConfigMap: ConfigMapHandler(),
    AwsAuthEntry: AwsAuthHandler(),
    AccessEntry: AccessEntryHandler(),
    PodIdentityAgent: PodIdentityAgentHandler(),
    PodIdentityAssociation: PodIdentityAssociationHandler(),
}


def handler(item: Item) -> Handler:
    return HANDLERS[type(item.resource)]


def plan(spec: Spec, ports: Ports, *, kubernetes: bool = True) -> Plan:
    """What ``apply`` would change, in apply order. ``kubernetes=False`` plans the AWS side
    only (IAM and OIDC providers; no cluster access, no Kubernetes objects)."""
    facts = desired_state.gather_facts(spec, ports, kubernetes=kubernetes)
    items = desired_state.desired(spec, facts, kubernetes=kubernetes)
    observer = Observer(ports, spec.name)
    changes = [handler(item).observe(item, observer) for item in items]
    return Plan(spec.name, "apply", tuple(changes), facts.warnings, kubernetes, facts)


def plan_destroy(spec: Spec, ports: Ports, *, kubernetes: bool = True) -> Plan:
    """What ``destroy`` would remove (only what this spec owns), in removal order."""
    facts = desired_state.gather_facts(spec, ports, kubernetes=kubernetes, strict=False)
    items = desired_state.desired(spec, facts, kubernetes=kubernetes)
    observer = Observer(ports, spec.name)
    changes: list[Change] = []
    for item in sorted(items, key=lambda item: item.phase, reverse=True):
        change = handler(item).observe_destroy(item, observer)
        if change is not None:
            changes.append(change)
    return Plan(spec.name, "destroy", tuple(changes), facts.warnings, kubernetes, facts)
