"""``kubetrust demo``: the seed's cross-account chain, end to end, on a local sandbox.

The demo is the project's main job (issue 5, item 5) and its proof for a newcomer: it starts
a sandbox with the seed's two accounts and clusters, applies the seed's spec with the
provisioner, deploys the seed's test pod with kubectl, runs the seed's checks from inside that
pod with the real aws CLI and kubectl, shows that a second service account is denied, audits
what was applied, and stops the sandbox. Every step is a command a user could type
(``kubetrust sandbox ...``, ``kubetrust apply``, ``kubectl``, ``aws``), run as a subprocess
with a private ``HOME``, so the demo exercises the same surfaces users do and never touches
their ``~/.aws`` or ``~/.kube``.

``--federation pod-identity`` (:mod:`kubetrust.demo.flow_pod_identity`) runs the same proof
with EKS Pod Identity and a target role: no OIDC provider, no AWS config in the pod.

It sits at the CLI's level (it drives the other commands and imports the sandbox's process
control), so nothing below ``kubetrust.cli`` may import it.
"""

from __future__ import annotations

from kubetrust.demo.flow import Options, run_demo
from kubetrust.demo.model import Link, Report, Step, Verdict

__all__ = ["Link", "Options", "Report", "Step", "Verdict", "run_demo"]
