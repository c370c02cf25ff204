"""Provisioning: the spec, plan, apply and destroy, through ports.

::

    from kubetrust import provision
    spec = provision.load_spec("kubetrust.yaml")       # SpecError: file:line:col lines
    current = provision.plan(spec, ports)              # reads only
    report = provision.apply(spec, ports, provision.Options(backup_dir=Path("backups")))
    report.ok, report.writes, report.units             # which targets are done
    provision.destroy(spec, ports)                     # only what this spec owns

``ports`` implements :class:`Ports` (an :class:`AwsPort` per account, a :class:`KubePort`
per cluster): :mod:`kubetrust.adapters` has them on boto3 and the kubernetes client. This
package imports no SDK (a layer contract checks it), so its logic is tested with in-memory
fakes and the same code runs against AWS and the sandbox.
"""

from kubetrust.provision.apply import ApplyReport, Options, UnitResult, apply, destroy
from kubetrust.provision.changes import Action, Change, Plan
from kubetrust.provision.desired import Facts, aws_config, desired, gather_facts, needs_aws_config
from kubetrust.provision.load import load_spec, parse_spec
from kubetrust.provision.plan import plan, plan_destroy
from kubetrust.provision.ports import (
    AccessPolicy,
    AwsPort,
    ClusterInfo,
    ClusterRef,
    KubePort,
    LiveAccessEntry,
    LiveAddon,
    LiveObject,
    LiveOidcProvider,
    LivePodIdentityAssociation,
    LiveRole,
    Ports,
    ProvisionError,
)
from kubetrust.provision.source import Problem, SpecError
from kubetrust.provision.spec import Spec

__all__ = [
    "AccessPolicy",
    "Action",
    "ApplyReport",
    "AwsPort",
    "Change",
    "ClusterInfo",
    "ClusterRef",
    "Facts",
    "KubePort",
    "LiveAccessEntry",
    "LiveAddon",
    "LiveObject",
    "LiveOidcProvider",
    "LivePodIdentityAssociation",
    "LiveRole",
    "Options",
    "Plan",
    "Ports",
    "Problem",
    "ProvisionError",
    "Spec",
    "SpecError",
    "UnitResult",
    "apply",
    "aws_config",
    "desired",
    "destroy",
    "gather_facts",
    "load_spec",
    "needs_aws_config",
    "parse_spec",
    "plan",
    "plan_destroy",
]
