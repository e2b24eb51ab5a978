"""Analyzers: pure functions from a parsed executable to facts with evidence. No printing, no I/O beyond the binary."""
