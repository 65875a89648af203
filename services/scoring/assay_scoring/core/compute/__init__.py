"""Pure adapters between the service's stored answers and the numerical core (no ORM here)."""
