"""Pickle the model's frozen, slotted dataclasses as their field values, cheaply both ways.

What a forked bundle load (:mod:`kubetrust.explain.bundle_parallel`) sends back is a million
small frozen dataclasses (roles, parsed policy documents, statements). Their default pickling
is slow on both sides: ``dataclass(frozen=True, slots=True)`` pickles through
``__getstate__``/``__setstate__`` written in Python, which walk ``dataclasses.fields`` for every
object and set each field with ``object.__setattr__``. Measured on 1,000 accounts' worth of
roles: pickling cost about 60% of parsing them, which ate most of what a second core gave.

So a dataclass whose whole state is its slots travels as ``(class, field values)``: dumping
reads the values with one :func:`operator.attrgetter`, loading creates the object with
``object.__new__`` and sets each slot through its member descriptor (the C setter the frozen
``__setattr__`` would end at), in straight-line code made once per class
(:func:`kubetrust.policy.slotted.restorer`). That is the exact state, every slot including
``init=False`` ones, and neither ``__init__`` nor ``__post_init__`` runs again: the object
is equal to the one pickled and of the same class. Anything else (enums, dicts, plain
classes, dataclasses with a ``__dict__``) pickles as usual. Pickle's memo still shares an
object met twice (one interned document behind many roles stays one object).

Only for data this process family wrote itself: unpickling runs code named in the data.
"""

from __future__ import annotations

import dataclasses
import operator
import pickle
from collections.abc import Callable
from typing import IO, Any

from kubetrust.policy import slotted

_Layout = tuple[Callable[[Any], tuple[Any, ...]], Callable[..., Any]]

_LAYOUTS: dict[type, _Layout | None] = {}
"""Per class: how to read its field values and how to make an object holding them
(:func:`kubetrust.policy.slotted.restorer`); ``None`` for a class that pickles as usual."""


def _layout(cls: type) -> _Layout | None:
    if cls in _LAYOUTS:
        return _LAYOUTS[cls]
    found: _Layout | None = None
    if dataclasses.is_dataclass(cls) and cls.__bases__ == (object,):
        names = tuple(field.name for field in dataclasses.fields(cls))
        if names and tuple(cls.__dict__.get("__slots__", ())) == names:
            getter = operator.attrgetter(*names)
            read = getter if len(names) > 1 else (lambda value: (getter(value),))
            found = (read, slotted.restorer(cls))
    _LAYOUTS[cls] = found
    return found


def rebuild(cls: type, values: tuple[Any, ...]) -> Any:
    """The object of ``cls`` whose slots hold ``values`` (what :class:`_Pickler` wrote)."""
    layout = _layout(cls)
    if layout is None:  # the data names a class this module did not write
        raise pickle.UnpicklingError(f"{cls.__qualname__} is not a slotted dataclass")
    return layout[1](*values)


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        """Called for objects of other than the built-in types (``pickle`` docs)."""
        layout = _layout(type(obj))
        if layout is None:
            return NotImplemented
        return rebuild, (type(obj), layout[0](obj))


def dump(value: object, file: IO[bytes]) -> None:
    """Pickle ``value`` into ``file`` (module doc)."""
    _Pickler(file, protocol=pickle.HIGHEST_PROTOCOL).dump(value)


def load(file: IO[bytes]) -> Any:
    """What :func:`dump` wrote."""
    return pickle.load(file)


__all__ = ["dump", "load", "rebuild"]
