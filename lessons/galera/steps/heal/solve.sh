#!/bin/bash
vagrant up mariadb-02 >&2
