// The watchlist CSV: a small strict parser of our own rather than a library, because the job is
// to REFUSE: a lenient parser (the default of the common ones) accepts ragged rows, stray quotes
// and any encoding, which is exactly what must fail here. RFC 4180 quoting, UTF-8 only (a BOM is
// allowed), LF or CRLF line ends, one fixed header.
//
// Columns: subject_ref,category,reason,images   (images: one or more file names, separated by ";")
import { memberNameProblem } from './names.js';
import { WATCHLIST_CATEGORIES } from './bundle-format.js';

export const CSV_HEADER = ['subject_ref', 'category', 'reason', 'images'] as const;
/** More reference images than this for one person adds little and slows the van's import. */
export const MAX_IMAGES_PER_SUBJECT = 10;
export const MAX_REASON_CHARS = 500;
/** How many problems a failed CSV reports before "and N more" (a bad file tends to fail on every row). */
const MAX_REPORTED = 20;

export interface CsvSubject {
  line: number;
  subjectRef: string;
  category: string;
  reason: string;
  images: string[];
}

export class CsvError extends Error {
  constructor(
    message: string,
    readonly problems: string[],
  ) {
    super(message);
    this.name = 'CsvError';
  }
}

const SUBJECT_REF = /^[A-Za-z0-9][A-Za-z0-9 ._/:#-]{0,63}$/;
// Cells a spreadsheet would run as a formula (CSV injection, OWASP): = + - @ and tab/CR lead-ins.
const FORMULA = /^[=+\-@\t\r]/;

/** Split RFC 4180 text into records of fields; throws CsvError on malformed quoting. */
export function parseCsvRecords(text: string): { line: number; fields: string[] }[] {
  const out: { line: number; fields: string[] }[] = [];
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const startLine = line;
    const fields: string[] = [];
    for (;;) {
      let field = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= n) throw new CsvError('CSV is malformed', [`line ${startLine}: quoted field not closed`]);
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          field += c;
          i++;
        }
        const next = text[i];
        if (next !== undefined && next !== ',' && next !== '\n' && !(next === '\r' && text[i + 1] === '\n')) {
          throw new CsvError('CSV is malformed', [`line ${line}: text after a closing quote`]);
        }
      } else {
        while (i < n && text[i] !== ',' && text[i] !== '\n' && !(text[i] === '\r' && text[i + 1] === '\n')) {
          if (text[i] === '"') throw new CsvError('CSV is malformed', [`line ${line}: quote inside an unquoted field`]);
          if (text[i] === '\r') throw new CsvError('CSV is malformed', [`line ${line}: bare carriage return`]);
          field += text[i];
          i++;
        }
      }
      fields.push(field);
      if (text[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    if (text[i] === '\r') i++;
    if (text[i] === '\n') {
      i++;
      line++;
    }
    out.push({ line: startLine, fields });
  }
  return out;
}

/** Decode bytes as strict UTF-8 (a leading BOM is dropped); throws CsvError otherwise. */
export function decodeCsvBytes(bytes: Uint8Array): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new CsvError('CSV is not valid UTF-8 (save it as "CSV UTF-8")', ['wrong encoding: bytes that are not UTF-8']);
  }
  if (text.includes('\u0000')) throw new CsvError('CSV contains NUL bytes (is it UTF-16 or a binary file?)', ['wrong encoding: NUL byte']);
  return text;
}

export interface CsvLimits {
  maxSubjects: number;
}

/** Parse and validate the whole CSV; every problem found is listed in the CsvError. */
export function parseWatchlistCsv(bytes: Uint8Array, limits: CsvLimits): CsvSubject[] {
  const { subjects, problems } = checkWatchlistCsv(bytes, limits);
  if (problems.length > 0) {
    const shown = problems.slice(0, MAX_REPORTED);
    if (problems.length > MAX_REPORTED) shown.push(`... and ${problems.length - MAX_REPORTED} more`);
    throw new CsvError(`CSV is not valid (${problems.length} problem${problems.length === 1 ? '' : 's'})`, shown);
  }
  return subjects;
}

/**
 * Every row problem of the CSV at once, with the rows that parsed (the station's builder reports
 * them together with the image problems, in one pass). A file that is not a CSV of this shape at
 * all (encoding, quoting, header, size) still throws CsvError.
 */
export function checkWatchlistCsv(bytes: Uint8Array, limits: CsvLimits): { subjects: CsvSubject[]; problems: string[] } {
  const records = parseCsvRecords(decodeCsvBytes(bytes)).filter((r) => !(r.fields.length === 1 && r.fields[0] === ''));
  const problems: string[] = [];
  const header = records.shift();
  if (!header) throw new CsvError('CSV is empty', ['no header line']);
  if (header.fields.length !== CSV_HEADER.length || header.fields.some((f, i) => f !== CSV_HEADER[i])) {
    throw new CsvError('CSV has the wrong columns', [`line 1: expected header "${CSV_HEADER.join(',')}", got "${header.fields.join(',')}"`]);
  }
  if (records.length === 0) throw new CsvError('CSV lists no subjects', ['no rows after the header']);
  if (records.length > limits.maxSubjects) {
    throw new CsvError(`CSV lists ${records.length} subjects, more than watchlist.maxSubjects (${limits.maxSubjects})`, []);
  }
  const refs = new Map<string, number>();
  const images = new Map<string, number>();
  const subjects: CsvSubject[] = [];
  for (const { line, fields } of records) {
    const at = `line ${line}`;
    if (fields.length !== CSV_HEADER.length) {
      problems.push(`${at}: ${fields.length} columns, expected ${CSV_HEADER.length}`);
      continue;
    }
    const [subjectRef, category, reason, imageCell] = fields as [string, string, string, string];
    let bad = false;
    fields.forEach((f, i) => {
      if (FORMULA.test(f)) {
        problems.push(`${at}: column ${CSV_HEADER[i]} starts with "${f[0] === '\t' ? '\\t' : f[0] === '\r' ? '\\r' : f[0]}" (formula-like cells are refused)`);
        bad = true;
      }
    });
    if (bad) continue;
    if (!SUBJECT_REF.test(subjectRef)) problems.push(`${at}: subject_ref must be 1-64 letters, digits, space . _ / : # - and start with a letter or digit`);
    // Never echo the cell: it is whatever was typed there (could be a name).
    if (!(WATCHLIST_CATEGORIES as readonly string[]).includes(category)) problems.push(`${at}: category is not one of the allowed categories: ${WATCHLIST_CATEGORIES.join(', ')}`);
    // eslint-disable-next-line no-control-regex
    if (reason.length > MAX_REASON_CHARS || /[\u0000-\u001f\u007f]/.test(reason)) problems.push(`${at}: reason must be at most ${MAX_REASON_CHARS} characters without control characters or line breaks`);
    const prev = refs.get(subjectRef);
    if (prev !== undefined) problems.push(`${at}: duplicate subject_ref (first on line ${prev})`);
    else refs.set(subjectRef, line);
    const names = imageCell.split(';');
    if (imageCell === '' || names.length > MAX_IMAGES_PER_SUBJECT) problems.push(`${at}: images must list 1-${MAX_IMAGES_PER_SUBJECT} file names separated by ";"`);
    for (const name of names) {
      const p = memberNameProblem(name);
      if (p) {
        problems.push(`${at}: image "${name}": ${p}`);
        continue;
      }
      if (name === 'watchlist.csv') problems.push(`${at}: image "${name}": reserved name`);
      const other = images.get(name);
      if (other !== undefined) problems.push(`${at}: image "${name}" is already listed on line ${other}`);
      else images.set(name, line);
    }
    subjects.push({ line, subjectRef, category, reason, images: names });
  }
  return { subjects, problems };
}
