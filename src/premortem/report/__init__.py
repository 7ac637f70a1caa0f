"""Report: findings -> text for people, JSON (and SARIF) for machines."""
