"""Presentation of facts: text for people, JSON for machines (and later SARIF, JUnit, Markdown, HTML)."""
