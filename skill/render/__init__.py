"""Render assessments for people (Markdown, tables) and agents (JSON, JSONL)."""
