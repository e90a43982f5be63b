#!/usr/bin/env bash
# make demo: start a private agent, run the producer/consumer pod, show the shared emptyDir at work, clean up.
set -euo pipefail
cd "$(dirname "$0")/.."
export PODBAY_ROOT="${PODBAY_ROOT:-$PWD/_work/demo/root}"
export PODBAY_RUN_DIR="${PODBAY_RUN_DIR:-/run/podbay-demo}"
export PODBAY_SOCKET="$PODBAY_RUN_DIR/podbay.sock"
PB=(.venv/bin/podbay)
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

mkdir -p "$PODBAY_ROOT"
"${PB[@]}" image load _work/busybox-1.35.tar >/dev/null
"${PB[@]}" agent --listen none --bridge podbay-demo0 --subnet 10.88.250.0/24 >_work/demo/agent.log 2>&1 &
AGENT=$!
cleanup() {
  "${PB[@]}" delete pod my-podzz --now --wait >/dev/null 2>&1 || true
  kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null || true
  ip link del podbay-demo0 2>/dev/null || true
  rm -rf "$PODBAY_RUN_DIR"
}
trap cleanup EXIT
for _ in $(seq 100); do [ -S "$PODBAY_SOCKET" ] && break; sleep 0.1; done

say podbay apply -f examples/producer-consumer.yaml
"${PB[@]}" apply -f examples/producer-consumer.yaml
say podbay wait --for=condition=Ready pod/my-podzz
"${PB[@]}" wait --for=condition=Ready pod/my-podzz --timeout 60s
say podbay get pods -o wide
"${PB[@]}" get pods -o wide
sleep 4
say podbay logs my-podzz -c consumer
"${PB[@]}" logs my-podzz -c consumer
say podbay exec my-podzz -c producer -- cat /producer_dir/hello
"${PB[@]}" exec my-podzz -c producer -- cat /producer_dir/hello
say podbay describe pod my-podzz
"${PB[@]}" describe pod my-podzz
UID_=$("${PB[@]}" get pod my-podzz -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["uid"])')
DIR="$PODBAY_ROOT/pods/$UID_/volumes/kubernetes.io~empty-dir/shared-volume"
say ls -la "$DIR"   "# the emptyDir on the host"
ls -la "$DIR"
say podbay delete pod my-podzz --wait
"${PB[@]}" delete pod my-podzz --grace-period 1 --wait
if [ -e "$DIR" ]; then echo "demo FAILED: $DIR still exists"; exit 1; fi
echo "the emptyDir is gone with the pod: $DIR"
echo; echo "demo OK"
