#!/bin/sh
# Runs inside the instance (its workspace is the working directory).
set -eu
mkdir -p etc/app
echo "version=${APP_VERSION}" > etc/app/app.conf
echo "installed app ${APP_VERSION} on $(cat etc/role)" >> var/log/install.log
