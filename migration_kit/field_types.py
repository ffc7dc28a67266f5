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

# PostgreSQL expressions giving the text both backfill's LOAD DATA lines and verify's digests
# use for these types: the form MySQL-family servers parse and print for the same values.
POSTGRESQL_TEXT = {
    "BooleanField": "CASE WHEN {c} THEN '1' WHEN NOT {c} THEN '0' END",
    "DateField": "to_char({c}, 'YYYY-MM-DD')",
    "TimeField": "to_char(DATE '2000-01-01' + {c}, 'HH24:MI:SS.US')",
    "DurationField": "(EXTRACT(EPOCH FROM {c}) * 1000000)::bigint::text",
    "BinaryField": "encode({c}, 'hex')",
}


def internal_type(field: models.Field) -> str:
    """The internal type of the column ``field`` stores; a foreign key stores its target's."""
    while isinstance(field, models.ForeignKey):
        field = field.target_field
    return field.get_internal_type()
