#!/usr/bin/env bash
# Slurm smoke test of vimsim's sharding (issue 14), on a one-node Slurm
# cluster started here and stopped on exit:
#   1. installs Debian's slurm-wlm and munge when missing;
#   2. starts munged, slurmctld and slurmd on localhost with a minimal
#      slurm.conf, everything (key, socket, state, spool, logs) in a
#      temporary directory and on free ports, apart from any system Slurm;
#   3. runs a 4-shard eval of 2,000 Fashion-MNIST images (fp32, int8)
#      through `vimsim slurm eval … --submit`, waits (bounded) and checks
#      that the merged result equals the local unsharded run byte for byte;
#   4. submits another 4-shard run, kills one shard with scancel, and checks
#      that the merge job never runs and that `vimsim merge` refuses the
#      partial results left;
#   5. stops every daemon it started (trap on EXIT, on failure too).
# Usage: scripts/slurm-smoke.sh (as root, or with sudo). SLURM_SMOKE_TIMEOUT
# bounds each wait in seconds (default 600).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
timeout=${SLURM_SMOKE_TIMEOUT:-600}
start_time=$(date +%s)
say() { echo "slurm-smoke: $*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || fail "needs root (slurmd runs the jobs) or sudo"
  # Build as the user (root would leave its files in the user's Go cache).
  bin=$(mktemp -d /tmp/vimsim-slurm-smoke-bin.XXXXXX)
  trap 'rm -rf "$bin"' EXIT
  chmod 755 "$bin"
  go build -o "$bin/vimsim" ./cmd/vimsim
  sudo -E env "PATH=$PATH" "VIMSIM_SMOKE_BIN=$bin/vimsim" bash "$0" "$@"
  exit
fi

# 1. Packages.
missing=()
command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null || missing+=(slurm-wlm)
command -v munged >/dev/null || missing+=(munge)
dpkg -s dataset-fashion-mnist >/dev/null 2>&1 || missing+=(dataset-fashion-mnist)
if ((${#missing[@]})); then
  say "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. The cluster.
tmp=$(mktemp -d /tmp/vimsim-slurm-smoke.XXXXXX)
chmod 755 "$tmp"
pids=()   # daemons started here, stopped in reverse order
jobs_=()  # jobs submitted here, cancelled on exit
cleanup() {
  local rc=$?
  set +e
  if ((${#jobs_[@]})) && [ -n "${SLURM_CONF:-}" ]; then
    scancel "${jobs_[@]}" 2>/dev/null
    # Let slurmd end the job steps it started before it stops.
    for _ in $(seq 1 20); do
      [ -z "$(squeue -h -j "$(IFS=,; echo "${jobs_[*]}")" 2>/dev/null)" ] && break
      sleep 0.5
    done
  fi
  for ((k = ${#pids[@]} - 1; k >= 0; k--)); do
    kill "${pids[k]}" 2>/dev/null
  done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$p" 2>/dev/null && { say "daemon $p did not stop on TERM: killing it"; kill -9 "$p"; }
  done
  if [ "$rc" -ne 0 ]; then
    for log in "$tmp"/log/*.log "$tmp"/log/local.err "$tmp"/{run,killed}/logs/*.out; do
      [ -f "$log" ] && { say "--- $log (end)"; tail -n 15 "$log" >&2; }
    done
  fi
  rm -rf "$tmp"
  say "daemons stopped; $(( $(date +%s) - start_time )) s in all"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() { ! (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ports=()
for p in $(seq 16817 16917); do
  port_free "$p" && ports+=("$p")
  ((${#ports[@]} == 2)) && break
done
((${#ports[@]} == 2)) || fail "no free ports in 16817-16917"

mkdir -p "$tmp"/{etc,state,spool,log,munge}
chmod 700 "$tmp/munge"
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$tmp/munge/munge.key"
munged --foreground --force --key-file="$tmp/munge/munge.key" --socket="$tmp/munge/munge.socket" \
  --pid-file="$tmp/munge/munged.pid" --seed-file="$tmp/munge/munged.seed" --log-file="$tmp/log/munged.log" \
  >"$tmp/log/munged.out" 2>&1 &
pids+=($!)

# The node as slurmd sees itself: its name, CPUs and memory.
node=$(slurmd -C | head -n 1)
[[ $node == NodeName=* ]] || fail "slurmd -C printed: $node"
host=${node%% *}
host=${host#NodeName=}
node=${node#* }
export SLURM_CONF=$tmp/etc/slurm.conf
cat >"$SLURM_CONF" <<EOF
ClusterName=vimsimsmoke
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$tmp/munge/munge.socket
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
MinJobAge=600
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
SlurmctldPort=${ports[0]}
SlurmdPort=${ports[1]}
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
PlugStackConfig=$tmp/etc/plugstack.conf
NodeName=$host NodeAddr=127.0.0.1 $node State=UNKNOWN
PartitionName=smoke Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
: >"$tmp/etc/plugstack.conf"
for _ in $(seq 1 50); do [ -S "$tmp/munge/munge.socket" ] && break; sleep 0.1; done
[ -S "$tmp/munge/munge.socket" ] || fail "munged did not start"
slurmctld -D -c -f "$SLURM_CONF" >"$tmp/log/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" >"$tmp/log/slurmd.out" 2>&1 &
pids+=($!)
up=""
for _ in $(seq 1 120); do
  state=$(sinfo -h -n "$host" -o %T 2>/dev/null || true)
  [ "$state" = idle ] && { up=1; break; }
  sleep 0.5
done
[ -n "$up" ] || fail "the node is not idle after 60 s (state: ${state:-none})"
say "cluster up: slurmctld :${ports[0]}, slurmd :${ports[1]}, node $host idle ($(($(date +%s) - start_time)) s)"

# The vimsim under test.
if [ -n "${VIMSIM_SMOKE_BIN:-}" ]; then
  cp "$VIMSIM_SMOKE_BIN" "$tmp/vimsim"
else
  (cd "$repo" && go build -o "$tmp/vimsim" ./cmd/vimsim)
fi
vimsim=$tmp/vimsim
eval_args=(eval --data fashion-mnist --limit 2000 --methods fp32,int8 --format json)

# job_state JOB: the job's state (array tasks: each task's, space-separated).
job_state() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | sort -u | tr '\n' ' '; }
# wait_done JOB: waits until no task of JOB is pending or running.
wait_done() {
  local t0 s
  t0=$(date +%s)
  while :; do
    s=$(job_state "$1")
    [[ -n $s && $s != *PENDING* && $s != *RUNNING* && $s != *CONFIGURING* && $s != *COMPLETING* ]] && return 0
    (($(date +%s) - t0 < timeout)) || fail "job $1 still ${s:-unknown} after $timeout s"
    sleep 1
  done
}
# submit RUN ARGS…: vimsim slurm --submit in $tmp/RUN; sets shard_job, merge_job.
submit() {
  local run=$1 out
  shift
  mkdir -p "$tmp/$run"
  out=$(cd "$tmp/$run" && "$vimsim" slurm "$@" --shards 4 --cpus-per-task 1 --time 30:00 --job-dir "$tmp/$run" --vimsim "$vimsim" --submit)
  say "$out"
  read -r shard_job merge_job < <(sed -n 's/^submitted job \([0-9]*\) .* and job \([0-9]*\) .*/\1 \2/p' <<<"$out")
  [ -n "$merge_job" ] || fail "no job ids in: $out"
  jobs_+=("$shard_job" "$merge_job")
}

# 3. A 4-shard eval, merged, against the local run.
submit run "${eval_args[@]}" --out "$tmp/run/merged.json"
t0=$(date +%s)
TIMEFORMAT="%R s, %U s user CPU"
took=$({ time "$vimsim" "${eval_args[@]}" --out "$tmp/local.json" 2>"$tmp/log/local.err"; } 2>&1)
say "local run done ($took)"
wait_done "$shard_job"
wait_done "$merge_job"
[ "$(job_state "$shard_job")" = "COMPLETED " ] || fail "shards $shard_job: $(job_state "$shard_job")"
[ "$(job_state "$merge_job")" = "COMPLETED " ] || fail "merge $merge_job: $(job_state "$merge_job")"
cmp "$tmp/local.json" "$tmp/run/merged.json" || fail "the merged result differs from the local run"
grep -q '"images": 2000' "$tmp/run/merged.json" || fail "merged result: $(head -c 300 "$tmp/run/merged.json")"
for i in 0 1 2 3; do
  grep -q "shard $i/4: 500/500 images in" "$tmp/run/logs/shard-$i.out" || fail "shard $i's log reports no progress"
done
say "OK: 4 shards on Slurm merged into exactly the local run's output ($(($(date +%s) - t0)) s)"

# 4. A killed shard: the merge never runs, and vimsim merge refuses.
# The shard is killed once vimsim has started its images (its log says so):
# a task cancelled as Slurm launches it may still run to the end, and a
# pending one leaves no trace.
submit killed "${eval_args[@]}" --out "$tmp/killed/merged.json"
t0=$(date +%s)
k=""
while [ -z "$k" ]; do
  for i in $(squeue -h -j "$shard_job" -t RUNNING -o %K); do
    grep -qs "^shard $i/4: 500 images$" "$tmp/killed/logs/shard-$i.out" && { k=$i; break; }
  done
  (($(date +%s) - t0 < timeout)) || fail "no shard of job $shard_job running after $timeout s"
  sleep 0.2
done
scancel "${shard_job}_$k"
say "killed shard $k/4 (task ${shard_job}_$k) while it ran"
wait_done "$shard_job"
states=$(scontrol show job "$shard_job" | sed -n 's/.*ArrayTaskId=\([0-9]*\).*/\1/p;s/.*JobState=\([A-Z_]*\).*/\1/p' | paste -d' ' - - | sort)
say "shard tasks of job $shard_job: $(tr '\n' ',' <<<"$states")"
grep -q "^$k CANCELLED" <<<"$states" || fail "task $k not reported cancelled"
t0=$(date +%s)
while :; do
  m=$(scontrol show job "$merge_job" 2>/dev/null | tr ' ' '\n' | sed -n 's/^\(JobState\|Reason\)=//p' | tr '\n' ' ')
  [[ $m == *CANCELLED* || $m == *DependencyNeverSatisfied* ]] && break
  [[ $m == *RUNNING* || $m == *COMPLETED* || $m == *FAILED* ]] && fail "the merge job ran after a shard was killed: $m"
  (($(date +%s) - t0 < 60)) || fail "merge job $merge_job: $m"
  sleep 1
done
say "merge job $merge_job not run: $m"
[ ! -e "$tmp/killed/merged.json" ] || fail "a merged result exists despite the killed shard"
[ ! -e "$tmp/killed/part-$k.json" ] || fail "the killed shard $k wrote its partial result"
set +e
msg=$("$vimsim" merge "$tmp"/killed/part-*.json --out "$tmp/killed/forced.json" 2>&1)
rc=$?
set -e
[ "$rc" -ne 0 ] && [[ $msg == *"shard $k/4 missing"* ]] || fail "vimsim merge of the 3 partials left: exit $rc: $msg"
[ ! -e "$tmp/killed/forced.json" ] || fail "a refused merge wrote its output"
say "OK: killed shard reported by Slurm, merge refused: $msg"
say "PASS"
