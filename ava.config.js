// Tests run on the compiled output (npm test builds first). Integration tests start real
// processes (mosquitto, an RTSP server, the daemon), so keep concurrency low on a 2-core box.
export default {
  files: ['dist/test/**/*.test.js'],
  concurrency: 2,
  timeout: '120s',
  workerThreads: false,
  verbose: true,
};
