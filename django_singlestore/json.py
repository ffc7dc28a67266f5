"""JSONField SQL in SingleStore's dialect, attached ONLY for this vendor.

Each rendering is an ``as_singlestore`` method on Django's own expression classes. Django's
compiler calls ``as_<vendor>`` for the connection it compiles for, so PostgreSQL, MySQL and
SQLite connections in the same process never see these (upstream instead registered lookups on
``JSONField`` itself, changing every backend's queries).

SingleStore addresses JSON with key arguments, not ``$.a`` paths: ``JSON_EXTRACT_JSON(doc, 'a',
0)`` is key ``a`` then array index 0; a missing path yields NULL.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import NotSupportedError
from django.db.models import Value, lookups
from django.db.models.expressions import ExpressionList
from django.db.models.fields import json as json_fields
from django.db.models.functions import JSONObject

from django_singlestore.versions import DJANGO_6_1

KeyTransform = json_fields.KeyTransform


def _key_args(keys: list[str]) -> tuple[str, list[Any]]:
    """Placeholders and params for a key path; integer-looking keys are array indexes.

    A negative index raises NotSupportedError with Django's message (features'
    ``supports_json_negative_indexing`` is False): JSON_EXTRACT_<type> would quietly find
    nothing.
    """
    params: list[Any] = []
    for key in keys:
        try:
            index = int(key)
        except ValueError:
            params.append(key)
            continue
        if index < 0:
            raise NotSupportedError(
                "Using negative JSON array indices is not supported on this database backend."
            )
        params.append(index)
    return ", ".join(["%s"] * len(params)), params


def _extract(function: str, transform: KeyTransform, compiler: Any, connection: Any):
    lhs, params, keys = transform.preprocess_lhs(compiler, connection)
    placeholders, key_params = _key_args(keys)
    return f"{function}({lhs}, {placeholders})", (*params, *key_params)


def _compact(value: Any) -> Any:
    """JSON text in the compact form JSON_EXTRACT_JSON returns, for equality comparisons."""
    if not isinstance(value, str):
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return json.dumps(decoded, separators=(",", ":"), ensure_ascii=False)


def key_transform(self: KeyTransform, compiler: Any, connection: Any):
    return _extract("JSON_EXTRACT_JSON", self, compiler, connection)


def key_text_transform(self: KeyTransform, compiler: Any, connection: Any):
    return _extract("JSON_EXTRACT_STRING", self, compiler, connection)


def _paths(lookup: json_fields.HasKeyLookup, compiler: Any, connection: Any):
    """``(doc_sql, doc_params, keys)`` for each key a has_key lookup asks about."""
    if isinstance(lookup.lhs, KeyTransform):
        doc, doc_params, prefix = lookup.lhs.preprocess_lhs(compiler, connection)
    else:
        doc, doc_params = lookup.process_lhs(compiler, connection)
        prefix = []
    wanted = lookup.rhs if isinstance(lookup.rhs, (list, tuple)) else [lookup.rhs]
    for key in wanted:
        if isinstance(key, KeyTransform):
            *_, keys = key.preprocess_lhs(compiler, connection)
        else:
            keys = [key]
        yield doc, doc_params, [*prefix, *keys]


def has_key(self: json_fields.HasKeyLookup, compiler: Any, connection: Any):
    """has_key / has_keys / has_any_keys: JSON_MATCH_ANY_EXISTS for each key path."""
    parts, params = [], []
    for doc, doc_params, keys in _paths(self, compiler, connection):
        placeholders, key_params = _key_args(keys)
        # A final key is always an object key, even when it looks like a number.
        key_params[-1] = str(keys[-1])
        parts.append(f"JSON_MATCH_ANY_EXISTS({doc}, {placeholders})")
        params.extend([*doc_params, *key_params])
    if self.logical_operator:
        return f"({self.logical_operator.join(parts)})", tuple(params)
    return parts[0], tuple(params)


def key_is_null(self: json_fields.KeyTransformIsNull, compiler: Any, connection: Any):
    """``key__isnull=True``: the document is NULL or lacks the key (a JSON null value still
    counts as present), as on Django's other backends; ``False`` is ``has_key``."""
    sql, params = _extract("JSON_MATCH_ANY_EXISTS", self.lhs, compiler, connection)
    if not self.rhs:
        return sql, params
    doc, doc_params, _ = self.lhs.preprocess_lhs(compiler, connection)
    return f"({doc} IS NULL OR NOT {sql})", (*doc_params, *params)


def key_exact(self: json_fields.KeyTransformExact, compiler: Any, connection: Any):
    """Compare the JSON value at the key; ``None`` means "present and JSON null"."""
    lhs, lhs_params = compiler.compile(self.lhs)
    if isinstance(self.rhs, KeyTransform):
        rhs, rhs_params = compiler.compile(self.rhs)
        return f"{lhs} = {rhs}", (*lhs_params, *rhs_params)
    _, rhs_params = json_fields.JSONExact.process_rhs(self, compiler, connection)
    value = _compact(rhs_params[0])
    if value == "null":
        # True for a JSON null, false for another value, unknown (NULL) when the key is absent,
        # so that exclude(key=None) drops documents without the key, as on other backends.
        exists, exists_params = _extract("JSON_MATCH_ANY_EXISTS", self.lhs, compiler, connection)
        return (
            f"({lhs} = 'null' OR ({lhs} IS NULL AND {exists}))",
            (*lhs_params, *lhs_params, *exists_params),
        )
    return f"{lhs} = %s", (*lhs_params, value)


def data_contains(self: json_fields.DataContains, compiler: Any, connection: Any):
    """``contains`` for what SingleStore can express: a dict of scalar values, i.e. "the
    document is an object holding each of these keys with exactly this value"."""
    value = self.rhs
    scalars = (str, int, float, bool, type(None))
    if not (
        isinstance(value, dict) and value and all(isinstance(v, scalars) for v in value.values())
    ):
        raise NotSupportedError(
            "On SingleStore, JSONField 'contains' takes a non-empty dict of scalar values "
            f"(nested objects and arrays have no SingleStore equivalent): got {value!r}."
        )
    doc, doc_params = compiler.compile(self.lhs)
    parts, params = [], []
    for key, item in value.items():
        extracted = f"JSON_EXTRACT_JSON({doc}, %s)"
        if item is None:
            parts.append(
                f"(JSON_MATCH_ANY_EXISTS({doc}, %s) AND ({extracted} IS NULL OR {extracted} = "
                "'null'))"
            )
            params.extend([*doc_params, key, *doc_params, key, *doc_params, key])
        else:
            parts.append(f"{extracted} = %s")
            params.extend([*doc_params, key, _compact(json.dumps(item))])
    return "(" + " AND ".join(parts) + ")", tuple(params)


def contained_by(self: json_fields.ContainedBy, compiler: Any, connection: Any):
    raise NotSupportedError("JSONField 'contained_by' has no SingleStore equivalent.")


def _is_json_null(value: Any) -> bool:
    """Django 6.1's ``JSONNull()`` (a JSON-typed ``Value(None)``)."""
    return (
        isinstance(value, Value)
        and value.value is None
        and isinstance(value._output_field_or_none, json_fields.JSONField)
    )


def key_in(self: json_fields.KeyTransformIn, compiler: Any, connection: Any):
    """``key__in``: compact JSON text compared with the extracted value; a ``JSONNull()``
    member is the ``key=None`` test (present and JSON null), OR-ed with the rest."""
    # Django 6.1 gathers a list holding expressions into an ExpressionList.
    listed = isinstance(self.rhs, ExpressionList)
    members = self.rhs.get_source_expressions() if listed else self.rhs
    if (listed or self.rhs_is_direct_value()) and any(map(_is_json_null, members)):
        null_sql, null_params = key_exact(
            json_fields.KeyTransformExact(self.lhs, None), compiler, connection
        )
        others = [value for value in members if not _is_json_null(value)]
        if not others:
            return null_sql, null_params
        rest = type(self)(self.lhs, ExpressionList(*others) if listed else others)
        in_sql, in_params = key_in(rest, compiler, connection)
        return f"({in_sql} OR {null_sql})", (*in_params, *null_params)
    sql, params = lookups.In.as_sql(self, compiler, connection)
    return sql, tuple(_compact(p) for p in params)


def key_numeric(self: lookups.Lookup, compiler: Any, connection: Any):
    """lt/lte/gt/gte on a key: compare as DOUBLE (or as text when the bound is a string); a
    bound that is another key (``F("data__other")``) is extracted as DOUBLE too."""
    if isinstance(self.rhs, KeyTransform):
        lhs, lhs_params = _extract("JSON_EXTRACT_DOUBLE", self.lhs, compiler, connection)
        rhs, rhs_params = _extract("JSON_EXTRACT_DOUBLE", self.rhs, compiler, connection)
        return f"{lhs} {self.get_rhs_op(connection, rhs)}", (*lhs_params, *rhs_params)
    rhs, rhs_params = self.process_rhs(compiler, connection)
    if not self.rhs_is_direct_value():
        lhs, lhs_params = _extract("JSON_EXTRACT_DOUBLE", self.lhs, compiler, connection)
        return f"{lhs} {self.get_rhs_op(connection, rhs)}", (*lhs_params, *rhs_params)
    values = [json.loads(v) if isinstance(v, str) else v for v in rhs_params]
    function = (
        "JSON_EXTRACT_STRING" if any(isinstance(v, str) for v in values) else "JSON_EXTRACT_DOUBLE"
    )
    lhs, lhs_params = _extract(function, self.lhs, compiler, connection)
    return f"{lhs} {self.get_rhs_op(connection, rhs)}", (*lhs_params, *values)


def key_case_insensitive(self: lookups.Lookup, compiler: Any, connection: Any):
    """iexact/icontains/... on a key: compare lower-cased text (the extracted string's
    collation may be binary, as MySQL's JSON strings are). ``key__iexact=None`` is
    ``key=None`` (present and JSON null), as Django's KeyTransformIExact defines it."""
    if isinstance(self, json_fields.KeyTransformIExact) and self.rhs is None:
        key = KeyTransform(self.lhs.key_name, self.lhs.lhs)
        return key_exact(json_fields.KeyTransformExact(key, None), compiler, connection)
    lhs, lhs_params = self.process_lhs(compiler, connection)
    rhs, rhs_params = self.process_rhs(compiler, connection)
    return f"LOWER({lhs}) {self.get_rhs_op(connection, f'LOWER({rhs})')}", (
        *lhs_params,
        *rhs_params,
    )


def json_object(self: JSONObject, compiler: Any, connection: Any):
    return self.as_sql(compiler, connection, function="JSON_BUILD_OBJECT")


def register() -> None:
    """Attach the SingleStore renderings (idempotent; imported by ``django_singlestore.base``)."""
    KeyTransform.as_singlestore = key_transform
    json_fields.KeyTextTransform.as_singlestore = key_text_transform
    json_fields.HasKeyLookup.as_singlestore = has_key
    json_fields.KeyTransformIsNull.as_singlestore = key_is_null
    json_fields.KeyTransformExact.as_singlestore = key_exact
    json_fields.KeyTransformIn.as_singlestore = key_in
    json_fields.DataContains.as_singlestore = data_contains
    json_fields.ContainedBy.as_singlestore = contained_by
    for numeric in (
        json_fields.KeyTransformLt,
        json_fields.KeyTransformLte,
        json_fields.KeyTransformGt,
        json_fields.KeyTransformGte,
    ):
        numeric.as_singlestore = key_numeric
    for insensitive in (
        json_fields.JSONIContains,
        json_fields.KeyTransformIExact,
        json_fields.KeyTransformIContains,
        json_fields.KeyTransformIStartsWith,
        json_fields.KeyTransformIEndsWith,
    ):
        insensitive.as_singlestore = key_case_insensitive
    JSONObject.as_singlestore = json_object
    if DJANGO_6_1:
        from django.db.models import JSONNull

        # The text 'null' (Django's generic rendering); MySQL's wraps it in JSON_EXTRACT(..., '$').
        JSONNull.as_singlestore = JSONNull.as_sql


register()
