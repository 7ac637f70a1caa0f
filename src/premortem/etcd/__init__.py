"""premortem etcd: judge etcd members from their metrics, and disks with a WAL-like benchmark."""
