// Tests run on the compiled output (npm test builds into dist/ first). LFR_BUILD_DIR lets several
// developers build into separate folders (npx tsc --outDir .build/me) and test side by side.
// Integration tests start real processes (mosquitto, an RTSP server, the daemon): keep
// concurrency low on a 2-core box.
const root = process.env.LFR_BUILD_DIR ?? 'dist';
export default {
  files: [`${root}/test/**/*.test.js`],
  concurrency: 2,
  timeout: '180s',
  workerThreads: false,
  verbose: true,
};
