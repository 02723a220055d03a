#!/usr/bin/env bash
echo "hello from app.sh"
