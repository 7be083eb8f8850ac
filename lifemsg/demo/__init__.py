"""Demo data for `manage.py seed_demo`: the seed routine's units and e-services, staff in every role,
citizens with cases and threads. Every step is idempotent (keyed on natural keys)."""
