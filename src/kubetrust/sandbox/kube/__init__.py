"""A Kubernetes API server subset for sandbox EKS clusters, good enough for real kubectl.

Serving: ``api`` is the WSGI app (discovery, CRUD, patch, watches, subresources, reviews),
``routing`` parses paths, ``bodies`` decodes request bodies, ``watch`` streams changes,
``subresources`` serves ``status``/``scale``, ``tokens`` TokenRequest and TokenReview,
``server`` serves the app over TLS on loopback with a certificate from the sandbox CA.
Identity: ``auth`` holds the authentication and authorization hooks, ``sa_tokens`` the
service-account token authenticator, ``rbac``/``bootstrap`` RBAC and its default roles.
Objects: ``store`` holds them, ``resources`` says which kinds exist, ``schema``,
``defaults`` and ``validation`` are the apiserver's decoding, defaulting and validation.
The cluster around them: ``cluster`` is the write path (admission, controllers),
``admission`` the ServiceAccount plugin, ``irsa`` the EKS pod identity webhook,
``controllers`` the Deployment and ReplicaSet controllers, ``kubelet`` the scheduler and
kubelet, ``workloads`` the kube-system workloads of a new EKS cluster.
"""
