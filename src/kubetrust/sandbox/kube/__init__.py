"""A Kubernetes API server subset for sandbox EKS clusters, good enough for real kubectl.

Serving: ``api`` is the WSGI app (discovery, CRUD, patch, watches, subresources, reviews),
``routing`` parses paths, ``params`` query parameters, ``bodies`` decodes request bodies
(``protowire`` the protobuf kubectl posts), ``patch`` applies the three PATCH flavours,
``discovery`` serves the discovery documents, ``tables`` the ``Table`` view of
``kubectl get``, ``selectors`` parses label selectors, ``status`` holds the ``Status``
errors, ``watch`` streams changes, ``subresources`` serves ``status``/``scale``, ``tokens``
TokenRequest and TokenReview, ``reviews`` the self reviews, ``server`` serves the app over
TLS on loopback with a certificate from the sandbox CA.
Identity: ``auth`` holds the authentication and authorization hooks and the types they
share (the sandbox plugs its authenticators and RBAC in; tests plug their own), ``sa_tokens``
the service-account token authenticator, ``impersonation`` the ``Impersonate-*`` headers,
``rbac``/``bootstrap`` RBAC and its default roles, ``escalation`` RBAC's escalation checks.
Objects: ``store`` holds them, ``resources`` says which kinds exist, ``schema``,
``defaults`` and ``validation`` are the apiserver's decoding, defaulting and validation.
The cluster around them: ``cluster`` is the write path (admission, controllers),
``admission`` the ServiceAccount plugin, ``irsa`` the EKS pod identity webhook (its
``pod_identity_webhook`` branch first, for service accounts with a Pod Identity association),
``controllers`` the Deployment and ReplicaSet controllers (they see the cluster through
their ``ControlledCluster`` protocol, so they do not import ``cluster``), ``kubelet`` the
scheduler and kubelet, ``workloads`` the kube-system workloads of a new EKS cluster.
"""
