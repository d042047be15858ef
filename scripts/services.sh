#!/usr/bin/env bash
# Makes sure the services Quiver's integration tests use answer on 127.0.0.1 (default ports):
# Redis 6379, PostgreSQL 5432, RabbitMQ 5672. Installs a missing one from Debian's packages when
# run as root, starts a stopped one, and waits until it answers. Idempotent; exit 0 when all answer.
set -u
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_up() { for _ in $(seq 1 120); do up "$1" && return 0; sleep 0.5; done; return 1; }
apt_updated=0
install_pkg() {
  [ "$(id -u)" = 0 ] || { echo "$1: not installed and not root; install it with apt-get install $1"; return 1; }
  [ $apt_updated = 1 ] || { apt-get update -qq >/dev/null 2>&1; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
}
status=0
ensure() { # name port binary package start-command...
  local name=$1 port=$2 binary=$3 package=$4; shift 4
  if up "$port"; then echo "$name: up on $port"; return; fi
  command -v "$binary" >/dev/null 2>&1 || install_pkg "$package" || { status=1; return; }
  "$@" >/dev/null 2>&1 || true
  if wait_up "$port"; then echo "$name: started on $port"; else echo "$name: FAILED to start on $port"; status=1; fi
}
mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
ensure redis 6379 redis-server redis-server \
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
ensure postgres 5432 pg_ctlcluster postgresql \
  sh -c 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | head -1) main start'
ensure rabbitmq 5672 rabbitmq-server rabbitmq-server rabbitmq-server -detached
exit $status
