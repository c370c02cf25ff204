"""The sandbox: a local multi-account AWS + EKS world on loopback that enforces like AWS.

moto (with its own auth off) holds API state and wire formats; the gate in front of it
verifies SigV4, resolves the caller, authorizes every request with :mod:`kubetrust.policy`
through the hop logic of :mod:`kubetrust.chain`, and implements STS itself.

Where to find a rule (one package per side, one module per service or concept):

``aws/``      the AWS endpoint. ``gate`` is the one enforcement seam (authenticate, identify,
              authorize, forward); ``request`` what the gate reads off the wire, ``sigv4/``
              Signature Version 4, ``credentials`` the access keys it honours, ``identity`` a
              key's holder and the policies that bind them (through :mod:`kubetrust.chain.parties`,
              as explain does), ``authorize`` the policy engine's verdict per action,
              ``forward`` the hand-over to moto, ``params`` the models' parameter checks,
              ``policy_writes`` what IAM and S3 check when a policy is written (and the
              principal bindings of stored documents), ``state`` the world read out of moto
              (and which accounts this sandbox owns in the process), ``wire`` AWS's error
              formats, ``operations/`` from an HTTP request to the operation and its
              authorizations (``query_protocol`` reads STS's and IAM's form); under realism
              (:mod:`.world_realism`): ``propagation`` (what STS, the authorizer, the key
              store and EKS see of IAM's recent changes), ``throttle`` (token buckets per
              account and API), ``paging`` (IAM lists paged as AWS pages them).
``aws/services/``  one package per AWS service and its own semantics, each with ``actions``
              (the IAM actions, resources and condition keys of its calls): ``sts/`` (STS
              itself: ``api`` the actions, ``params`` its parameter rules), ``iam/``
              (``conflicts``, ``reads``, ``user_boundaries``: what moto drops), ``s3/``,
              ``eks/`` (``api``: the access-entry API moto lacks, with ``entries``,
              ``policies``, ``modes``, ``principals``, ``model``; ``pod_identity``,
              ``addons``; asynchronous EKS: ``lifecycle`` (statuses computed from the clock),
              ``timed_cluster`` (moto's cluster as DescribeCluster shows it meanwhile),
              ``updates`` (UpdateClusterConfig/Version, DescribeUpdate, ListUpdates)),
              ``eks_auth/`` (``AssumeRoleForPodIdentity``).
``oidc/``     OIDC: a cluster's issuer (``issuer``) and STS's verification of web-identity
              tokens (``verifier``, ``fetch``, ``errors``); the checks before the trust policy
              are :mod:`kubetrust.chain.web_identity`, shared with explain.
``eks/``      the EKS control plane: ``clusters`` (what each cluster gets: issuer, CA,
              endpoint), ``control_plane`` (one Kubernetes API server per cluster, started as
              moto creates the cluster), ``token_auth`` (EKS token authentication, as
              aws-iam-authenticator does it), ``pod_identity_agent`` (the nodes' EKS Pod
              Identity Agent, on loopback), ``nodes`` (each cluster's node group and
              instance role), ``imds`` (the nodes' instance metadata service, on loopback).
              The AWS side and ``kube/`` meet only here.
``kube/``     the Kubernetes API server itself (its own map in ``kube/__init__``).
``pod/``      running a command as if inside a pod (``kubetrust sandbox exec``).
``runtime/``  the process: ``server`` (the wiring: every component is built there and handed
              what it needs), ``process`` (foreground or detached, found by its state directory).
``client/``   what a client of a running sandbox uses: ``state`` (the state file's format),
              ``handle`` (one typed handle: endpoint, CA, admin keys, env, kubeconfigs, EKS
              tokens), ``access`` (cluster clients, a pod's volumes). Imports no server part.
``world`` / ``world_realism`` / ``world_org``  the world file: accounts, region, clusters
              and their nodes, AWS's timing (realism), organization.
``host/``     what every listener stands on: HTTP/1.1 serving (``http``) and the private CA
              (``pki``). The bottom layer.

The inner layers (import-linter, ``pyproject.toml``): ``runtime`` > ``eks | client | pod`` >
``aws | kube`` > ``oidc`` > ``world`` > ``world_realism`` > ``world_org`` > ``host``.
"""
