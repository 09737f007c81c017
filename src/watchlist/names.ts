// Member names inside a bundle (image file names from the CSV). They are relative POSIX paths
// below the images folder: absolute paths, drive letters, backslashes, "." and ".." segments and
// control characters are refused, so neither the station builder nor anything that ever unpacks
// a bundle can be pointed outside that folder.
export const MAX_NAME_BYTES = 255;

/** Returns a reason when `name` is not acceptable, else null. */
export function memberNameProblem(name: string): string | null {
  if (name.length === 0) return 'empty file name';
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return `file name longer than ${MAX_NAME_BYTES} bytes`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'control character in file name';
  if (name.includes('\\')) return 'backslash in file name (use / between folders)';
  if (name.startsWith('/')) return 'absolute path not allowed';
  if (/^[A-Za-z]:/.test(name)) return 'drive letter not allowed';
  for (const seg of name.split('/')) {
    if (seg === '') return 'empty path segment ("//" or trailing "/")';
    if (seg === '.' || seg === '..') return 'path traversal ("." or "..") not allowed';
  }
  return null;
}
