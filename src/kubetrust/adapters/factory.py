"""Ports for provisioning: which credentials reach which account, which context which cluster.

:class:`PortFactory` implements :class:`kubetrust.provision.Ports`. AWS side: one
:class:`~kubetrust.adapters.aws.AwsAccess` per account (a profile, or keys) with a default
for the others; the first use of an account checks with ``sts:GetCallerIdentity`` that the
credentials really are for that account, so a wrong profile fails before any write instead
of creating roles in the wrong place. Kubernetes side: a cluster with a kubeconfig context
(named in the spec or on the command line) is reached through that context; any other
cluster through its DescribeCluster endpoint and CA with an EKS token signed by its
account's credentials, exactly as ``aws eks update-kubeconfig`` + ``get-token`` would. A
kubeconfig's *current* context is never guessed for a cluster: with several clusters it
would send every cluster's writes to one of them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from kubetrust.adapters.aws import AwsAccess, BotoAwsPort, session
from kubetrust.adapters.kube import KubernetesPort
from kubetrust.adapters.token import eks_bearer_token
from kubetrust.provision import ClusterRef, ProvisionError


@dataclass
class PortFactory:
    """:class:`kubetrust.provision.Ports` on boto3 and the kubernetes client."""

    default: AwsAccess = field(default_factory=AwsAccess)
    accounts: Mapping[str, AwsAccess] = field(default_factory=dict)
    kubeconfig: str | None = None
    contexts: Mapping[str, str] = field(default_factory=dict)
    """Kubeconfig contexts by cluster key (``account/region/name``) or cluster name."""
    verify_accounts: bool = True
    progress: Callable[[str], None] = lambda line: None
    """Where the AWS ports tell their waits for asynchronous EKS work (the CLI: stderr)."""
    _aws: dict[str, BotoAwsPort] = field(default_factory=dict)
    _kube: dict[str, KubernetesPort] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def access(self, account: str) -> AwsAccess:
        return self.accounts.get(account, self.default)

    def aws(self, account: str) -> BotoAwsPort:
        with self._lock:
            port = self._aws.get(account)
            if port is None:
                access = self.access(account)
                port = BotoAwsPort(
                    account,
                    session(access),
                    endpoint_url=access.endpoint_url,
                    region=access.region or "us-east-1",
                )
                port.progress = self.progress
                if self.verify_accounts:
                    actual = port.caller_account()
                    if actual != account:
                        how = f"profile `{access.profile}`" if access.profile else "the credentials"
                        raise ProvisionError(
                            f"{how} for account {account} belong to account {actual}; "
                            "name the right profile (spec `profile`, or --profile-map)"
                        )
                self._aws[account] = port
            return port

    def kube(self, cluster: ClusterRef) -> KubernetesPort:
        with self._lock:
            port = self._kube.get(cluster.key)
            if port is None:
                port = self._connect(cluster)
                self._kube[cluster.key] = port
            return port

    def _connect(self, cluster: ClusterRef) -> KubernetesPort:
        context = (
            cluster.context or self.contexts.get(cluster.key) or self.contexts.get(cluster.name)
        )
        if context:
            return KubernetesPort.from_kubeconfig(self.kubeconfig, context)
        aws = self.aws(cluster.account)
        info = aws.describe_cluster(cluster.region, cluster.name)
        if info is None or not info.endpoint:
            raise ProvisionError(
                f"cluster `{cluster.name}` not found in account {cluster.account} region "
                f"{cluster.region}"
            )
        boto_session, endpoint_url = aws.session, aws.endpoint_url

        def token() -> str:
            return eks_bearer_token(boto_session, cluster.name, cluster.region, endpoint_url)

        return KubernetesPort.from_endpoint(info.endpoint, info.ca_data, token)
