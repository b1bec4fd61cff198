#!/bin/bash
. /opt/opslab/lesson/lib/solve.sh
nova list
nova show test1 | awk '$2 == "id" { print $4 }'
