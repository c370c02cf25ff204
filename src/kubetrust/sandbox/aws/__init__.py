"""The sandbox's AWS endpoint: the gate in front of moto, and the AWS rules it enforces.

``gate`` is the seam every AWS request passes; the service-specific semantics live in
``services/`` (one package per service), the protocol mechanics beside the gate.
"""
