"""Database functions in SingleStore's dialect, attached ONLY for this vendor (``as_singlestore``
methods, as in ``django_singlestore.json``): casts, and Django's own refusal of UUID4()/UUID7()
(the backend maps them to no SingleStore function)."""

from __future__ import annotations

from typing import Any

from django.db.models.functions import Cast

from django_singlestore.versions import DJANGO_6_1


def cast(self: Cast, compiler: Any, connection: Any) -> tuple[str, Any]:
    """``Cast(x, JSONField())`` is ``x :> JSON``; a UUID cast of a UUID is ``x`` itself (the
    value already is the char(32) text, and CAST(... AS char(32)) on a CHAR column is refused
    inside GENERATED ALWAYS AS); every other cast is MySQL's."""
    target = self.output_field.get_internal_type()
    source = self.source_expressions[0]
    if target == "JSONField":
        sql, params = compiler.compile(source)
        return f"({sql}) :> JSON", params
    if target == "UUIDField" and _output_type(source) == "UUIDField":
        return compiler.compile(source)
    return self.as_mysql(compiler, connection)


def _output_type(expression: Any) -> str | None:
    try:
        return expression.output_field.get_internal_type()
    except Exception:  # an expression whose type Django cannot resolve (FieldError)
        return None


def register() -> None:
    """Attach the SingleStore renderings (idempotent; imported by ``django_singlestore.base``)."""
    Cast.as_singlestore = cast
    if DJANGO_6_1:
        from django.db.models.functions import UUID4, UUID7

        # Django's generic rendering, which raises "... is not supported on this database
        # backend" (supports_uuid4/7_function are False); MySQL's would name MySQL.
        UUID4.as_singlestore = UUID4.as_sql
        UUID7.as_singlestore = UUID7.as_sql


register()
