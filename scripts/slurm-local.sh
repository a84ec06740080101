#!/usr/bin/env bash
# A real single-node Slurm for tests (issue 14): Debian's slurm-wlm 22.05 (slurmctld, slurmd, slurm-client) and
# munge, started by hand (no systemd), as root, on this machine's real CPU count and memory. Idempotent: a running
# cluster is left alone. Prints "slurm: ready" once `sinfo` shows the node idle.
#   scripts/slurm-local.sh start | stop | status
set -euo pipefail
STATE=${SLURM_LOCAL_STATE:-/var/lib/ptycho-slurm}
CONF=/etc/slurm/slurm.conf
cmd=${1:-start}

need() { command -v "$1" >/dev/null 2>&1 || { echo "slurm: $1 is missing (apt-get install slurmctld slurmd slurm-client munge)" >&2; exit 1; }; }

install() {
  # Debian's packages, as the README's test command installs chromium: as root, or with sudo.
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null && command -v munged >/dev/null; then return 0; fi
  local SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "slurm: installing slurmctld slurmd slurm-client munge (apt)"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurmctld slurmd slurm-client munge >/dev/null \
    || { $SUDO apt-get update -q >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurmctld slurmd slurm-client munge >/dev/null; }
}

write_conf() {
  local node cpus mem
  node=$(hostname -s)
  cpus=$(nproc)
  mem=$(awk '/MemTotal/{print int($2/1024) - 512}' /proc/meminfo)
  mkdir -p "$STATE/ctld" "$STATE/d" /var/log/slurm /run/slurm
  cat > "$CONF" <<CONF
ClusterName=ptycho-test
SlurmctldHost=$node
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MaxArraySize=1001
KillWait=30
NodeName=$node CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
}

status() { sinfo -h -o '%T' 2>/dev/null | head -1; }

case "$cmd" in
  start)
    [ "$(id -u)" -eq 0 ] || { echo "slurm: the local test cluster runs as root (SlurmUser=root); run as root" >&2; exit 1; }
    install
    need munged; need slurmctld; need slurmd; need sinfo
    if [ "$(status || true)" = "idle" ] || [ "$(status || true)" = "mixed" ] || [ "$(status || true)" = "allocated" ]; then echo "slurm: ready (already running)"; exit 0; fi
    write_conf
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown -R munge:munge /run/munge /var/log/munge /var/lib/munge /etc/munge 2>/dev/null || true
    [ -s /etc/munge/munge.key ] || { dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key; }
    pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged --force
    pgrep -x slurmctld >/dev/null || slurmctld
    pgrep -x slurmd >/dev/null || slurmd
    for _ in $(seq 1 60); do
      s=$(status || true)
      if [ "$s" = "idle" ]; then echo "slurm: ready"; exit 0; fi
      if [ "$s" = "down" ] || [ "$s" = "drained" ]; then scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1 || true; fi
      sleep 1
    done
    echo "slurm: the node did not become idle (state: $(status || echo none)); see /var/log/slurm/" >&2
    exit 1 ;;
  stop)
    pkill -x slurmd || true; pkill -x slurmctld || true; pkill -x munged || true; echo "slurm: stopped" ;;
  status)
    status || echo "not running" ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
