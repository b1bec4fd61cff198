#!/bin/bash
cd /root/zerovm || exit
echo file | zerovm misbehave.manifest || true
echo socket | zerovm misbehave.manifest || true
