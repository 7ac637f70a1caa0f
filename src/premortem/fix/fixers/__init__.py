"""One module per rule family; importing this package registers every fixer."""

import premortem.fix.fixers.admission
import premortem.fix.fixers.apiversions
import premortem.fix.fixers.disruption
import premortem.fix.fixers.heartbeats
import premortem.fix.fixers.images
import premortem.fix.fixers.kubelet
import premortem.fix.fixers.kubelet_api
import premortem.fix.fixers.probes
import premortem.fix.fixers.quorum
import premortem.fix.fixers.resources
import premortem.fix.fixers.scheduling
import premortem.fix.fixers.workloads  # noqa: F401
