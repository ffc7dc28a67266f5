"""Groups of Django field types that copy, verify and integrity checks treat alike."""

from django.db import models

INTEGER_TYPES = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
    }
)
TEXT_TYPES = frozenset({"CharField", "TextField", "SlugField", "EmailField", "URLField"})


def internal_type(field: models.Field) -> str:
    """The internal type of the column ``field`` stores; a foreign key stores its target's."""
    while isinstance(field, models.ForeignKey):
        field = field.target_field
    return field.get_internal_type()
