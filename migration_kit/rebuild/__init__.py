"""Online table rebuilds: an ALTER SingleStore refuses, performed without losing a write."""
