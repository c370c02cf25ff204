"""The AWS port on boto3: IAM, EKS and STS for one account.

:class:`BotoAwsPort` implements :class:`kubetrust.provision.AwsPort`. Its session comes from
:func:`session`: a named profile (AWS CLI conventions, ``~/.aws/config``), explicit keys (the
sandbox's admin keys), or the default chain; an endpoint URL points every client at the
sandbox. botocore errors are translated at this boundary into :class:`AwsApiError` (code,
operation, message), so nothing above this package sees a botocore exception; "not found"
answers become ``None`` for reads.

Clients are made once per service and region and shared by the apply threads (botocore
clients are thread-safe; sessions are not, so clients are created under a lock). Real AWS
throttles, pages and is asynchronous (reference H), so: every client uses botocore's
``standard`` retry mode (:data:`RETRY_CONFIG`: throttling and transient errors, backoff
with jitter); every list goes through botocore's paginator; a cluster that is ``CREATING``
or ``UPDATING`` is waited for with botocore's ``cluster_active`` waiter, a new add-on with
``addon_active`` (:mod:`kubetrust.adapters.aws_wait`), each wait told to :attr:`progress`.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from kubetrust import errors
from kubetrust.adapters import aws_wait
from kubetrust.model import vocabulary
from kubetrust.provision import (
    AccessPolicy,
    ClusterInfo,
    LiveAccessEntry,
    LiveAddon,
    LiveOidcProvider,
    LivePodIdentityAssociation,
    LiveRole,
    eventual,
)

NOT_FOUND = frozenset({"NoSuchEntity", "NoSuchEntityException", "ResourceNotFoundException"})
RETRY_MODE = {"mode": "standard", "max_attempts": 5}
"""botocore's standard retry mode (throttling codes, 5xx, transient network errors; backoff
with jitter, reference H.3) with one attempt more than its default three, since the apply
threads share each account's throttling buckets."""
RETRY_CONFIG = Config(retries=RETRY_MODE)
ACTIVE = "ACTIVE"
MODE_UPDATE_SECONDS = 1200.0
"""The bound of an authentication mode update: botocore's ``cluster_active`` waiter's
(30 s × 40, reference H.2); AWS publishes no figure for the update itself."""


class AwsApiError(errors.KubetrustError):
    """An AWS API call failed: ``code`` and ``operation`` as AWS names them."""

    def __init__(self, operation: str, code: str, message: str, account: str = "") -> None:
        self.operation = operation
        self.code = code
        where = f" in account {account}" if account else ""
        super().__init__(f"{operation}{where} failed: {code}: {message}")


@dataclass(frozen=True, slots=True)
class AwsAccess:
    """How to reach one account: a profile, or explicit keys, and optionally an endpoint."""

    profile: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    endpoint_url: str | None = None
    region: str | None = None


def session(access: AwsAccess) -> boto3.session.Session:
    """A boto3 session for ``access`` (AWS CLI precedence: explicit keys, else the profile,
    else the environment and default chain)."""
    try:
        if access.access_key_id:
            return boto3.session.Session(
                aws_access_key_id=access.access_key_id,
                aws_secret_access_key=access.secret_access_key,
                aws_session_token=access.session_token,
                region_name=access.region,
            )
        return boto3.session.Session(profile_name=access.profile, region_name=access.region)
    except BotoCoreError as error:
        raise AwsApiError("session", type(error).__name__, str(error)) from error


class BotoAwsPort:
    """:class:`kubetrust.provision.AwsPort` for ``account`` on a boto3 session."""

    def __init__(
        self,
        account: str,
        boto_session: boto3.session.Session,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
    ) -> None:
        self.account = account
        self.session = boto_session
        self.endpoint_url = endpoint_url
        self.region = boto_session.region_name or region
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self.progress: Callable[[str], None] = lambda line: None
        """Where waits for asynchronous EKS work are told (the CLI: stderr)."""

    # ------------------------------------------------------------------ plumbing
    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self.session.client(
                    service,
                    region_name=key[1],
                    endpoint_url=self.endpoint_url,
                    config=RETRY_CONFIG,
                )
            return self._clients[key]

    @contextlib.contextmanager
    def _translated(self, operation: str) -> Iterator[None]:
        """botocore's errors as :class:`AwsApiError` (code, operation, message)."""
        try:
            yield
        except ClientError as error:
            detail = error.response.get("Error", {})
            raise AwsApiError(
                operation,
                str(detail.get("Code", "Unknown")),
                str(detail.get("Message", error)),
                self.account,
            ) from error
        except BotoCoreError as error:
            raise AwsApiError(operation, type(error).__name__, str(error), self.account) from error

    def _call(self, service: str, operation: str, region: str | None = None, **kw: Any) -> Any:
        with self._translated(operation):
            return getattr(self.client(service, region), operation)(**kw)

    def _read(self, service: str, operation: str, region: str | None = None, **kw: Any) -> Any:
        """A read where "not found" is an answer (``None``), not an error."""
        try:
            return self._call(service, operation, region, **kw)
        except AwsApiError as error:
            if error.code in NOT_FOUND:
                return None
            raise

    def _pages(self, service: str, operation: str, key: str, **kw: Any) -> list[Any]:
        """Every item of a list operation, through botocore's paginator (IAM's
        ``Marker``/``IsTruncated``, EKS's ``nextToken``: reference H.4)."""
        return [
            item
            for page in self._paginate(service, operation, None, **kw)
            for item in page.get(key, [])
        ]

    # ------------------------------------------------------------------ STS / EKS cluster
    def caller_arn(self) -> str:
        return str(self._call("sts", "get_caller_identity")["Arn"])

    def caller_account(self) -> str:
        return str(self._call("sts", "get_caller_identity")["Account"])

    def describe_cluster(self, region: str, name: str) -> ClusterInfo | None:
        """The cluster, once ``ACTIVE`` (:class:`kubetrust.provision.AwsPort`)."""
        found = self._read("eks", "describe_cluster", region, name=name)
        if found is None:
            return None
        if found["cluster"].get("status", ACTIVE) != ACTIVE:
            self._wait("cluster_active", region, f"EKS cluster `{name}`", name=name)
            found = self._read("eks", "describe_cluster", region, name=name)
            if found is None:
                return None
        cluster = found["cluster"]
        return ClusterInfo(
            name=cluster["name"],
            arn=cluster.get("arn", ""),
            endpoint=cluster.get("endpoint", ""),
            ca_data=(cluster.get("certificateAuthority") or {}).get("data", ""),
            issuer=((cluster.get("identity") or {}).get("oidc") or {}).get("issuer", ""),
            authentication_mode=(cluster.get("accessConfig") or {}).get(
                "authenticationMode", vocabulary.CONFIG_MAP
            ),
            status=str(cluster.get("status", ACTIVE)),
        )

    def _wait(self, waiter: str, region: str, what: str, **params: Any) -> None:
        """botocore's ``waiter`` for ``what`` (:func:`kubetrust.adapters.aws_wait.wait_for`)."""
        look = (
            f"aws eks describe-cluster --name {params['name']} --region {region}"
            if "name" in params
            else f"aws eks describe-addon --cluster-name {params['clusterName']} "
            f"--addon-name {params['addonName']} --region {region}"
        )
        with self._translated(waiter):
            aws_wait.wait_for(
                self.client("eks", region), waiter, what, look, self.progress, **params
            )

    # ------------------------------------------------------------------ OIDC providers
    def _provider_arn(self, url: str) -> str:
        return f"arn:aws:iam::{self.account}:oidc-provider/{url.removeprefix('https://')}"

    def get_oidc_provider(self, url: str) -> LiveOidcProvider | None:
        arn = self._provider_arn(url)
        found = self._read("iam", "get_open_id_connect_provider", OpenIDConnectProviderArn=arn)
        if found is None:
            return None
        live_url = str(found.get("Url", ""))
        return LiveOidcProvider(
            arn=arn,
            url=live_url if live_url.startswith("https://") else f"https://{live_url}",
            client_ids=tuple(found.get("ClientIDList", [])),
            tags=_tags(found.get("Tags", [])),
        )

    def create_oidc_provider(
        self, url: str, client_ids: Sequence[str], tags: Mapping[str, str]
    ) -> None:
        self._call(
            "iam",
            "create_open_id_connect_provider",
            Url=url,
            ClientIDList=list(client_ids),
            Tags=_tag_list(tags),
        )

    def add_oidc_client_id(self, arn: str, client_id: str) -> None:
        self._call(
            "iam",
            "add_client_id_to_open_id_connect_provider",
            OpenIDConnectProviderArn=arn,
            ClientID=client_id,
        )

    def tag_oidc_provider(self, arn: str, tags: Mapping[str, str]) -> None:
        self._call(
            "iam",
            "tag_open_id_connect_provider",
            OpenIDConnectProviderArn=arn,
            Tags=_tag_list(tags),
        )

    def delete_oidc_provider(self, arn: str) -> None:
        self._call("iam", "delete_open_id_connect_provider", OpenIDConnectProviderArn=arn)

    # ------------------------------------------------------------------ roles
    def get_role(self, name: str) -> LiveRole | None:
        found = self._read("iam", "get_role", RoleName=name)
        if found is None:
            return None
        role = found["Role"]
        tags = _tags(self._pages("iam", "list_role_tags", "Tags", RoleName=name))
        inline = {
            policy_name: _document(
                self._call("iam", "get_role_policy", RoleName=name, PolicyName=policy_name)[
                    "PolicyDocument"
                ]
            )
            for policy_name in self._pages(
                "iam", "list_role_policies", "PolicyNames", RoleName=name
            )
        }
        attached = tuple(
            item["PolicyArn"]
            for item in self._pages(
                "iam", "list_attached_role_policies", "AttachedPolicies", RoleName=name
            )
        )
        return LiveRole(
            name=name,
            arn=role["Arn"],
            trust=_document(role.get("AssumeRolePolicyDocument", {})),
            max_session_duration=int(
                role.get("MaxSessionDuration", vocabulary.DEFAULT_ROLE_MAX_SESSION)
            ),
            tags=tags,
            inline=inline,
            attached=attached,
        )

    def create_role(
        self,
        name: str,
        trust: Mapping[str, Any],
        max_session_duration: int,
        tags: Mapping[str, str],
        description: str,
    ) -> None:
        self._call(
            "iam",
            "create_role",
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(trust),
            MaxSessionDuration=max_session_duration,
            Description=description,
            Tags=_tag_list(tags),
        )

    def update_trust(self, name: str, trust: Mapping[str, Any]) -> None:
        self._call(
            "iam", "update_assume_role_policy", RoleName=name, PolicyDocument=json.dumps(trust)
        )

    def update_max_session_duration(self, name: str, seconds: int) -> None:
        self._call("iam", "update_role", RoleName=name, MaxSessionDuration=seconds)

    def tag_role(self, name: str, tags: Mapping[str, str]) -> None:
        self._call("iam", "tag_role", RoleName=name, Tags=_tag_list(tags))

    def put_role_policy(self, name: str, policy_name: str, document: Mapping[str, Any]) -> None:
        self._call(
            "iam",
            "put_role_policy",
            RoleName=name,
            PolicyName=policy_name,
            PolicyDocument=json.dumps(document),
        )

    def delete_role_policy(self, name: str, policy_name: str) -> None:
        self._call("iam", "delete_role_policy", RoleName=name, PolicyName=policy_name)

    def attach_role_policy(self, name: str, arn: str) -> None:
        self._call("iam", "attach_role_policy", RoleName=name, PolicyArn=arn)

    def detach_role_policy(self, name: str, arn: str) -> None:
        self._call("iam", "detach_role_policy", RoleName=name, PolicyArn=arn)

    def delete_role(self, name: str) -> None:
        self._call("iam", "delete_role", RoleName=name)

    # ------------------------------------------------------------------ access entries
    def get_access_entry(self, region: str, cluster: str, principal: str) -> LiveAccessEntry | None:
        found = self._read(
            "eks", "describe_access_entry", region, clusterName=cluster, principalArn=principal
        )
        if found is None:
            return None
        entry = found["accessEntry"]
        policies: list[AccessPolicy] = []
        if entry.get("type", "STANDARD") in ("STANDARD", "EC2"):
            # node entries (EC2_LINUX, ...) take no access policies and EKS refuses to
            # list them (E.2, E.4)
            listed = self._paginate(
                "eks",
                "list_associated_access_policies",
                region,
                clusterName=cluster,
                principalArn=principal,
            )
            policies = [
                _access_policy(item)
                for page in listed
                for item in page.get("associatedAccessPolicies", [])
            ]
        return LiveAccessEntry(
            principal_arn=entry["principalArn"],
            username=entry.get("username", ""),
            groups=tuple(entry.get("kubernetesGroups", [])),
            policies=tuple(policies),
        )

    def create_access_entry(
        self,
        region: str,
        cluster: str,
        principal: str,
        username: str | None,
        groups: Sequence[str],
        tags: Mapping[str, str],
    ) -> None:
        extra: dict[str, Any] = {"username": username} if username else {}
        self._call(
            "eks",
            "create_access_entry",
            region,
            clusterName=cluster,
            principalArn=principal,
            kubernetesGroups=list(groups),
            **_eks_tags(tags),
            **extra,
        )

    def update_access_entry(
        self, region: str, cluster: str, principal: str, username: str | None, groups: Sequence[str]
    ) -> None:
        extra: dict[str, Any] = {"username": username} if username else {}
        self._call(
            "eks",
            "update_access_entry",
            region,
            clusterName=cluster,
            principalArn=principal,
            kubernetesGroups=list(groups),
            **extra,
        )

    def delete_access_entry(self, region: str, cluster: str, principal: str) -> None:
        self._call(
            "eks", "delete_access_entry", region, clusterName=cluster, principalArn=principal
        )

    def associate_access_policy(
        self, region: str, cluster: str, principal: str, policy: AccessPolicy
    ) -> None:
        scope: dict[str, Any] = {"type": "cluster"}
        if policy.namespaces is not None:
            scope = {"type": "namespace", "namespaces": list(policy.namespaces)}
        self._call(
            "eks",
            "associate_access_policy",
            region,
            clusterName=cluster,
            principalArn=principal,
            policyArn=policy.arn,
            accessScope=scope,
        )

    def disassociate_access_policy(
        self, region: str, cluster: str, principal: str, policy_arn: str
    ) -> None:
        self._call(
            "eks",
            "disassociate_access_policy",
            region,
            clusterName=cluster,
            principalArn=principal,
            policyArn=policy_arn,
        )

    # ------------------------------------------------------------------ EKS Pod Identity
    def get_pod_identity_association(
        self, region: str, cluster: str, namespace: str, service_account: str
    ) -> LivePodIdentityAssociation | None:
        """``ListPodIdentityAssociations`` filtered to the service account (botocore's
        paginator), then ``Describe…`` for the role, target role and tags the summary lacks."""
        pages = self._paginate(
            "eks",
            "list_pod_identity_associations",
            region,
            clusterName=cluster,
            namespace=namespace,
            serviceAccount=service_account,
        )
        try:
            summaries = [item for page in pages for item in page.get("associations", [])]
        except AwsApiError as error:
            if error.code in NOT_FOUND:  # the cluster is gone, and its associations with it
                return None
            raise
        for summary in summaries:
            if (summary.get("namespace"), summary.get("serviceAccount")) != (
                namespace,
                service_account,
            ):
                continue
            found = self._read(
                "eks",
                "describe_pod_identity_association",
                region,
                clusterName=cluster,
                associationId=summary["associationId"],
            )
            return _association(found["association"]) if found else None
        return None

    def create_pod_identity_association(
        self,
        region: str,
        cluster: str,
        namespace: str,
        service_account: str,
        role_arn: str,
        target_role_arn: str | None,
        tags: Mapping[str, str],
    ) -> None:
        extra: dict[str, Any] = {"targetRoleArn": target_role_arn} if target_role_arn else {}
        self._call(
            "eks",
            "create_pod_identity_association",
            region,
            clusterName=cluster,
            namespace=namespace,
            serviceAccount=service_account,
            roleArn=role_arn,
            **_eks_tags(tags),
            **extra,
        )

    def update_pod_identity_association(
        self,
        region: str,
        cluster: str,
        association_id: str,
        role_arn: str,
        target_role_arn: str | None,
    ) -> None:
        extra: dict[str, Any] = {"targetRoleArn": target_role_arn} if target_role_arn else {}
        self._call(
            "eks",
            "update_pod_identity_association",
            region,
            clusterName=cluster,
            associationId=association_id,
            roleArn=role_arn,
            **extra,
        )

    def delete_pod_identity_association(
        self, region: str, cluster: str, association_id: str
    ) -> None:
        self._call(
            "eks",
            "delete_pod_identity_association",
            region,
            clusterName=cluster,
            associationId=association_id,
        )

    def get_addon(self, region: str, cluster: str, name: str) -> LiveAddon | None:
        found = self._read("eks", "describe_addon", region, clusterName=cluster, addonName=name)
        if found is None:
            return None
        addon = found["addon"]
        return LiveAddon(
            str(addon.get("addonName", name)),
            str(addon.get("status", "")),
            str(addon.get("addonVersion", "")),
        )

    def create_addon(self, region: str, cluster: str, name: str, tags: Mapping[str, str]) -> None:
        self._call(
            "eks",
            "create_addon",
            region,
            clusterName=cluster,
            addonName=name,
            **_eks_tags(tags),
        )

    def wait_addon_active(self, region: str, cluster: str, name: str) -> None:
        what = f"add-on `{name}` of EKS cluster `{cluster}`"
        self._wait("addon_active", region, what, clusterName=cluster, addonName=name)

    def _paginate(
        self, service: str, operation: str, region: str | None, **kw: Any
    ) -> Iterator[Any]:
        """The pages of a list operation through botocore's paginator, errors translated."""
        with self._translated(operation):
            paginator = self.client(service, region).get_paginator(operation)
            yield from paginator.paginate(**kw)

    # --- migrate pod-identity
    def addon_service_account_roles(self, region: str, cluster: str) -> dict[str, str]:
        found: dict[str, str] = {}
        for page in self._paginate("eks", "list_addons", region, clusterName=cluster):
            for name in page.get("addons") or []:
                addon = self.get_addon_role(region, cluster, str(name))
                if addon:
                    found[str(name)] = addon
        return found

    def get_addon_role(self, region: str, cluster: str, name: str) -> str:
        """The add-on's ``serviceAccountRoleArn`` ("" when it has none or is gone)."""
        described = self._read("eks", "describe_addon", region, clusterName=cluster, addonName=name)
        return str(((described or {}).get("addon") or {}).get("serviceAccountRoleArn") or "")

    # --- migrate access-entries
    def update_authentication_mode(self, region: str, cluster: str, mode: str) -> None:
        """``UpdateClusterConfig`` with ``accessConfig``, then ``DescribeUpdate`` until the
        update is ``Successful`` (reference E.1, H.2): backoff up to 30 s, bounded like
        botocore's ``cluster_active`` waiter (20 minutes), each poll told."""
        started = self._call(
            "eks",
            "update_cluster_config",
            region,
            name=cluster,
            accessConfig={"authenticationMode": mode},
        )
        update_id = str(started["update"]["id"])
        look = f"aws eks describe-update --name {cluster} --update-id {update_id} --region {region}"

        def status() -> str:
            found = self._call("eks", "describe_update", region, name=cluster, updateId=update_id)
            return str(found["update"].get("status", ""))

        def told(waited: float) -> None:
            self.progress(
                f"waiting for EKS cluster `{cluster}` to move to {mode} (an asynchronous "
                f"update) ... {waited:.0f} s"
            )

        budget = eventual.Budget(MODE_UPDATE_SECONDS, max_delay=30.0)
        result = eventual.retry_while(status, lambda s: s == "InProgress", budget, told)
        if result.value != "Successful":
            state = "still InProgress" if result.exhausted else result.value
            raise aws_wait.NotReady(
                f"the authentication mode update of EKS cluster `{cluster}` to {mode} is "
                f"{state} after {result.waited:.0f} s; see `{look}`"
            )

    def create_node_access_entry(
        self, region: str, cluster: str, principal: str, entry_type: str, tags: Mapping[str, str]
    ) -> None:
        self._call(
            "eks",
            "create_access_entry",
            region,
            clusterName=cluster,
            principalArn=principal,
            type=entry_type,
            **_eks_tags(tags),
        )


def _association(found: Mapping[str, Any]) -> LivePodIdentityAssociation:
    return LivePodIdentityAssociation(
        association_id=str(found["associationId"]),
        namespace=str(found.get("namespace", "")),
        service_account=str(found.get("serviceAccount", "")),
        role_arn=str(found.get("roleArn", "")),
        target_role_arn=found.get("targetRoleArn") or None,
        tags={str(k): str(v) for k, v in (found.get("tags") or {}).items()},
        owner_arn=found.get("ownerArn") or None,
    )


def _access_policy(item: Mapping[str, Any]) -> AccessPolicy:
    scope = item.get("accessScope") or {}
    namespaces = scope.get("namespaces") if scope.get("type") == "namespace" else None
    return AccessPolicy(item["policyArn"], tuple(namespaces) if namespaces is not None else None)


def _eks_tags(tags: Mapping[str, str]) -> dict[str, Any]:
    """EKS's ``tags`` member, left out when empty: EKS refuses an empty map (its model's
    minimum length is 1)."""
    return {"tags": dict(tags)} if tags else {}


def _tags(items: Any) -> dict[str, str]:
    return {str(item["Key"]): str(item.get("Value", "")) for item in items}


def _tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def _document(value: Any) -> dict[str, Any]:
    """A policy document as IAM returns it: a dict from boto3, or URL-encoded JSON text."""
    if isinstance(value, dict):
        return value
    text = str(value)
    decoded: dict[str, Any] = json.loads(unquote(text) if text.startswith("%7B") else text)
    return decoded
