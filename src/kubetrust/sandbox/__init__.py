"""The sandbox: a local multi-account AWS + EKS world on loopback that enforces like AWS.

moto (with its own auth off) holds API state and wire formats; the gate in front of it
verifies SigV4, resolves the caller, authorizes every request with :mod:`kubetrust.policy`
through the hop logic of :mod:`kubetrust.chain`, and implements STS itself.

Where to find a rule (one package per side, one module per service or concept):

``aws/``      the AWS endpoint. ``gate`` is the one enforcement seam (authenticate, identify,
              authorize, forward); ``request`` what the gate reads off the wire, ``sigv4/``
              Signature Version 4, ``credentials`` the access keys it honours, ``identity`` a
              key's holder and the policies that bind them, ``authorize`` the policy engine's
              verdict per action, ``forward`` the hand-over to moto, ``params`` the models'
              parameter checks, ``policy_writes`` what IAM and S3 check when a policy is
              written, ``state`` the world read out of moto, ``wire`` AWS's error formats,
              ``operations/`` from an HTTP request to the operation and its authorizations.
``aws/services/``  one package per AWS service and its own semantics: ``sts/`` (STS itself:
              ``api`` the actions, ``params`` its parameter rules), ``iam/`` (``conflicts``,
              ``reads``), ``s3/`` and ``eks/`` (``actions``: the IAM actions, resources and
              condition keys of their calls; ``eks/`` also the access-entry API moto lacks),
              ``query`` the query-protocol action mapping STS and IAM share.
``oidc/``     OIDC: a cluster's issuer (``issuer``) and STS's verification of web-identity
              tokens (``verifier``, ``fetch``, ``errors``).
``eks/``      the EKS control plane: ``clusters`` (what each cluster gets: issuer, CA,
              endpoint), ``control_plane`` (one Kubernetes API server per cluster),
              ``token_auth`` (EKS token authentication, as aws-iam-authenticator does it).
``kube/``     the Kubernetes API server itself (its own map in ``kube/__init__``).
``pod/``      running a command as if inside a pod (``kubetrust sandbox exec``).
``runtime/``  the process: ``server`` (wiring and listeners), ``process`` (foreground or
              detached, found by its state directory), ``http`` (HTTP/1.1 serving), ``pki``.
``client/``   what a client of a running sandbox uses (EKS tokens, admin kubeconfigs).
``world`` / ``world_org``  the world file: accounts, region, clusters, organization.
"""
