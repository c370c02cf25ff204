"""Migrations users fear, proven: aws-auth → access entries, IRSA → Pod Identity (issue 15).

Each migration is four steps, each its own module:

- **plan** (pure): what each mapping or service account becomes, and what cannot be carried,
  with the reason and the manual step (:mod:`.access_plan`, :mod:`.pod_identity_plan`);
- **proof** (pure): the world after the plan is built as a
  :class:`~kubetrust.model.topology.Topology` next to the world before, and
  :mod:`.equivalence` computes for every affected principal what it can do in both — AWS
  actions through the chain, Kubernetes verbs on the clusters — with the chain code explain
  uses, and prints the difference (same / gained / lost);
- **apply** through the provisioning ports (:mod:`kubetrust.provision.ports`), every change
  written ahead into a backup (:mod:`.journal`), refused when access would be lost unless
  the user accepts that loss by name, and re-checked against the live state afterwards;
- **rollback** (:mod:`.rollback`): the backup's changes undone in reverse order.

Reads come in as a topology (a snapshot of the live accounts or the sandbox, loaded as
explain loads bundles); writes go out through ports. This package imports no SDK.
"""
