#!/bin/sh
# Runs inside the instance, a machine of its own: absolute paths are its own.
set -eu
mkdir -p /etc/app
echo "version=${APP_VERSION}" > /etc/app/app.conf
echo "installed app ${APP_VERSION} on $(cat /etc/role)" >> /var/log/install.log
