#!/bin/bash
cd /root/zerovm
echo file | zerovm misbehave.manifest || true
echo socket | zerovm misbehave.manifest || true
