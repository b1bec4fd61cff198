#!/bin/bash
echo 'Hello, Opslab!' > /root/hello.txt
