"""IRSA → Pod Identity, applied through the provisioning ports with a write-ahead backup.

Order, so that the IRSA path keeps working until the Pod Identity path is complete: the
agent add-on (waited for ``ACTIVE``: no pod gets credentials before, reference F.7); the
trust statements (an association is refused while its role's trust does not admit
``pods.eks.amazonaws.com``, F.5) and ``sts:TagSession`` where the chain needs it; the
associations, then their settle (F.5: nothing signals when EKS's webhook sees them); the
pod's AWS config; last, with ``--remove-irsa``, the web-identity trust and the annotations.

Every write is **re-decided against the live object just before it** (the edit functions
of the plan applied to what the port reads now): a statement already there, an association
with the same role and target, a config already moved are no writes. So a rerun writes
nothing (eksctl's rerun was a 409, #7753) and a run killed after step *k* resumes with
step *k + 1*. Each write is journalled first (:class:`kubetrust.migrate.journal.Journal`,
the undo records its docstring defines) and marked done after.

The agent add-on, when installed, is recorded in ``migration.json`` (``addon_installed``),
not as an undo step: rollback keeps it, as ``kubetrust destroy`` does — every association
of the cluster needs it, not only the migrated ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from kubetrust import errors
from kubetrust.migrate import pod_identity_documents as docs
from kubetrust.migrate.journal import Journal
from kubetrust.migrate.pod_identity_plan import Migration, Plan, PolicyEdit, TrustEdit
from kubetrust.model.eks import POD_IDENTITY_AGENT_ADDON, ROLE_ANNOTATION
from kubetrust.provision import eventual
from kubetrust.provision.handlers_propagation import ROLE_NOT_VISIBLE
from kubetrust.provision.ports import ClusterRef, LiveObject, LivePod, Ports

Progress = Callable[[str], None]


class MigrationConflict(errors.KubetrustError):
    """The live state changed under the migration in a way it will not override."""


@dataclass
class Applied:
    """What the run wrote (``done``), what it found already there (``already``)."""

    done: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    addon_installed: bool = False
    settled: float = 0.0


@dataclass(frozen=True, slots=True)
class Settings:
    association_tags: Mapping[str, str] = field(default_factory=dict)
    settle_seconds: float = eventual.ASSOCIATION_SETTLE_SECONDS
    propagation_seconds: float = eventual.IAM_PROPAGATION_SECONDS
    sleep: Callable[[float], None] = time.sleep


def apply(
    plan: Plan,
    ports: Ports,
    journal: Journal,
    settings: Settings | None = None,
    progress: Progress = lambda line: None,
) -> Applied:
    """Make the plan's changes (module doc)."""
    settings = settings or Settings()
    run = _Run(plan, ports, journal, settings, progress, Applied())
    run.agent()
    for edit in plan.trust_edits:
        run.trust(edit)
    for policy in plan.policy_edits:
        run.policy(policy)
    written = [m for m in plan.migrations if run.association(m)]
    if written:
        run.settle()
    run.config()
    for edit in plan.irsa_edits:
        run.trust(edit)
    for namespace, name in plan.annotations:
        run.annotation(namespace, name)
    return run.applied


@dataclass
class _Run:
    plan: Plan
    ports: Ports
    journal: Journal
    settings: Settings
    progress: Progress
    applied: Applied

    @property
    def cluster(self) -> ClusterRef:
        return ClusterRef(self.plan.account, self.plan.region, self.plan.cluster)

    def _where(self) -> dict[str, str]:
        return {
            "account": self.plan.account,
            "region": self.plan.region,
            "cluster": self.plan.cluster,
        }

    def _write(self, what: str, undo: Mapping[str, object], write: Callable[[], None]) -> None:
        number = self.journal.started(what, undo)
        self.progress(f"  {what}")
        write()
        self.journal.done(number)
        self.applied.done.append(what)

    def agent(self) -> None:
        port = self.ports.aws(self.plan.account)
        region, name = self.plan.region, self.plan.cluster
        if port.get_addon(region, name, POD_IDENTITY_AGENT_ADDON) is not None:
            return
        self.progress(f"  install add-on {POD_IDENTITY_AGENT_ADDON} on {name}, wait for ACTIVE")
        port.create_addon(
            region, name, POD_IDENTITY_AGENT_ADDON, dict(self.settings.association_tags)
        )
        port.wait_addon_active(region, name, POD_IDENTITY_AGENT_ADDON)
        self.applied.addon_installed = True
        self.applied.done.append(f"add-on {POD_IDENTITY_AGENT_ADDON} installed")

    def trust(self, edit: TrustEdit) -> None:
        port = self.ports.aws(edit.account)
        live = port.get_role(edit.role_name)
        if live is None:
            raise MigrationConflict(f"role `{edit.role_arn}` no longer exists")
        after, notes = edit.edited(live.trust)
        for note in notes:
            self.progress(f"  note: {edit.role_arn}: {note}")
        what = f"trust of {edit.role_arn}: {edit.why}"
        if docs.same(after, live.trust):
            self.applied.already.append(what)
            return
        undo = {
            "kind": "trust",
            "account": edit.account,
            "role": edit.role_name,
            "before": dict(live.trust),
        }
        self._write(what, undo, lambda: port.update_trust(edit.role_name, after))

    def policy(self, edit: PolicyEdit) -> None:
        port = self.ports.aws(edit.account)
        live = port.get_role(edit.role_name)
        if live is None:
            raise MigrationConflict(f"role `{edit.role_arn}` no longer exists")
        current = live.inline.get(docs.TAG_SESSION_POLICY)
        after = edit.edited(current)
        targets = ", ".join(edit.resources)
        what = f"policy {docs.TAG_SESSION_POLICY} of {edit.role_arn}: sts:TagSession on {targets}"
        if docs.same(after, current):
            self.applied.already.append(what)
            return
        undo = {
            "kind": "role_policy",
            "account": edit.account,
            "role": edit.role_name,
            "policy_name": docs.TAG_SESSION_POLICY,
            "before": dict(current) if current is not None else None,
        }
        self._write(
            what, undo, lambda: port.put_role_policy(edit.role_name, docs.TAG_SESSION_POLICY, after)
        )

    def association(self, migration: Migration) -> bool:
        """Create the association unless it is there; whether it was written."""
        port = self.ports.aws(self.plan.account)
        region, cluster = self.plan.region, self.plan.cluster
        live = port.get_pod_identity_association(
            region, cluster, migration.namespace, migration.name
        )
        target = f" (target {migration.target_role_arn})" if migration.target_role_arn else ""
        what = f"association {cluster} {migration.key} -> {migration.role_arn}{target}"
        if live is not None:
            if (live.role_arn, live.target_role_arn) == (
                migration.role_arn,
                migration.target_role_arn,
            ):
                self.applied.already.append(what)
                return False
            raise MigrationConflict(
                f"{migration.key} is now associated with `{live.role_arn}` "
                f"({live.association_id}); not changed — plan again"
            )
        undo = {
            **self._where(),
            "kind": "association",
            "namespace": migration.namespace,
            "service_account": migration.name,
        }

        def create() -> None:
            port.create_pod_identity_association(
                region,
                cluster,
                migration.namespace,
                migration.name,
                migration.role_arn,
                migration.target_role_arn,
                dict(self.settings.association_tags),
            )

        def told(waited: float) -> None:
            self.progress(f"  waiting for EKS to see {migration.role_arn} ({waited:.0f} s so far)")

        budget = eventual.Budget(self.settings.propagation_seconds, sleep=self.settings.sleep)

        def write() -> None:
            eventual.retry_write(create, ROLE_NOT_VISIBLE.matches, budget, told)

        self._write(what, undo, write)
        return True

    def settle(self) -> None:
        seconds = self.settings.settle_seconds
        if seconds <= 0:
            return
        self.progress(
            f"  letting the associations settle {seconds:.0f} s (EKS gives no signal; pods "
            "created before they settle get no Pod Identity credentials, reference F.5)"
        )
        self.settings.sleep(seconds)
        self.applied.settled = seconds

    def config(self) -> None:
        edit = self.plan.config_edit
        if edit is None or edit.before == edit.after:
            return
        port = self.ports.kube(self.cluster)
        live = port.get_config_map(edit.namespace, edit.name)
        what = f"AWS config {edit.namespace}/{edit.name}: web identity -> container credentials"
        if live is None:
            raise MigrationConflict(f"ConfigMap {edit.namespace}/{edit.name} is gone")
        if dict(live.data) == dict(edit.after):
            self.applied.already.append(what)
            return
        if dict(live.data) != dict(edit.before):
            raise MigrationConflict(
                f"ConfigMap {edit.namespace}/{edit.name} changed since it was planned; plan again"
            )
        undo = {
            **self._where(),
            "kind": "config_map",
            "namespace": edit.namespace,
            "name": edit.name,
            "before": dict(live.data),
        }
        replaced = LiveObject(
            live.namespace,
            live.name,
            live.labels,
            live.annotations,
            dict(edit.after),
            live.resource_version,
        )
        self._write(what, undo, lambda: port.replace_config_map(replaced))

    def annotation(self, namespace: str, name: str) -> None:
        port = self.ports.kube(self.cluster)
        live = port.get_service_account(namespace, name)
        what = f"annotation {ROLE_ANNOTATION} of {namespace}/{name} removed"
        if live is None or ROLE_ANNOTATION not in live.annotations:
            self.applied.already.append(what)
            return
        undo = {
            **self._where(),
            "kind": "service_account",
            "namespace": namespace,
            "name": name,
            "before": {ROLE_ANNOTATION: live.annotations[ROLE_ANNOTATION]},
        }
        self._write(
            what, undo, lambda: port.patch_service_account(namespace, name, {ROLE_ANNOTATION: None})
        )


def pods_to_restart(plan: Plan, ports: Ports) -> list[LivePod]:
    """The pods of the migrated service accounts still without Pod Identity: they keep
    their IRSA credentials until recreated, since EKS's webhook mutates pods only when they
    are created (F.2, F.6)."""
    port = ports.kube(ClusterRef(plan.account, plan.region, plan.cluster))
    wanted = {(m.namespace, m.name) for m in plan.migrations}
    found: list[LivePod] = []
    for namespace in sorted({ns for ns, _ in wanted}):
        found += [
            pod
            for pod in port.list_pods(namespace)
            if (pod.namespace, pod.service_account) in wanted and not pod.pod_identity
        ]
    return found
