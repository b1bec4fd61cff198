#!/bin/bash
. /opt/opslab/lesson/lib/checks.sh
wsrep mariadb-02 cluster_state_uuid
