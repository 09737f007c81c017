// One root logger (pino). Components take `log.child({ module })` through their constructor.
// Logs are evidence and a leak risk at once: redact every field that could carry a face, a
// template, an identity, a key or a camera credential, wherever it appears in a log object.
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Field names that must never reach a log line, at any depth up to 3. */
export const REDACTED_KEYS = [
  'embedding', 'embeddings', 'template', 'templates', 'image', 'images', 'jpeg', 'crop', 'faceJpeg',
  'contextJpeg', 'referenceJpeg', 'thumbnail', 'pixels', 'data', 'subjectRef', 'subject', 'reasonText',
  'key', 'secretKey', 'privateKey', 'password', 'credentials', 'url', 'uri', 'authorization',
];

function redactPaths(): string[] {
  const paths: string[] = [];
  for (const k of REDACTED_KEYS) paths.push(k, `*.${k}`, `*.*.${k}`);
  return paths;
}

/** Strip user:password@ from any URL-looking text (for messages that must mention a URL). */
export function scrubUrl(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@');
}

export function createLogger(opts: { level?: string; destination?: pino.DestinationStream; name?: string } = {}): Logger {
  const options: LoggerOptions = {
    name: opts.name ?? 'lfr',
    level: opts.level ?? process.env.LFR_LOG_LEVEL ?? 'info',
    redact: { paths: redactPaths(), censor: '[redacted]' },
    serializers: { err: (e: Error) => ({ type: e.name, message: scrubUrl(e.message), code: (e as NodeJS.ErrnoException).code }) },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return opts.destination ? pino(options, opts.destination) : pino(options, pino.destination(2));
}

/** A logger that drops everything: for CLI commands that print their own output, and tests. */
export const silentLogger = (): Logger => pino({ level: 'silent' });
