"""Access paths: STS hops as two-sided checks, and (later) Kubernetes identity mapping.

Pure: takes policies and claims, returns decisions. The sandbox enforces with these
functions and explain reports with them, so the two cannot drift apart.
"""
