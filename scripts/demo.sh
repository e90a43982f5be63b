#!/usr/bin/env bash
# make demo: a loopback registry serving the test images under their Docker Hub names, a private
# agent pulling from it, the producer/consumer pod and the seeds' "content fetcher + nginx" pod.
set -euo pipefail
cd "$(dirname "$0")/.."
export PODBAY_ROOT="${PODBAY_ROOT:-$PWD/_work/demo/root}"
export PODBAY_RUN_DIR="${PODBAY_RUN_DIR:-/run/podbay-demo}"
export PODBAY_SOCKET="$PODBAY_RUN_DIR/podbay.sock"
BED="$PWD/_work/demo/registry"
PB=(.venv/bin/podbay)
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

mkdir -p "$PODBAY_ROOT"
scripts/test-registry.sh down "$BED" >/dev/null 2>&1 || true
rm -rf "$BED"
AGENT=""
cleanup() {
  for p in my-podzz web; do "${PB[@]}" delete pod "$p" --now --wait >/dev/null 2>&1 || true; done
  if [ -n "$AGENT" ]; then kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null || true; fi
  ip link del podbay-demo0 2>/dev/null || true
  "${PB[@]}" agent --cleanup --bridge podbay-demo0 >/dev/null 2>&1 || true   # its Services table
  rm -rf "$PODBAY_RUN_DIR"
  scripts/test-registry.sh down "$BED" >/dev/null 2>&1 || true
}
trap cleanup EXIT

say scripts/test-registry.sh up _work/demo/registry --images _work/images --variants plain
scripts/test-registry.sh up "$BED" --images _work/images --variants plain \
  | python3 -c 'import json,sys; b=json.load(sys.stdin); print("registry on", b["registries"]["plain"]["host"], "serving docker.io/library/{busybox,nginx,redis,mysql,mariadb}")'
cat "$BED/registries.conf"

# A fresh store each time: the demo shows the pulls.
rm -rf "$PODBAY_ROOT/images"
say podbay image pull nginx:1.25
"${PB[@]}" image pull --registries-conf "$BED/registries.conf" nginx:1.25
"${PB[@]}" image ls

"${PB[@]}" agent --listen none --bridge podbay-demo0 --subnet 10.88.250.0/24 --registries-conf "$BED/registries.conf" \
  >_work/demo/agent.log 2>&1 &
AGENT=$!
for _ in $(seq 100); do [ -S "$PODBAY_SOCKET" ] && break; sleep 0.1; done

say podbay apply -f examples/nginx-content.yaml -f examples/producer-consumer.yaml
"${PB[@]}" apply -f examples/nginx-content.yaml -f examples/producer-consumer.yaml
say podbay wait --for=condition=Ready pod/web pod/my-podzz
"${PB[@]}" wait --for=condition=Ready pod/web --timeout 90s
"${PB[@]}" wait --for=condition=Ready pod/my-podzz --timeout 90s
say podbay get pods -o wide
"${PB[@]}" get pods -o wide
IP=$("${PB[@]}" get pod web -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["podIP"])')
say curl -s "http://$IP/"   "# nginx serves what the init container wrote into the emptyDir"
BODY=$(curl -s --retry 10 --retry-connrefused --retry-delay 0 "http://$IP/")
echo "$BODY"
case "$BODY" in *"hello from podbay"*) ;; *) echo "demo FAILED: nginx did not serve the content"; exit 1 ;; esac
say podbay describe pod web   "# events: Pulling / Pulled with size and time"
"${PB[@]}" describe pod web | sed -n '/^Events:/,$p'
sleep 3
say podbay logs my-podzz -c consumer
"${PB[@]}" logs my-podzz -c consumer | tail -5
say podbay exec my-podzz -c producer -- cat /producer_dir/hello
"${PB[@]}" exec my-podzz -c producer -- cat /producer_dir/hello | tail -3
UID_=$("${PB[@]}" get pod my-podzz -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["uid"])')
DIR="$PODBAY_ROOT/pods/$UID_/volumes/kubernetes.io~empty-dir/shared-volume"
say ls -la "$DIR"   "# the emptyDir on the host"
ls -la "$DIR"
say podbay delete pod my-podzz web --wait
"${PB[@]}" delete pod my-podzz web --grace-period 1 --wait
if [ -e "$DIR" ]; then echo "demo FAILED: $DIR still exists"; exit 1; fi
echo "the emptyDir is gone with the pod: $DIR"
echo; echo "demo OK"
