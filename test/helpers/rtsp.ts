// The RTSP test server helper: start scripts/rtsp-server.py on a free port from a test, wait for
// ready, kill/restart it. The implementation lives in src/tools/rtsp-server.ts because the
// demo and the benchmark start the same server.
export { RtspServer, freePort, rtspServerAvailable, SYSTEM_PYTHON, type RtspServerOptions } from '../../src/tools/rtsp-server.js';
