"""kubetrust: cross-account access for Kubernetes workloads on AWS, real, provable, testable.

The public Python surface is deliberately small; see ``kubetrust.policy`` for the engine.

``__version__`` is the one version: the package metadata reads it (``[tool.hatch.version]``
in ``pyproject.toml``), ``kubetrust --version`` shows it, and ``CHANGELOG.md`` describes it.
"""

__version__ = "0.6.0.dev0"
__all__ = ["__version__"]
