"""EKS authentication for the sandbox's Kubernetes API servers: what aws-iam-authenticator does.

A bearer token ``k8s-aws-v1.<base64url presigned URL>`` (``aws eks get-token``) is checked
in the authenticator's order (reference D.2):

1. the flat guard clauses of :func:`kubetrust.eks_token.check` — size, prefix, base64url, the
   host must be the sandbox's own STS endpoint (the sandbox serves plain HTTP, so ``http``
   is the accepted scheme for it), path ``/``, allowed query parameters only,
   ``Action=GetCallerIdentity``, ``x-k8s-aws-id`` signed, ``X-Amz-Expires`` ≤ 900, and
   15 minutes from ``X-Amz-Date``;
2. the replay: the authenticator sends the URL to STS with header ``x-k8s-aws-id: <its own
   cluster name>``. Here the SigV4 query signature is recomputed in-process against the
   sandbox's credential store with that header — so a token minted for another cluster
   fails exactly as on EKS (the signed header value differs), as do tampered tokens,
   unknown keys and expired sessions. The replay is checked as the sandbox's own STS
   endpoint checks a call (the gate): a scope for a region STS does not serve
   (``xx-fake-9``) or a URL that does not sign ``host`` fails there, so it fails here too
   — the authenticator's guards do not look at either, STS does;
3. the GetCallerIdentity answer (ARN, account, ``UserId``) becomes a
   :class:`~kubetrust.chain.kube_identity.Caller`, mapped by the cluster's authentication
   mode (E.1): the creator's invisible ``system:masters`` (``CONFIG_MAP`` mode, D.3), access
   entries, then the ``aws-auth`` ConfigMap read from the cluster's own store. Mode,
   creator and entries are the EKS access API's (:class:`EksAccess`, given to the
   authenticator by its constructor: the sandbox's one
   :class:`~kubetrust.sandbox.aws.services.eks.api.EksExtras`).

A token that fails any step, or a caller no mapping knows, authenticates nobody: the API
server answers 401, as EKS does for ``ErrNotMapped`` (the webhook's 403 makes the token
unauthenticated). Why is logged at debug level, never the token.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Protocol

from kubetrust import arn as arns
from kubetrust import eks_token, errors
from kubetrust.chain import kube_identity as kid
from kubetrust.model import vocabulary
from kubetrust.model.aws_auth import AwsAuthMap, parse_aws_auth
from kubetrust.sandbox.aws import credentials, sigv4
from kubetrust.sandbox.aws.services.eks import model as eks_model
from kubetrust.sandbox.kube import auth, status
from kubetrust.sandbox.kube.store import Store
from kubetrust.yaml_codec import CODEC

logger = logging.getLogger(__name__)

CONFIGMAPS = "/v1/configmaps"
AWS_AUTH = ("kube-system", "aws-auth")
CREATOR_USERNAME = "kubernetes-admin"
"""[inferred] What ``kubectl auth whoami`` showed for the creator of a ``CONFIG_MAP`` cluster."""


class EksAccess(Protocol):
    """What the authenticator reads of the EKS access API's state, per cluster
    (:class:`~kubetrust.sandbox.aws.services.eks.api.EksExtras` implements it)."""

    def authentication_mode(self, account: str, region: str, cluster: str) -> str | None:
        """``None`` for a cluster that no longer exists."""
        ...

    def creator(self, account: str, region: str, cluster: str) -> eks_model.Principal | None: ...

    def resolve(
        self, account: str, region: str, cluster: str, principal_arn: str, principal_id: str
    ) -> eks_model.AccessEntry | None: ...


@dataclass(frozen=True, slots=True)
class ClusterIdentity:
    """Which cluster this authenticator serves: account, region, name (the token's
    ``x-k8s-aws-id``), and the STS hosts its tokens may name."""

    account: str
    region: str
    name: str
    sts_hosts: Collection[str]


class EksTokenAuthenticator:
    """``(headers) -> User | None`` for EKS tokens (see module doc)."""

    def __init__(
        self,
        cluster: ClusterIdentity,
        access: EksAccess,
        store: Store,
        keys: credentials.CredentialStore,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.cluster = cluster
        self.access = access
        self.store = store
        self.keys = keys
        self.clock = clock
        self._aws_auth: tuple[str, AwsAuthMap] | None = None

    def __call__(self, headers: Mapping[str, str]) -> auth.User | None:
        token = auth.bearer_token(headers)
        if token is None or not token.startswith(eks_token.PREFIX):
            return None
        try:
            caller = self.verify(token)
        except (eks_token.TokenFormatError, sigv4.SignatureError, errors.KubetrustError) as why:
            logger.debug("EKS token refused for cluster %s: %s", self.cluster.name, why)
            return None
        mapped = self.map(caller)
        if isinstance(mapped, kid.NotMapped):
            logger.debug("caller %s not mapped: %s", caller.arn, mapped.reason)
            return None
        groups = tuple(dict.fromkeys((*mapped.groups, auth.AUTHENTICATED)))
        return auth.User(mapped.username, mapped.uid, groups, mapped.extra, mapped.grants)

    # ------------------------------------------------------------------ verification
    def verify(self, token: str) -> kid.Caller:
        """The caller behind a token, or :class:`TokenFormatError` / :class:`SignatureError`."""
        now = self.clock()
        request = eks_token.check(
            token,
            cluster_id=self.cluster.name,
            sts_hosts=self.cluster.sts_hosts,
            now=now,
            schemes=("http",),
        )
        verified = sigv4.verify(
            "GET",
            request.path,
            request.raw_query,
            {"host": request.host, **request.replay_headers()},
            b"",
            self.keys.signing_key,
            now,
            service="sts",
            endpoint=self._sts_endpoint(),
        )
        credential = self.keys.get(verified.access_key_id)
        if credential is None:  # removed between the two lookups
            raise errors.InputError("the access key is no longer known")
        return kid.Caller.from_caller_identity(
            credential.principal_arn,
            account=credential.account,
            user_id=credential.user_id,
            access_key_id=credential.access_key_id,
        )

    def _sts_endpoint(self) -> sigv4.Endpoint:
        """The STS endpoint the token is replayed against, as the gate sees it: the regions
        STS serves in the cluster's partition, and ``host`` must be signed."""
        region = self.cluster.region
        return sigv4.endpoint_for("sts", region, arns.partition_of_region(region))

    # ------------------------------------------------------------------ mapping
    def map(self, caller: kid.Caller) -> kid.KubeIdentity | kid.NotMapped:
        """The caller's Kubernetes identity under the cluster's authentication mode (E.1)."""
        account, region, name = self.cluster.account, self.cluster.region, self.cluster.name
        mode = self.access.authentication_mode(account, region, name)
        if mode is None:
            return kid.NotMapped(f"cluster {name} no longer exists")
        if mode == vocabulary.CONFIG_MAP and self._is_creator(caller):
            return kid.KubeIdentity(
                CREATOR_USERNAME,
                (auth.MASTERS,),
                caller.uid,
                "the cluster creator (CONFIG_MAP mode)",
                caller.extra(),
            )
        entries: tuple[kid.AccessEntryView, ...] = ()
        if mode != vocabulary.CONFIG_MAP:
            entry = self.access.resolve(
                account, region, name, caller.canonical_arn, caller.principal_id
            )
            entries = (access_entry_view(entry),) if entry is not None else ()
        chain = kid.mapper_chain(mode, access_entries=entries, aws_auth=self.aws_auth())
        return kid.map_caller(chain, caller)

    def _is_creator(self, caller: kid.Caller) -> bool:
        cluster = self.cluster
        creator = self.access.creator(cluster.account, cluster.region, cluster.name)
        if creator is None or creator.id != caller.principal_id:
            return False
        return kid.strip_role_path(creator.arn).lower() == caller.canonical_arn.lower()

    def aws_auth(self) -> AwsAuthMap:
        """The mappings of ``kube-system/aws-auth`` as the authenticator keeps them; a
        missing or unreadable ConfigMap maps nobody (D.3)."""
        try:
            configmap = self.store.get(CONFIGMAPS, *AWS_AUTH)
        except status.ApiError:
            return AwsAuthMap()
        version = str(configmap["metadata"].get("resourceVersion"))
        parsed = self._aws_auth
        if parsed is not None and parsed[0] == version:
            return parsed[1]  # parsed once per version of the ConfigMap, not per request
        data = configmap.get("data")
        mapping = AwsAuthMap()
        if isinstance(data, dict):
            mapping, problems = parse_aws_auth(data, CODEC)
            for problem in problems:
                logger.debug("aws-auth %s: %s", problem.path, problem.message)
        self._aws_auth = (version, mapping)
        return mapping


def access_entry_view(entry: eks_model.AccessEntry) -> kid.AccessEntryView:
    """The EKS API's entry as the identity mapper reads it (username ``None``: generated)."""
    return kid.AccessEntryView(
        principal_arn=entry.principal_arn,
        principal_id=entry.principal_id,
        username=entry.username or None,
        kubernetes_groups=entry.kubernetes_groups,
        type=entry.type,
        policies=tuple(
            (policy.policy_arn, policy.scope.type, policy.scope.namespaces)
            for policy in entry.policies
        ),
    )


def sts_hosts(endpoint: str) -> tuple[str, ...]:
    """The hosts a client may put in a token for the sandbox's STS endpoint
    ``http://127.0.0.1:<port>``: the address itself and ``localhost:<port>``."""
    host = endpoint.split("://", 1)[-1].rstrip("/")
    port = host.rpartition(":")[2]
    return (host, f"localhost:{port}", f"127.0.0.1:{port}")
