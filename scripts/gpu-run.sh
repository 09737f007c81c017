#!/usr/bin/env bash
# The GPU path in one call (issue 23 item 4). On a machine without internet (a GPU machine lent
# for a few minutes) this unpacks .gpu/lfr-gpu.tar.xz (made by scripts/gpu-pack.mjs), reports
# which ONNX Runtime execution providers load (CUDA, TensorRT, WebGPU) and, when not, why (each
# missing library named), for onnxruntime-node 1.22 (pinned) and 1.30 side by side, then runs
# `lfr bench vision` with each provider that loads, a decode-only NVDEC / software comparison
# where GStreamer is there, and `lfr bench live` for 1, 4 and 8 cameras where this machine has
# what it needs (GStreamer with libav, its RTSP server for Python, mosquitto); whatever is
# missing is said plainly. Every step has its own time limit; results go to $OUT as they come:
#   gpu-results.jsonl  one JSON object per step ({step, ok, seconds, result | reason})
#   summary.txt        the same as short lines;  log.txt  everything printed
# Exit status 0 unless the pack itself is missing or unreadable.
#
#   bash scripts/gpu-run.sh [PACK]   (PACK: .gpu/lfr-gpu.tar.xz; PACK's -ort130.tar.xz beside it is optional)
# Env: OUT (default .gpu/out), LFR_GPU_BUDGET_S (whole run, default 520), LFR_GPU_WORK (/tmp/lfr-gpu)
set -u
PACK=${1:-.gpu/lfr-gpu.tar.xz}
OUT=${OUT:-$PWD/.gpu/out}
W=${LFR_GPU_WORK:-/tmp/lfr-gpu}
BUDGET=${LFR_GPU_BUDGET_S:-520}
T0=$(date +%s)
mkdir -p "$OUT"
RES="$OUT/gpu-results.jsonl"
SUM="$OUT/summary.txt"
: >"$RES"
: >"$SUM"
exec > >(tee -a "$OUT/log.txt") 2>&1

left() { echo $((BUDGET - ($(date +%s) - T0))); }
note() { echo "== $*" | tee -a "$SUM"; }
# JSON string of stdin (python3 is on every CUDA image; sed as the last resort).
jstr() { if command -v python3 >/dev/null; then python3 -c 'import json,sys; print(json.dumps(sys.stdin.read().strip()))'; else printf '"%s"' "$(sed 's/\\/\\\\/g; s/"/\\"/g' | tr '\n\t' '  ')"; fi; }
record() { # step ok seconds json
  printf '{"step":%s,"ok":%s,"seconds":%s,%s}\n' "$(printf '%s' "$1" | jstr)" "$2" "$3" "$4" >>"$RES"
}
# run_step NAME LIMIT_S CMD...: stdout's last line is the step's JSON when it is one.
run_step() {
  local name=$1 limit=$2
  shift 2
  local l
  l=$(left)
  if [ "$l" -lt 20 ]; then
    note "$name: SKIPPED (budget spent)"
    record "$name" false 0 '"reason":"budget spent"'
    return 1
  fi
  [ "$limit" -gt $((l - 10)) ] && limit=$((l - 10))
  local s=$(date +%s) out rc
  out=$(timeout -k 5 "$limit" "$@" 2>"$W/step.err")
  rc=$?
  local secs=$(($(date +%s) - s))
  local last
  last=$(printf '%s\n' "$out" | grep -E '^\{.*\}$' | tail -1)
  if [ $rc -eq 0 ] && [ -n "$last" ]; then
    record "$name" true "$secs" "\"result\":$last"
    note "$name: OK (${secs} s)"
  else
    local why
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then why="timed out after ${limit} s"; else why="exit $rc: $( (grep -v '^\s*at ' "$W/step.err" | grep -iE 'error|fail|not |cannot|missing' | tail -3; printf '%s\n' "$out" | tail -2) | tr '\n' ' ' | cut -c1-600)"; fi
    record "$name" false "$secs" "\"reason\":$(printf '%s' "$why" | jstr)"
    note "$name: FAIL ($why)"
  fi
  printf '%s\n' "$out" | grep -vE '^\{.*\}$' | tail -40
  return $rc
}

mkdir -p "$W"
note "lfr gpu-run $(date -u +%FT%TZ) on $(hostname), budget ${BUDGET} s"

# ---- 1. The machine: GPU, driver, libraries the providers and NVDEC need.
lib() { ldconfig -p 2>/dev/null | grep -q "$1" && echo yes || { ls /usr/local/nvidia/lib64/$1* /usr/lib/x86_64-linux-gnu/$1* >/dev/null 2>&1 && echo yes || echo no; }; }
GPU=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
ICDS=$(ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json /usr/local/nvidia/share/vulkan/icd.d/*.json 2>/dev/null | tr '\n' ' ')
PYORT=$(timeout 30 python3 -c 'import onnxruntime as o; print(o.__version__, ",".join(o.get_available_providers()))' 2>/dev/null || echo none)
ENVJ=$(printf '"result":{"gpu":%s,"cores":%s,"memGb":%s,"os":%s,"libcuda":"%s","libnvcuvid":"%s","libvulkan":"%s","vulkanIcds":%s,"libcudnn9":"%s","libcublasLt12":"%s","libcublasLt13":"%s","gstInspect":"%s","mosquitto":"%s","pythonGi":"%s","pythonOnnxruntime":%s}' \
  "$(printf '%s' "${GPU:-none}" | jstr)" "$(nproc)" "$(awk '/MemTotal/{printf "%.0f", $2/1048576}' /proc/meminfo)" \
  "$(. /etc/os-release 2>/dev/null; printf '%s' "${PRETTY_NAME:-?}" | jstr)" "$(lib libcuda.so.1)" "$(lib libnvcuvid.so.1)" "$(lib libvulkan.so.1)" \
  "$(printf '%s' "$ICDS" | jstr)" "$(lib libcudnn.so.9)" "$(lib libcublasLt.so.12)" "$(lib libcublasLt.so.13)" \
  "$(command -v gst-inspect-1.0 >/dev/null && echo yes || echo no)" "$(command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] && echo yes || echo no)" \
  "$([ -d /usr/lib/python3/dist-packages/gi ] && echo yes || echo no)" "$(printf '%s' "$PYORT" | jstr)")
record machine true 0 "$ENVJ"
note "machine: GPU ${GPU:-none}; $(nproc) cores; python onnxruntime: $PYORT; Vulkan drivers: ${ICDS:-none}"

# ---- 2. Unpack (xz, or Python's lzma where xz is missing).
if [ ! -f "$PACK" ]; then
  note "FAIL: pack $PACK not found (make it with: node scripts/gpu-pack.mjs)"
  record unpack false 0 "\"reason\":\"pack $PACK not found\""
  exit 1
fi
rm -rf "$W/lfr-gpu"
if command -v xz >/dev/null; then UNPACK=(tar -C "$W" -xJf "$PACK"); else UNPACK=(python3 -c 'import sys,tarfile; tarfile.open(sys.argv[1],"r:xz").extractall(sys.argv[2])' "$PACK" "$W"); fi
s=$(date +%s)
if ! timeout 180 "${UNPACK[@]}"; then
  note "FAIL: cannot unpack $PACK"
  record unpack false $(($(date +%s) - s)) '"reason":"unpack failed"'
  exit 1
fi
ORTPACK=${PACK%.tar.xz}-ort130.tar.xz
if [ -f "$ORTPACK" ]; then
  if command -v xz >/dev/null; then timeout 120 tar -C "$W" -xJf "$ORTPACK"; else timeout 120 python3 -c 'import sys,tarfile; tarfile.open(sys.argv[1],"r:xz").extractall(sys.argv[2])' "$ORTPACK" "$W"; fi || note "cannot unpack $ORTPACK: onnxruntime-node 1.30 not compared"
else
  note "no $ORTPACK: onnxruntime-node 1.30 not compared"
fi
record unpack true $(($(date +%s) - s)) "\"result\":$(cat "$W/lfr-gpu/PACK.json")"
P=$W/lfr-gpu
APP=$P/app
NODE=$P/node/bin/node
cd "$APP" || exit 1
export PATH=$P/node/bin:$PATH XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$W/xdg} LFR_BENCH_VIDEO=$P/data/crowd_walk_1080p.mp4
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
# The driver's libraries (NVDEC, CUDA, the Vulkan ICD's libGLX_nvidia) and the carried libvulkan
# (only where the machine has none). Python's nvidia-* wheels hold cuDNN and cuBLAS.
LDP=""
for d in /usr/local/nvidia/lib64 /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do [ -d "$d" ] && LDP="$LDP:$d"; done
for d in $(python3 -c 'import glob,site; [print(p) for s in site.getsitepackages() for p in glob.glob(s+"/nvidia/*/lib")]' 2>/dev/null); do LDP="$LDP:$d"; done
[ "$(lib libvulkan.so.1)" = no ] && LDP="$P/sys/vulkan$LDP"
[ "$(lib libGLdispatch.so.0)" = no ] && LDP="$P/sys/glvnd:$LDP"
export LD_LIBRARY_PATH=${LDP#:}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# Only the NVIDIA Vulkan driver, so WebGPU cannot fall to a software rasteriser (lavapipe).
for f in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json; do [ -f "$f" ] && export VK_DRIVER_FILES=$f VK_ICD_FILENAMES=$f && break; done
note "node $($NODE -v 2>&1); LD_LIBRARY_PATH=$LD_LIBRARY_PATH; VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}"

# ---- 3. Execution providers: each ORT x provider in its own process.
ORT122=$APP/node_modules/onnxruntime-node
ORT130=$P/ort130/node_modules/onnxruntime-node
# A CUDA provider library of the same version found on this machine (e.g. Python onnxruntime-gpu)
# is tried with 1.30: onnxruntime-node cannot fetch its own here.
if [ -d "$ORT130" ]; then
  for f in $(timeout 30 find / -xdev \( -path /proc -o -path /sys -o -path "$W" \) -prune -o -name libonnxruntime_providers_cuda.so -print 2>/dev/null | head -5); do
    v=$(python3 -c 'import onnxruntime as o; print(o.__version__)' 2>/dev/null)
    note "found $f (python onnxruntime $v)"
    if [ "$v" = "$(grep -o '"version": *"[^"]*"' "$ORT130/package.json" | grep -o '[0-9][^"]*')" ]; then
      cp -n "$(dirname "$f")"/libonnxruntime_providers_{cuda,shared,tensorrt}.so "$ORT130/bin/napi-v6/linux/x64/" 2>/dev/null
      note "copied its provider libraries beside onnxruntime-node $v"
    fi
    break
  done
fi
declare -A LOADS
for ort in 1.22:$ORT122 1.30:$ORT130; do
  v=${ort%%:*}
  dir=${ort#*:}
  [ -d "$dir" ] || { note "onnxruntime-node $v not in the pack"; continue; }
  for ep in cpu webgpu cuda tensorrt; do
    if [ $ep = webgpu ] && [ -z "${VK_DRIVER_FILES:-}" ]; then
      why="no NVIDIA Vulkan driver here (no nvidia_icd.json): WebGPU could only find a software adapter"
      record "providers ort$v webgpu" false 0 "\"reason\":\"$why\""
      note "providers ort$v webgpu: no GPU provider: $why"
      continue
    fi
    out=$(run_step "providers ort$v $ep" 120 "$NODE" scripts/gpu-probe.mjs --ort "$dir" --models models --ep "$ep" --runs 20)
    line=$(tail -1 "$RES")
    if printf '%s' "$line" | grep -q '"loads":true'; then LOADS[$v:$ep]=1; fi
    printf '%s\n' "$line" | "$NODE" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);const r=j.result;if(!r){console.log("  "+j.step+": "+j.reason);return}const m=Object.entries(r.models).map(([k,x])=>k+" "+(x.loads?(x.reason?"run FAILED: "+x.reason.slice(0,120):x.runMsMedian+" ms"):"no")).join("; ");console.log("  "+j.step+": "+(r.loads?"LOADS":"no GPU provider: "+r.reason)+(r.missingLibraries.length?" [missing: "+r.missingLibraries.join(", ")+"]":"")+(m?" | "+m:"")+(r.runBlocksEventLoop?" | run() blocks the event loop: "+r.runBlocksEventLoop.blocks+" (timer gap "+r.runBlocksEventLoop.maxTimerGapMs+" ms, run "+r.runBlocksEventLoop.runMsMedian+" ms)":""))})' | tee -a "$SUM"
  done
done
GPU_EPS=""
for k in "${!LOADS[@]}"; do case $k in *:cpu) ;; *) GPU_EPS="$GPU_EPS $k" ;; esac; done
[ -z "$GPU_EPS" ] && note "no GPU provider: every GPU execution provider failed to load (reasons above); CPU only"

# ---- 4. bench vision: CPU (the shipped int8 models), then each GPU provider that loads (float
# models: WebGPU does not run the int8 DequantizeLinear nodes, CUDA has no int8 kernels).
cfg() { # file providers-json detector embedder
  printf '{"vision":{"executionProviders":%s,"detector":"%s","embedder":"%s"}}\n' "$2" "$3" "$4" >"$1"
}
use_ort() { # 1.22 | 1.30: swap the app's onnxruntime-node (and -common) for that version's
  [ -d "$P/ort122-keep" ] || { mkdir -p "$P/ort122-keep" && cp -a "$APP/node_modules/onnxruntime-node" "$APP/node_modules/onnxruntime-common" "$P/ort122-keep/"; }
  rm -rf "$APP/node_modules/onnxruntime-node" "$APP/node_modules/onnxruntime-common"
  if [ "$1" = 1.30 ]; then cp -a "$P/ort130/node_modules/onnxruntime-node" "$P/ort130/node_modules/onnxruntime-common" "$APP/node_modules/"
  else cp -a "$P/ort122-keep/onnxruntime-node" "$P/ort122-keep/onnxruntime-common" "$APP/node_modules/"; fi
}
cfg "$W/cpu.json" '["cpu"]' rfb320 faceplugin-feature-int8
for v in 1.22 1.30; do
  [ -n "${LOADS[$v:cpu]:-}" ] || continue
  use_ort $v
  run_step "bench vision ort$v cpu" 150 "$NODE" bin/lfr.js --config "$W/cpu.json" bench vision --iterations 5 --json
  for ep in webgpu cuda tensorrt; do
    [ -n "${LOADS[$v:$ep]:-}" ] || continue
    cfg "$W/$ep.json" "[\"$ep\",\"cpu\"]" rfb320 faceplugin-feature
    run_step "bench vision ort$v $ep" 150 "$NODE" bin/lfr.js --config "$W/$ep.json" bench vision --iterations 5 --json
  done
done
use_ort 1.22

# ---- 5. Decode alone: NVDEC (nvh264dec) against software, 1080p25 H.264 (the crowd video, 105
# frames), CPU time per frame. The machine's GStreamer if it has one, else the carried one.
SYSGST=no
command -v gst-launch-1.0 >/dev/null && SYSGST=yes
GSTENV=()
if [ $SYSGST = no ] && [ -x "$P/gst/bin/gst-launch-1.0" ]; then
  GSTENV=(env PATH="$P/gst/bin:$PATH" LD_LIBRARY_PATH="$P/gst/lib:$LD_LIBRARY_PATH" GST_PLUGIN_SYSTEM_PATH_1_0="$P/gst/plugins" GST_PLUGIN_SCANNER_1_0="$P/gst/bin/gst-plugin-scanner" GST_REGISTRY_1_0="$W/gst-registry.bin")
  note "GStreamer: not on this machine; using the carried one (openh264 for software decode, nvcodec for NVDEC)"
fi
if [ $SYSGST = yes ] || [ ${#GSTENV[@]} -gt 0 ]; then
  for dec in nvh264dec avdec_h264 openh264dec; do
    if ! timeout 60 "${GSTENV[@]}" gst-inspect-1.0 --exists $dec 2>/dev/null; then
      why=""
      [ $dec = nvh264dec ] && why=": $(timeout 30 "${GSTENV[@]}" env GST_DEBUG=nvcodec:2,nvdec:2,cuda*:2 gst-inspect-1.0 nvcodec 2>&1 | grep -iE 'fail|error|not |cannot|could' | sed 's/\x1b\[[0-9;]*m//g' | head -3 | tr '\n' ' ' | cut -c1-400)"
      note "decoder $dec: not available in this GStreamer$why"
      continue
    fi
    run_step "decode $dec" 90 "${GSTENV[@]}" bash -c '
      TIMEFORMAT="%R %U %S"
      t=$( { time gst-launch-1.0 -q filesrc location="$1" ! qtdemux ! h264parse ! $2 ! fakesink >/dev/null 2>&1 ; } 2>&1 ) || exit 1
      set -- $t "$2"
      awk -v r=$1 -v u=$2 -v s=$3 -v d=$4 "BEGIN{printf \"{\\\"decoder\\\":\\\"%s\\\",\\\"frames\\\":105,\\\"wallMs\\\":%.0f,\\\"cpuMsPerFrame\\\":%.2f}\\n\", d, r*1000, (u+s)*1000/105}"' _ "$LFR_BENCH_VIDEO" "$dec"
  done
else
  note "GStreamer absent (neither on this machine nor in the pack): no decode comparison"
fi

# ---- 6. bench live, 1, 4 and 8 cameras: the real daemon, the RTSP server looping the crowd video.
missing=""
[ $SYSGST = yes ] || missing="$missing GStreamer (the carried one has no libav and the bench needs the machine's own);"
{ [ -x /usr/sbin/mosquitto ] || [ -x /usr/bin/mosquitto ]; } || missing="$missing mosquitto;"
[ -d /usr/lib/python3/dist-packages/gi ] || missing="$missing python3-gi and gir1.2-gst-rtsp-server-1.0 (the RTSP test server);"
if [ -n "$missing" ]; then
  note "bench live NOT RUN: this machine lacks$missing"
  record "bench live" false 0 "\"reason\":$(printf 'missing:%s' "$missing" | jstr)"
else
  dec=cpu
  gst-inspect-1.0 --exists nvh264dec 2>/dev/null && dec=nvidia
  note "bench live: decoder $dec (nvh264dec $([ $dec = nvidia ] && echo loads || echo 'does not load: software decode'))"
  for ep in cpu $GPU_EPS; do
    case $ep in cpu) c=$W/cpu.json ;; 1.22:*) c=$W/${ep#*:}.json ;; *) continue ;; esac
    "$NODE" -e 'const f=process.argv[1];const j=JSON.parse(require("fs").readFileSync(f));j.cameras=[{name:"cam",url:"rtsp://127.0.0.1:1/x",decoder:process.argv[2]}];require("fs").writeFileSync(f.replace(/\.json$/,"-live.json"),JSON.stringify(j))' "$c" "$dec"
    LFR_BENCH_CAMERAS=1,4,8 run_step "bench live ${ep#*:} decoder=$dec" 240 "$NODE" bin/lfr.js --config "${c%.json}-live.json" bench live --iterations 15 --json
  done
fi

note "done in $(($(date +%s) - T0)) s; results: $RES"
exit 0
