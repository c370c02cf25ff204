"""The in-process Kubernetes API server's fixtures (``tests/support/kube_appkit.py``)."""

import kube_appkit

issuer = kube_appkit.issuer
app = kube_appkit.app
