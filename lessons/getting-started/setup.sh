#!/bin/bash
# A fresh sandbox: nothing to prepare beyond a friendly prompt.
cat >> /root/.bashrc <<'RC'
PS1='\u@\h:\w\$ '
RC
