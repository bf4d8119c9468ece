#!/bin/bash
# Packs what a lent GPU machine needs for bench/gpu/run.sh: that machine has no Node.js and no network, and only
# the working tree travels (64 MiB at most). Run here after `npm run build`; it writes two ignored folders:
#   .gpu/  this machine's Node binary (xz, ~24 MB: the official build links only glibc and libstdc++) and a
#          node_modules of the two runtime dependencies, webgpu (its linux-x64 dawn.node alone, xz) and comlink;
#   .gl/   the Vulkan and GL loader packages (the GPU image has the NVIDIA driver but no loader).
# Then, with the device tool: run { command: 'bash bench/gpu/run.sh', carry: ['.gpu', '.gl', 'dist', 'build'] }.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -f dist/bench/gpu-step.js ] && [ -f build/kantorovich.wasm ] || { echo "pack.sh: run npm run build first" >&2; exit 1; }
rm -rf .gpu
mkdir -p .gpu/node_modules/webgpu/dist/linux-x64 .gpu/node_modules/comlink
xz -T0 -6 -c "$(command -v node)" > .gpu/node.xz
cp node_modules/webgpu/package.json node_modules/webgpu/index.js .gpu/node_modules/webgpu/
xz -T0 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node > .gpu/dawn.node.xz # 21 MB → 5 MB
cp -r node_modules/comlink/package.json node_modules/comlink/dist .gpu/node_modules/comlink/
if [ ! -d .gl ] || ! ls .gl/*.deb > /dev/null 2>&1; then
  mkdir -p .gl /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update > /dev/null
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 > /dev/null)
fi
du -sh .gpu .gl dist build
