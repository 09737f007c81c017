#!/usr/bin/python3
"""A small real RTSP server (gst-rtsp-server via Debian's python3-gi) for the demo, tests and
benchmarks of lfr-edge.

Usage:
  /usr/bin/python3 scripts/rtsp-server.py --port 8554 \
      --mount /cam1=file:/path/video.mp4 \
      --mount /cam2=test:h264:640x360@25 \
      --mount /bad=test:mjpeg:320x240@10

Mount specs:
  file:PATH                  an H.264 or H.265 MP4/MOV looped forever at its own frame rate,
                             WITHOUT re-encoding (the encoded access units are read once into
                             memory and pushed through appsrc with continuous timestamps, so the
                             server costs almost no CPU: benchmarks measure the client, not us)
  test:CODEC[:WxH[@FPS]]     a live test pattern; CODEC is h264, h265, mjpeg (wrong codec for
                             the daemon), audio (no video at all) or h264-reschange (alternates
                             between WxH and Wx(H/2) every 3 s, to test resolution changes)

Prints one line "READY rtsp://127.0.0.1:PORT" on stdout when listening; stops cleanly on
SIGTERM or SIGINT (exit status 0). --port 0 picks a free port (printed in the ready line).
"""
import argparse
import signal
import sys

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

Gst.init(None)

# Resolution-change mounts switch every 3 s: long enough for the client to deliver a few
# frames at each size, short enough for a test to see two changes within 10 s.
RESCHANGE_PERIOD_S = 3


def load_access_units(path):
    """Read every encoded access unit of the first video track (byte-stream, AU aligned)."""
    pipe = Gst.parse_launch(
        'filesrc name=src ! qtdemux name=demux demux.video_0 ! queue ! '
        'parsebin ! appsink name=sink sync=false emit-signals=false'
    )
    pipe.get_by_name('src').set_property('location', path)
    sink = pipe.get_by_name('sink')
    pipe.set_state(Gst.State.PLAYING)
    units, caps = [], None
    while True:
        sample = sink.emit('pull-sample')
        if sample is None:
            break
        if caps is None:
            caps = sample.get_caps()
        buf = sample.get_buffer()
        units.append((buf.pts, buf.dts, buf.duration, buf.has_flags(Gst.BufferFlags.DELTA_UNIT),
                      buf.extract_dup(0, buf.get_size())))
    bus = pipe.get_bus()
    err = bus.pop_filtered(Gst.MessageType.ERROR)
    pipe.set_state(Gst.State.NULL)
    if err is not None or not units:
        reason = err.parse_error()[0].message if err is not None else 'no video track'
        raise SystemExit(f'cannot read {path}: {reason}')
    return caps, units


class FileLoop:
    """Feeds one appsrc with the file's access units, looping with continuous timestamps."""

    def __init__(self, caps, units):
        self.caps, self.units = caps, units
        # Start at the earliest decode time: with B-frames the first DTS precedes the first PTS,
        # and timestamps must not go negative.
        stamps = [t for u in units for t in (u[0], u[1]) if t != Gst.CLOCK_TIME_NONE]
        first = min(stamps) if stamps else 0
        self.first = first
        last = units[-1]
        frame = last[2] if last[2] != Gst.CLOCK_TIME_NONE else Gst.SECOND // 25
        pts = [u[0] for u in units if u[0] != Gst.CLOCK_TIME_NONE]
        # One loop lasts from the first to the last presentation time plus one frame.
        self.length = max(pts) - min(pts) + frame

    def attach(self, appsrc):
        state = {'i': 0, 'loop': 0}

        def need_data(src, _length):
            # Push a handful per call; appsrc blocks (block=false here) only through its queue
            # limits and the RTSP sinks pace the stream to real time.
            for _ in range(4):
                pts, dts, dur, delta, data = self.units[state['i']]
                buf = Gst.Buffer.new_wrapped(data)
                off = state['loop'] * self.length - self.first
                buf.pts = pts + off
                buf.dts = (dts + off) if dts != Gst.CLOCK_TIME_NONE else Gst.CLOCK_TIME_NONE
                buf.duration = dur
                if delta:
                    buf.set_flags(Gst.BufferFlags.DELTA_UNIT)
                if src.emit('push-buffer', buf) != Gst.FlowReturn.OK:
                    return
                state['i'] += 1
                if state['i'] == len(self.units):
                    state['i'] = 0
                    state['loop'] += 1

        appsrc.set_property('caps', self.caps)
        appsrc.connect('need-data', need_data)


def test_launch(codec, width, height, fps):
    src = f'videotestsrc is-live=true pattern=ball ! video/x-raw,width={width},height={height},framerate={fps}/1'
    # zerolatency + ultrafast keep the server's own CPU small; a key frame every second lets a
    # reconnecting client start decoding within a second.
    x264 = f'x264enc tune=zerolatency speed-preset=ultrafast key-int-max={fps}'
    if codec == 'h264':
        return f'( {src} ! {x264} ! rtph264pay name=pay0 pt=96 config-interval=1 )'
    if codec == 'h264-reschange':
        return (f'( videotestsrc is-live=true pattern=ball ! videoscale ! capsfilter name=rescaps '
                f'caps=video/x-raw,width={width},height={height},framerate={fps}/1 ! '
                f'{x264} ! rtph264pay name=pay0 pt=96 config-interval=1 )')
    if codec == 'h265':
        return (f'( {src} ! x265enc tune=zerolatency speed-preset=ultrafast key-int-max={fps} ! '
                'rtph265pay name=pay0 pt=96 config-interval=1 )')
    if codec == 'mjpeg':
        return f'( {src} ! jpegenc ! rtpjpegpay name=pay0 pt=26 )'
    if codec == 'audio':
        return '( audiotestsrc is-live=true ! audioconvert ! opusenc ! rtpopuspay name=pay0 pt=97 )'
    raise SystemExit(f'unknown test codec {codec!r} (h264, h265, mjpeg, audio, h264-reschange)')


def parse_test(spec):
    parts = spec.split(':')
    codec = parts[1] if len(parts) > 1 else 'h264'
    width, height, fps = 640, 360, 25
    if len(parts) > 2:
        size, _, rate = parts[2].partition('@')
        width, height = (int(v) for v in size.split('x'))
        fps = int(rate) if rate else fps
    return codec, width, height, fps


def make_factory(spec, loops):
    factory = GstRtspServer.RTSPMediaFactory()
    # Shared: every client of a mount sees the same live stream, as with a real camera, and the
    # server does the work once however many clients connect.
    factory.set_shared(True)
    if spec.startswith('file:'):
        path = spec[len('file:'):]
        if path not in loops:
            loops[path] = FileLoop(*load_access_units(path))
        loop = loops[path]
        structure = loop.caps.get_structure(0).get_name()
        pay = 'rtph265pay' if 'h265' in structure else 'rtph264pay'
        parse = 'h265parse' if 'h265' in structure else 'h264parse'
        factory.set_launch(f'( appsrc name=feed is-live=true format=time do-timestamp=false ! '
                           f'{parse} ! {pay} name=pay0 pt=96 config-interval=1 )')
        factory.connect('media-configure', lambda _f, media: loop.attach(media.get_element().get_by_name('feed')))
        return factory
    if spec.startswith('test'):
        codec, width, height, fps = parse_test(spec)
        factory.set_launch(test_launch(codec, width, height, fps))
        if codec == 'h264-reschange':
            factory.connect('media-configure', lambda _f, media: start_reschange(media, width, height, fps))
        return factory
    raise SystemExit(f'unknown mount spec {spec!r} (file:PATH or test:CODEC[:WxH[@FPS]])')


def start_reschange(media, width, height, fps):
    capsfilter = media.get_element().get_by_name('rescaps')
    state = {'small': False}

    def toggle():
        state['small'] = not state['small']
        # Halve the height only: the aspect changes too, so the client's scaled frame changes size.
        w, h = (width, height // 2) if state['small'] else (width, height)
        capsfilter.set_property('caps', Gst.Caps.from_string(f'video/x-raw,width={w},height={h},framerate={fps}/1'))
        return True

    GLib.timeout_add_seconds(RESCHANGE_PERIOD_S, toggle)


def main():
    ap = argparse.ArgumentParser(description='Serve test streams over RTSP.')
    ap.add_argument('--port', type=int, default=8554, help='TCP port (0 = any free port)')
    ap.add_argument('--address', default='127.0.0.1')
    ap.add_argument('--mount', action='append', required=True, help='/path=SPEC (repeatable)')
    args = ap.parse_args()

    server = GstRtspServer.RTSPServer()
    server.set_address(args.address)
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    loops = {}
    for m in args.mount:
        path, sep, spec = m.partition('=')
        if not sep or not path.startswith('/'):
            raise SystemExit(f'bad --mount {m!r}: expected /path=SPEC')
        mounts.add_factory(path, make_factory(spec, loops))

    if server.attach(None) == 0:
        raise SystemExit(f'cannot listen on {args.address}:{args.port}')
    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f'READY rtsp://{args.address}:{server.get_bound_port()}', flush=True)
    loop.run()
    print('STOPPED', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
