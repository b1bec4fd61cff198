#!/bin/bash
# A fresh sandbox: nothing to prepare beyond a friendly prompt (bash builtins only: no process to start).
ps1='\u@\h:\w\$ '
printf "PS1='%s'\n" "$ps1" >> /root/.bashrc
