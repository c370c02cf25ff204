"""What a client of a running sandbox uses; imports nothing of the server side.

``state``   the state file ``sandbox.json``: its format (the server writes it with
            :meth:`~state.SandboxState.write`) and how to find a running sandbox.
``handle``  :func:`~handle.connect`: one typed handle on a running sandbox (endpoint, CA,
            administrators, their aws environment, kubeconfigs, EKS tokens).
``access``  an administrator's kubeconfig, the exec plugin's ExecCredential, a small
            Kubernetes API client and the pod volumes ``sandbox exec`` reads through it.
EKS tokens are presigned by :mod:`kubetrust.eks_presign`, shared with ``kubetrust.adapters``.
"""
