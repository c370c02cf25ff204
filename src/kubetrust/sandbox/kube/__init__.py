"""A Kubernetes API server subset for sandbox EKS clusters, good enough for real kubectl.

``store`` holds the objects, ``resources`` says which kinds exist, ``api`` is the WSGI app
(discovery, CRUD, patch, self reviews), ``auth`` the authentication and authorization hooks,
``server`` serves the app over TLS on loopback with a certificate from the sandbox CA.
"""
