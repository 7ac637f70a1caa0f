"""Capacity and failure simulation: will the workloads fit, survive losing a node, and let a node drain?

``nodes`` (where node numbers come from), ``pods`` (workloads expanded to pods), ``placement`` (the
scheduler model), ``simulate`` (the scenarios), ``rules`` (CAP001-CAP004), ``render`` and ``html``
(the pictures). The rule registry discovers modules of ``premortem.analyses`` by importing them, so
this package imports the module that registers the CAP rules.
"""

from premortem.analyses.capacity import rules as rules
