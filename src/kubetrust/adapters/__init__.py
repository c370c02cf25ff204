"""Adapters: the provisioning ports on real SDKs (boto3, the kubernetes client).

The only package that talks to AWS and Kubernetes APIs for provisioning. It translates SDK
errors into kubetrust errors at its boundary (:class:`AwsApiError`, :class:`KubeApiError`),
so that nothing above it catches a botocore or kubernetes exception.
"""

from kubetrust.adapters.aws import AwsAccess, AwsApiError, BotoAwsPort, session
from kubetrust.adapters.factory import PortFactory
from kubetrust.adapters.kube import KubeApiError, KubernetesPort
from kubetrust.adapters.token import eks_bearer_token

__all__ = [
    "AwsAccess",
    "AwsApiError",
    "BotoAwsPort",
    "KubeApiError",
    "KubernetesPort",
    "PortFactory",
    "eks_bearer_token",
    "session",
]
