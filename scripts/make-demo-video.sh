#!/usr/bin/env bash
# Builds an H.264 MP4 from still photos with GStreamer, for the live demo and tests (served by
# scripts/rtsp-server.py with --mount /cam=file:OUT.mp4).
#
# Usage: scripts/make-demo-video.sh OUT.mp4 [--size WxH] [--fps N] SEGMENT...
#   SEGMENT = PHOTO.jpg:SECONDS   the photo, letterboxed to WxH, shown for SECONDS
#           | black:SECONDS       an empty (black) scene: nobody in view
#   defaults: --size 1280x720 --fps 25
# Example (demo photos, MIT, from @vladmandic/face-api):
#   scripts/make-demo-video.sh /tmp/demo.mp4 black:2 \
#     node_modules/@vladmandic/face-api/demo/sample1.jpg:5 black:2
#
# The encoder settings suit RTSP re-streaming: a key frame every second (a reconnecting client
# decodes within a second), no B-frames (lower decode latency), baseline-friendly yuv420p.
set -euo pipefail

die() { echo "make-demo-video: $*" >&2; exit 2; }
[[ $# -ge 2 ]] || die "usage: $0 OUT.mp4 [--size WxH] [--fps N] PHOTO.jpg:SECONDS|black:SECONDS ..."
out=$1; shift
size=1280x720; fps=25
segments=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --size) size=${2:?}; shift 2 ;;
    --fps) fps=${2:?}; shift 2 ;;
    *) segments+=("$1"); shift ;;
  esac
done
[[ ${#segments[@]} -gt 0 ]] || die "no segments given"
[[ $size =~ ^([0-9]+)x([0-9]+)$ ]] || die "bad --size $size (expected WxH)"
w=${BASH_REMATCH[1]}; h=${BASH_REMATCH[2]}
[[ $fps =~ ^[0-9]+$ && $fps -gt 0 ]] || die "bad --fps $fps"
caps="video/x-raw,format=I420,width=$w,height=$h,framerate=$fps/1,pixel-aspect-ratio=1/1"
# A decoded JPEG has no frame rate: scale it first, imagefreeze then gives it one.
still="video/x-raw,format=I420,width=$w,height=$h,pixel-aspect-ratio=1/1"

branches=()
for seg in "${segments[@]}"; do
  src=${seg%:*}; secs=${seg##*:}
  [[ $seg == *:* && $secs =~ ^[0-9]+([.][0-9]+)?$ ]] || die "bad segment '$seg' (expected PHOTO.jpg:SECONDS or black:SECONDS)"
  frames=$(awk -v s="$secs" -v f="$fps" 'BEGIN { printf "%d", s * f + 0.5 }')
  [[ $frames -gt 0 ]] || die "segment '$seg' is shorter than one frame"
  if [[ $src == black ]]; then
    branches+=(videotestsrc pattern=black num-buffers="$frames" '!' "video/x-raw,width=$w,height=$h,framerate=$fps/1" '!' videoconvert '!' "$caps" '!' c.)
  else
    [[ -r $src ]] || die "cannot read photo $src"
    # imagefreeze repeats the decoded still at the caps' frame rate; videoscale letterboxes
    # (add-borders) so faces keep their proportions.
    branches+=(filesrc location="$src" '!' jpegdec '!' videoconvert '!' videoscale add-borders=true '!' "$still" '!' imagefreeze num-buffers="$frames" '!' "$caps" '!' c.)
  fi
done

mkdir -p "$(dirname "$out")"
gst-launch-1.0 -q concat name=c '!' videoconvert '!' x264enc speed-preset=faster key-int-max="$fps" bframes=0 '!' \
  video/x-h264,profile=high '!' h264parse '!' mp4mux '!' filesink location="$out" "${branches[@]}" >/dev/null
[[ -s $out ]] || die "GStreamer produced no output"
echo "$out"
