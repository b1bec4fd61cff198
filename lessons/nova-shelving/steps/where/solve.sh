#!/bin/bash
. /opt/opslab/lesson/lib/solve.sh
nova instance-action-list test1 >&2
openstack image list --name test1-shelved -f value -c ID
