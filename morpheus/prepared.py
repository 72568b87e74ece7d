"""Hot reads whose SQL the ORM compiles once per process, not on every request.

Django builds and compiles a queryset each time it runs: for the agents page (three
joins, an order, a LIMIT) that is about 1.2 ms of CPU, more than PostgreSQL spends
answering, and `GET /agents` paid it three times (the user, the count, the page).

A `PreparedRead` builds its queryset once per *shape* with marker values in place of the
caller's, compiles it, and remembers where each marker landed in the parameters. Later
calls run that SQL with the caller's values, prepared by the same model field the ORM
would use (`get_db_prep_value`), and convert the columns with the compiler's own
converters, so rows are what `values_list()` would return.

A value given as None is not bound: `build` gets None for it (and must not filter on
it), and that combination compiles as its own shape (`agent_filter(status=None)`).

Only exact-match parameters can be markers (`pk=`, `customer_id=`, `status=`): a lookup
that rewrites its value (`icontains` builds a LIKE pattern, `__in` a list) cannot be
swapped after compiling, so it belongs to the shape or stays on the ORM path. Compiling
refuses a marker it finds rewritten or cannot find. The tests compare every prepared
read with the queryset it replaces (`morpheus/tests/test_prepared.py` and each user's).

    USER = PreparedRead(lambda pk: User.objects.filter(pk=pk).values_list("email"), pk=User._meta.pk)
    USER.rows(pk=user_id)            # [("a@example.com",)]
"""

from __future__ import annotations

import functools
import itertools
import threading
import uuid
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field, Model, QuerySet

M = TypeVar("M", bound=Model)

# Compiled shapes kept per read: page/limit combinations are few in practice, but a client
# walking every offset must not grow a process without bound.
MAX_SHAPES = 256

_serial = itertools.count(1)


def _marker(field: Field[Any, Any]) -> Any:
    """A value of the field's type that no caller sends, unique in this process."""
    target = field.target_field if field.is_relation else field  # a foreign key binds as its target
    n = next(_serial)
    if target.get_internal_type() == "UUIDField":
        return uuid.UUID(int=(0xA5A5_5A5A << 96) + n)
    if target.get_internal_type() in ("AutoField", "BigAutoField", "IntegerField", "BigIntegerField"):
        return 7_300_000_000_000 + n
    return f"\x1eprepared-marker-{n}\x1e"


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, str], ...]  # (position in params, marker name)
    converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Any], ...]


class PreparedRead:
    """`build(**values, **shape)` must return a `values_list()` queryset; `fields` names the
    model field of each marker value (it prepares the caller's value as the ORM would)."""

    def __init__(self, build: Callable[..., QuerySet[Any]], **fields: Field[Any, Any]):
        self._build = build
        self._fields = fields
        self._shapes: dict[tuple[Any, ...], _Compiled] = {}
        self._lock = threading.Lock()

    def rows(
        self, *, using: str = DEFAULT_DB_ALIAS, shape: dict[str, Hashable] | None = None, **values: Any
    ) -> list[tuple[Any, ...]]:
        """The rows for `values` (one per marker field), as `values_list()` returns them."""
        return self._execute(self._compiled(using, shape or {}, values), values, using=using)

    def wrapped(
        self, template: str, *, using: str = DEFAULT_DB_ALIAS, shape: dict[str, Hashable] | None = None, **values: Any
    ) -> list[tuple[Any, ...]]:
        """Raw rows of `template` with `{sql}` replaced by this read's SQL (a COUNT over it)."""
        compiled = self._compiled(using, shape or {}, values)
        return self._execute(compiled, values, using=using, sql=template.replace("{sql}", compiled.sql), convert=False)

    def _execute(
        self, compiled: _Compiled, values: dict[str, Any], *, using: str, sql: str | None = None, convert: bool = True
    ) -> list[tuple[Any, ...]]:
        connection = connections[using]
        params = list(compiled.params)
        for position, name in compiled.slots:  # a slot exists only for a value that is not None
            params[position] = self._fields[name].get_db_prep_value(values[name], connection)
        with connection.cursor() as cursor:
            cursor.execute(sql or compiled.sql, params)
            fetched = cursor.fetchall()
        if not convert or not compiled.converters:
            return fetched
        rows = []
        for row in fetched:
            row = list(row)
            for index, functions, expression in compiled.converters:
                for function in functions:
                    row[index] = function(row[index], expression, connection)
            rows.append(tuple(row))
        return rows

    def _compiled(self, using: str, shape: dict[str, Hashable], values: dict[str, Any]) -> _Compiled:
        if set(values) != set(self._fields):
            raise TypeError(f"expected values for {sorted(self._fields)}, got {sorted(values)}")
        bound = frozenset(name for name, value in values.items() if value is not None)
        key = (using, bound, tuple(sorted(shape.items())))
        found = self._shapes.get(key)
        if found is None:
            found = self._compile(using, shape, bound)
            with self._lock:
                if len(self._shapes) >= MAX_SHAPES:
                    self._shapes.pop(next(iter(self._shapes)))
                self._shapes[key] = found
        return found

    def _compile(self, using: str, shape: dict[str, Hashable], bound: frozenset[str]) -> _Compiled:
        connection = connections[using]
        markers = {name: _marker(self._fields[name]) for name in bound}
        queryset = self._build(**{**dict.fromkeys(self._fields), **markers}, **shape)
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        prepared = {name: self._fields[name].get_db_prep_value(m, connection) for name, m in markers.items()}
        slots = []
        for position, param in enumerate(params):
            names = [name for name, marker in prepared.items() if type(param) is type(marker) and param == marker]
            if names:
                slots.append((position, names[0]))
            elif any(str(marker) in str(param) for marker in prepared.values()):
                raise TypeError(f"a marker was rewritten by its lookup ({param!r}): make it part of the shape")
        missing = set(markers) - {name for _, name in slots}
        if missing:
            raise TypeError(f"markers not found in the compiled parameters: {sorted(missing)}")
        expressions = [column for column, _, _ in compiler.select]
        converters = tuple(
            (index, tuple(functions), expression)
            for index, (functions, expression) in compiler.get_converters(expressions).items()
        )
        return _Compiled(sql=sql, params=tuple(params), slots=tuple(slots), converters=converters)


def instance_from_row(model: type[M], field_names: Sequence[str], values: Sequence[Any]) -> M:
    """A model instance from a prepared read's columns, as the ORM would load it: `values`
    in the order of `field_names` (attnames), the model's other fields deferred (loaded
    when read). `Model.from_db` takes a partial row in the model's field order, whatever
    the order of the names it is given, so the values are put in that order here: a
    read listing its columns in another order would otherwise fill the wrong fields."""
    given = dict(zip(field_names, values, strict=True))
    attnames = _concrete_attnames(model)
    if not given.keys() <= set(attnames):
        raise ValueError(f"{model.__name__} has no columns {sorted(set(given) - set(attnames))}")
    ordered = [name for name in attnames if name in given]
    return model.from_db(DEFAULT_DB_ALIAS, ordered, [given[name] for name in ordered])


@functools.cache
def _concrete_attnames(model: type[Model]) -> tuple[str, ...]:
    return tuple(field.attname for field in model._meta.concrete_fields)
