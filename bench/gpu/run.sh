#!/bin/bash
# The GPU figures of issues 11, 13 and 14 in one run on a lent GPU machine (bench/gpu/pack.sh packs what it needs;
# the device tool runs it: carry .gpu .gl dist build). Writes each bench's output to $OUT (default /tmp/gpu-out)
# and prints them. Each step has its own time limit (below), so one that hangs costs only its share. LOCAL=1 skips
# the loader install (to try the script on a machine that has Vulkan already); STEPS="adapter gromov" runs those
# steps only (a rerun of what failed).
set -u
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
if [ "${LOCAL:-0}" != 1 ]; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -f "$icd" ] && export VK_DRIVER_FILES=$icd __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
NODE=/tmp/kantorovich-node
xz -dc .gpu/node.xz > $NODE && chmod +x $NODE
[ -f .gpu/node_modules/webgpu/dist/linux-x64/dawn.node ] || xz -dc .gpu/dawn.node.xz > .gpu/node_modules/webgpu/dist/linux-x64/dawn.node
[ -e node_modules ] || ln -s .gpu/node_modules node_modules
PY=$(command -v python3)
step() { # step NAME SECONDS COMMAND...: one bench, its output in $OUT/NAME.txt (STEPS="a b": those only)
  local name=$1 limit=$2
  shift 2
  [ -n "${STEPS:-}" ] && [[ " $STEPS " != *" $name "* ]] && return
  echo "== $name: $*"
  timeout "$limit" "$@" > "$OUT/$name.txt" 2>&1
  echo "(exit $?)" >> "$OUT/$name.txt"
  grep -v 'artificially reduced' "$OUT/$name.txt"
}
{ nvidia-smi -L 2>&1; nproc; } > "$OUT/machine.txt"
cat "$OUT/machine.txt"
step adapter 30 $NODE -e "import('kantorovich').then(async (k) => { console.log(JSON.stringify(await k.backends())); process.exit(0); })"
# In order of what is missing most; the limits add up to the device tool's 10 minutes a command (540 s of steps
# plus the unpacking), so a step that hangs costs only its share.
# issue 14: the divergence at n = 10^5 (multiscale on the CPU beside multiscale on webgpu and the webgpu dense strategy)
step scale-1e5 150 $NODE dist/bench/scale.js --n 100000 --dense 0 --webgpu 100000 --gpu-dense 100000
# issue 14: multiscale on webgpu alone at 10^6 points (its kernel skips the negligible cluster blocks)
step scale-1e6 150 $NODE dist/bench/scale.js --n 1000000 --dense 0 --webgpu 1000000 --gpu-only --progress
# issue 13 item 4: step times at D = 64, batch 1024, webgpu vs PyTorch (CUDA) on this machine
step neural-step 90 $NODE dist/bench/gpu-step.js --dim 64 --batch 1024 --hidden 128,128 --reps 50 --python "$PY"
# issue 14: 1000 problems of 64 × 64 in one WebGPU batch vs 1000 sequential webgpu calls
step batch 60 $NODE dist/bench/batch.js --clouds 0 --no-pot --webgpu --gpuB 1000
# issue 11: entropic GW with the products and the Sinkhorn on webgpu, up to n = 1000 (POT is not on that machine)
step gromov 60 $NODE dist/bench/families.js --only gromov --webgpu 1000
