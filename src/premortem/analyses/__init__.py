"""Analyses: whole-cluster computations (capacity, drain, cross-object checks) that raise findings."""
