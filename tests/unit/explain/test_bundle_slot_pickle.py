"""The load child's transfer format (``kubetrust.explain.slot_pickle``): what comes back is
equal to what was sent, of the same classes, shared where it was shared; what it does not
know pickles as usual; data naming another class is refused."""

from __future__ import annotations

import io
import pickle
import sys
from dataclasses import dataclass, fields
from pathlib import Path

import pytest

from kubetrust.explain import bundle, slot_pickle
from kubetrust.model.iam import Role

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
import synthetic_org


def _round_trip(value: object) -> object:
    buffer = io.BytesIO()
    slot_pickle.dump(value, buffer)
    buffer.seek(0)
    return slot_pickle.load(buffer)


@pytest.fixture(scope="module")
def topology_parts(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, ...]:
    shape = synthetic_org.Shape(accounts=12, roles=20, ci=2, cluster_every=5)
    root = synthetic_org.write(shape, tmp_path_factory.mktemp("org") / "bundle")
    topology = bundle.load_bundle([root])
    return (
        list(topology.accounts.values()),
        [provider for found in topology.providers.values() for provider in found],
        list(topology.clusters),
        dict(topology.org),
        list(topology.problems),
    )


def test_a_loaded_organization_comes_back_equal(topology_parts: tuple[object, ...]) -> None:
    back = _round_trip(topology_parts)
    assert back == topology_parts
    accounts = topology_parts[0]
    assert isinstance(accounts, list) and isinstance(back, tuple)
    for sent, received in zip(accounts, back[0], strict=True):
        for name, role in sent.roles.items():
            copy = received.roles[name]
            assert type(copy) is Role
            # fields left out of equality travel too
            assert all(
                getattr(copy, field.name) == getattr(role, field.name) for field in fields(Role)
            )


def test_shared_documents_stay_shared(topology_parts: tuple[object, ...]) -> None:
    accounts = topology_parts[0]
    assert isinstance(accounts, list)
    roles = [role for account in accounts for role in account.roles.values() if role.trust]
    by_text: dict[str, list[Role]] = {}
    for role in roles:
        by_text.setdefault(role.trust_text, []).append(role)
    text, same = max(by_text.items(), key=lambda item: len(item[1]))
    assert len(same) > 1 and all(role.trust is same[0].trust for role in same), text
    back = _round_trip(same)
    assert isinstance(back, list)
    assert all(role.trust is back[0].trust for role in back)


@dataclass(frozen=True)
class _WithDict:
    value: int


@dataclass(frozen=True, slots=True)
class _Slotted:
    value: int
    note: str = "x"


def test_other_objects_pickle_as_usual() -> None:
    value = {"dict": _WithDict(3), "slotted": _Slotted(4, "y"), "plain": (1, "a", None)}
    assert _round_trip(value) == value


def test_rebuild_refuses_a_class_without_slot_state() -> None:
    with pytest.raises(pickle.UnpicklingError, match="not a slotted dataclass"):
        slot_pickle.rebuild(_WithDict, (1,))
    assert slot_pickle.rebuild(_Slotted, (5, "z")) == _Slotted(5, "z")
    with pytest.raises(TypeError):  # a value missing: never a half-built object
        slot_pickle.rebuild(_Slotted, (5,))
