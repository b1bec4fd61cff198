#!/bin/bash
pxe-client --until "PXELINUX" >&2
