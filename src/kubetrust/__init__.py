"""kubetrust: cross-account access for Kubernetes workloads on AWS, real, provable, testable.

The public Python surface is deliberately small; see ``kubetrust.policy`` for the engine.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
