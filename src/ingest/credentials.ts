// Camera credentials come from a separate 0600 file holding "user:password" (secrets by
// reference, GUIDE practice 6). Errors name the file, never its content.
import { statSync } from 'node:fs';
import { NotARegularFile, readSmallFileSync } from '../util/files.js';

export interface Credentials {
  user: string;
  password: string;
}

export class CredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialsError';
  }
}

/** Parse "user:password" (the password may contain ':'; one trailing newline is ignored). */
export function parseCredentials(text: string, file: string): Credentials {
  const line = text.replace(/\r?\n$/, '');
  const i = line.indexOf(':');
  if (i <= 0 || line.includes('\n')) {
    throw new CredentialsError(`credentials file ${file} must hold one line "user:password"`);
  }
  return { user: line.slice(0, i), password: line.slice(i + 1) };
}

/** Read the file; `loose` is true when group or others may read it (the caller warns). */
export function readCredentials(file: string): { creds: Credentials; loose: boolean } {
  let text: string;
  let mode: number;
  try {
    mode = statSync(file).mode;
    text = readSmallFileSync(file, 64 * 1024).toString('utf8');
  } catch (err) {
    throw new CredentialsError(err instanceof NotARegularFile ? `credentials file: ${err.message}` : `cannot read credentials file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return { creds: parseCredentials(text, file), loose: (mode & 0o077) !== 0 };
}
