"""EKS Auth (``eks-auth``): ``AssumeRoleForPodIdentity``, the call the Pod Identity agent
makes for a pod's credentials (reference F.3): ``actions`` its IAM authorization, ``api``
the call itself, ``errors`` its error table."""
