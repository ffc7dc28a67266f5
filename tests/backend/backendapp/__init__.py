"""Models exercising the SingleStore backend's table design, JSON and transactions."""
