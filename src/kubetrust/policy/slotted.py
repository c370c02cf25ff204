"""Build frozen, slotted dataclasses at half the cost of their generated ``__init__``.

Loading a 10,000-account organization builds millions of small immutable values (a
:class:`~kubetrust.policy.document.Statement` per statement, a document per policy, a role per
role). A ``dataclass(frozen=True, slots=True)`` sets each field in its generated ``__init__``
through ``object.__setattr__(self, name, value)`` — the frozen class forbids plain assignment —
which looks the name up again for every field of every object: about 2 µs for a statement,
measurably much of a load (``benchmarks/scale.py``).

:func:`constructor` gives a function that takes every field's value in field order, creates
the object with ``object.__new__`` and stores each value through its slot's member descriptor
(what ``object.__setattr__`` ends at): the same object, equal to what ``__init__`` makes, in
about half the time (straight-line code generated once per class, as ``dataclasses`` does for
``__init__``). It is only for classes whose whole state is their slots and whose
``__init__`` does nothing else (no ``__post_init__``, no ``init=False`` field, no base class):
:func:`constructor` refuses any other class, so a later change to such a class fails loudly at
import instead of building an object ``__init__`` would not.

Callers pass every value, defaults included (nothing is filled in).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def constructor(cls: type[T]) -> Callable[..., T]:
    """A function ``(*values) -> cls`` taking every field's value, in field order, and no
    keyword (module doc).

    Raises :class:`TypeError` for a class it cannot build exactly as ``__init__`` does."""
    return _setter_function(cls, _field_names(cls))


def restorer(cls: type[T]) -> Callable[..., T]:
    """A function ``(*values) -> cls`` storing every slot's value, in field order: an
    object's exact state brought back (``init=False`` fields included, ``__post_init__`` not
    run again), as unpickling a copy of an object needs
    (:mod:`kubetrust.explain.slot_pickle`).

    Raises :class:`TypeError` for a class whose state is not exactly its slots."""
    return _setter_function(cls, _slot_names(cls))


def _setter_function(cls: type[T], names: tuple[str, ...]) -> Callable[..., T]:
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    for number, name in enumerate(names):
        namespace[f"_set{number}"] = cls.__dict__[name].__set__
    # Straight-line code, as dataclasses writes ``__init__``: a loop over the setters would
    # cost about as much as the ``__init__`` it replaces. Parameters are numbered, so no
    # field name can clash with the names the code uses.
    parameters = ", ".join(f"v{number}" for number in range(len(names)))
    body = "".join(f"    _set{number}(made, v{number})\n" for number in range(len(names)))
    function = f"new_{cls.__name__}"
    source = f"def {function}({parameters}):\n    made = _new(_cls)\n{body}    return made\n"
    exec(source, namespace)  # the source above: no outside text in it
    made: Callable[..., T] = namespace[function]
    return made


def _slot_names(cls: type) -> tuple[str, ...]:
    if not dataclasses.is_dataclass(cls) or cls.__bases__ != (object,):
        raise TypeError(f"{cls.__qualname__} is not a dataclass without base classes")
    names = tuple(field.name for field in dataclasses.fields(cls))
    if tuple(cls.__dict__.get("__slots__", ())) != names:
        raise TypeError(f"{cls.__qualname__}'s state is not exactly its slots")
    return names


def _field_names(cls: type) -> tuple[str, ...]:
    names = _slot_names(cls)
    if hasattr(cls, "__post_init__") or not all(f.init for f in dataclasses.fields(cls)):
        raise TypeError(f"{cls.__qualname__}.__init__ does more than set its fields")
    return names


__all__ = ["constructor", "restorer"]
