"""The sandbox's EKS control plane: what each cluster is given (``clusters``), its Kubernetes
API server (``control_plane``) and how EKS tokens authenticate there (``token_auth``)."""
