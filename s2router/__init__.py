"""Database router that places Django models on PostgreSQL/MySQL or SingleStore."""
