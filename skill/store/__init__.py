"""The store: SQLite history, the action outbox, outcomes and measurement events.

It sits beside the pipeline: it records the engine's frozen assessments and
never changes a decision.
"""
