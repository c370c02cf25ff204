"""EKS's timing as time-based values (reference H.2), with a fake clock: cluster status,
updates, add-on status, the data plane's delayed view, and moto's cluster re-classed to
follow its timeline."""

from __future__ import annotations

import math

from moto.eks.models import Cluster

from kubetrust.sandbox.aws.services.eks import lifecycle, timed_cluster
from kubetrust.sandbox.aws.services.eks.lifecycle import (
    ClusterTimeline,
    DelayedView,
    Update,
    addon_status,
)


def _update(created: float, done: float, **changes: object) -> Update:
    return Update(
        "u-" + str(created), "VersionUpdate", (("Version", "1.31"),), created, done, changes
    )


def test_cluster_is_creating_until_active_then_updating_while_an_update_runs() -> None:
    timeline = ClusterTimeline(active_at=10.0)
    assert timeline.status(0.0) == "CREATING" and timeline.creating(9.99)
    assert timeline.status(10.0) == "ACTIVE" and not timeline.creating(10.0)
    timeline.updates.append(_update(20.0, 25.0))
    assert timeline.status(20.0) == "UPDATING"
    assert timeline.in_progress(24.9) is timeline.updates[0]
    assert timeline.status(25.0) == "ACTIVE" and timeline.in_progress(25.0) is None


def test_an_untimed_cluster_is_active_since_ever() -> None:
    assert ClusterTimeline().status(-1e12) == "ACTIVE"


def test_an_update_changes_its_attributes_only_when_it_succeeds() -> None:
    timeline = ClusterTimeline()
    timeline.updates.append(_update(0.0, 5.0, version="1.31"))
    timeline.updates.append(_update(6.0, 8.0, version="1.32"))
    assert timeline.effective("version", "1.30", 4.9) == "1.30"
    assert timeline.effective("version", "1.30", 5.0) == "1.31"
    assert timeline.effective("version", "1.30", 8.0) == "1.32"
    assert timeline.effective("logging", {"x": 1}, 100.0) == {"x": 1}


def test_zero_seconds_is_done_when_asked_and_the_answer_still_says_in_progress() -> None:
    update = _update(3.0, 3.0)
    assert update.status(3.0) == "Successful"
    wired = update.to_wire(lifecycle.IN_PROGRESS)
    assert wired == {
        "id": "u-3.0",
        "status": "InProgress",
        "type": "VersionUpdate",
        "params": [{"type": "Version", "value": "1.31"}],
        "createdAt": 3.0,
        "errors": [],
    }


def test_addon_is_creating_for_its_creation_time() -> None:
    assert addon_status(100.0, 5.0, 104.9) == "CREATING"
    assert addon_status(100.0, 5.0, 105.0) == "ACTIVE"
    assert addon_status(100.0, 0.0, 100.0) == "ACTIVE"


def test_delayed_view_shows_the_last_value_old_enough() -> None:
    view: DelayedView[dict[str, int]] = DelayedView(2.0, {})
    view.record(10.0, {"a": 1})
    view.record(11.0, {"a": 1, "b": 2})
    assert view.latest == {"a": 1, "b": 2}
    assert view.seen(11.9) == {}
    assert view.seen(12.0) == {"a": 1}
    assert view.seen(13.0) == {"a": 1, "b": 2}
    view.record(20.0, {})  # a delete reaches the reader late too
    assert view.seen(21.0) == {"a": 1, "b": 2}
    assert view.seen(22.0) == {}


def test_delayed_view_without_delay_is_immediate_and_keeps_no_history() -> None:
    view: DelayedView[str] = DelayedView(0.0, "first")
    view.record(5.0, "second")
    view.record(5.0, "third")
    assert view.seen(5.0) == "third"
    view.record(-math.inf, "fourth")  # what a cluster is made with: visible whenever
    assert view.latest == "fourth"


def _moto_cluster() -> Cluster:
    cluster = Cluster(
        name="c",
        role_arn="arn:aws:iam::111111111111:role/r",
        resources_vpc_config={"subnetIds": []},
        account_id="111111111111",
        region_name="us-east-1",
        aws_partition="aws",
        version="1.30",
    )
    cluster.endpoint = "https://127.0.0.1:1234"
    return cluster


def test_timed_cluster_hides_endpoint_ca_and_issuer_while_creating() -> None:
    now = [0.0]
    cluster = _moto_cluster()
    timed_cluster.make_timed(cluster, ClusterTimeline(active_at=10.0), lambda: now[0])
    assert cluster.status == "CREATING" and not cluster.is_active
    assert cluster.endpoint is None
    assert cluster.certificate_authority == {}
    assert cluster.identity is None
    now[0] = 10.0
    assert cluster.status == "ACTIVE" and cluster.is_active
    assert cluster.endpoint == "https://127.0.0.1:1234"
    assert cluster.certificate_authority["data"]
    assert cluster.identity is not None


def test_timed_cluster_shows_an_updated_version_after_the_update() -> None:
    now = [0.0]
    cluster = _moto_cluster()
    timed_cluster.make_timed(cluster, ClusterTimeline(), lambda: now[0])
    timed_cluster.timeline_of(cluster).updates.append(_update(0.0, 5.0, version="1.31"))
    assert (cluster.status, cluster.version) == ("UPDATING", "1.30")
    now[0] = 5.0
    assert (cluster.status, cluster.version) == ("ACTIVE", "1.31")
    cluster.status = "ACTIVE"  # moto's writes of its constant change nothing
    cluster.version = "1.29"  # a base write (moto's own updates) stays below the update's
    assert cluster.version == "1.31"
