#!/bin/bash
. /opt/opslab/lesson/lib/checks.sh
require_cluster
echo "Three nodes, one Primary component of $(wsrep mariadb-02 cluster_size), all Synced: mariadb-01 bootstrapped the cluster, the others joined it by state transfer."
