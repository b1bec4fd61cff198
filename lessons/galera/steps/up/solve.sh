#!/bin/bash
vagrant up >&2
