"""``kubetrust migrate``: aws-auth → access entries, IRSA → Pod Identity, and rollback."""

from __future__ import annotations

import click

from kubetrust.cli import migrate_access, migrate_pod_identity, migrate_rollback


@click.group()
def migrate() -> None:
    """Move a cluster's access to access entries, or its workloads to Pod Identity, and
    prove that every principal keeps exactly the access it had.

    Without --apply each command prints its plan and the proof and changes nothing. With
    --apply it refuses a migration that would lose access (unless --accept-loss names who
    may lose it), writes a backup first, applies, and re-checks the live state.

    \b
    Examples:
      kubetrust migrate access-entries --cluster target-cluster --account 222222222222 --sandbox
      kubetrust migrate pod-identity -f examples/seed.yaml --sandbox --apply
      kubetrust migrate rollback --backup kubetrust-backups/migrate-...
    """


migrate.add_command(migrate_access.access_entries)
migrate.add_command(migrate_pod_identity.pod_identity)
migrate.add_command(migrate_rollback.rollback)
