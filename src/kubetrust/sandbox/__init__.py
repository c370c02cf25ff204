"""The sandbox: a local multi-account AWS + EKS world on loopback that enforces like AWS.

moto (with its own auth off) holds API state and wire formats; the gate in front of it
verifies SigV4, resolves the caller, authorizes every request with :mod:`kubetrust.policy`
through the hop logic of :mod:`kubetrust.chain`, and implements STS itself.
"""
