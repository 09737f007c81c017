// Tests run on the compiled output (npm test builds into dist/ first). LFR_BUILD_DIR lets several
// developers build into separate folders (npx tsc --outDir .build/me) and test side by side.
// Integration tests start real processes (mosquitto, an RTSP server, the daemon, Chromium): two
// test files at a time. The safeguards test once failed with two files at once; that had two
// causes, both fixed (issue 19): load shifted which appearance of the enrolled woman inherited a
// stranger's track, whose looks were then averaged with hers (the tracker now splits a look that
// is another person's), and its alert listener and tablet page signed in as the same officer, so
// the broker's one-session-per-account rule knocked them off each other.
const root = process.env.LFR_BUILD_DIR ?? 'dist';
export default {
  files: [`${root}/test/**/*.test.js`],
  concurrency: 2,
  timeout: '180s',
  workerThreads: false,
  verbose: true,
};
