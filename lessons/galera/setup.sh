#!/bin/bash
# The host of the seed's Vagrant lab: a value of this sandbox's own for the replication step, and
# the lab's tools on PATH (vagrant, sudo, su come from the lesson's bin/).
head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n' > /root/token
cat >> /root/.bashrc <<'RC'
PS1='\u@host:\w\$ '
RC
