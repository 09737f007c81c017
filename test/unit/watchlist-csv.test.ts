import test from 'ava';
import { parseWatchlistCsv, parseCsvRecords, CsvError } from '../../src/watchlist/csv.js';
import { memberNameProblem } from '../../src/watchlist/names.js';

const H = 'subject_ref,category,reason,images\n';
const parse = (text: string | Buffer, maxSubjects = 100) => parseWatchlistCsv(typeof text === 'string' ? Buffer.from(text, 'utf8') : text, { maxSubjects });
const problems = (text: string | Buffer, maxSubjects = 100): string[] => {
  try {
    parse(text, maxSubjects);
  } catch (err) {
    if (err instanceof CsvError) return [err.message, ...err.problems];
    throw err;
  }
  return [];
};

test('a valid CSV: quoting, CRLF, BOM, several images', (t) => {
  const rows = parse(`\ufeff${H}WL-1,wanted,"burglary, ""armed""",a.jpg\r\nWL-2,missing person,vulnerable adult,b/x.jpg;c.jpg\r\n`);
  t.is(rows.length, 2);
  t.deepEqual(rows[0], { line: 2, subjectRef: 'WL-1', category: 'wanted', reason: 'burglary, "armed"', images: ['a.jpg'] });
  t.deepEqual(rows[1]?.images, ['b/x.jpg', 'c.jpg']);
});

test('formula-like cells are refused in any column', (t) => {
  for (const cell of ['=cmd()', '+1', '-2', '@SUM(A1)', '\tx']) {
    const p = problems(`${H}WL-1,wanted,${cell},a.jpg\n`);
    t.true(p.some((x) => /formula-like/.test(x)), `${JSON.stringify(cell)}: ${p.join(' | ')}`);
  }
  t.true(problems(`${H}"=HYPERLINK(""x"")",wanted,r,a.jpg\n`).some((x) => /subject_ref starts with "="/.test(x)));
});

test('duplicate references, duplicate images, wrong column counts are refused', (t) => {
  t.true(problems(`${H}WL-1,wanted,r,a.jpg\nWL-1,wanted,r,b.jpg\n`).some((x) => /duplicate subject_ref \(first on line 2\)/.test(x)));
  t.true(problems(`${H}WL-1,wanted,r,a.jpg\nWL-2,wanted,r,a.jpg\n`).some((x) => /already listed on line 2/.test(x)));
  t.true(problems(`${H}WL-1,wanted,a.jpg\n`).some((x) => /3 columns, expected 4/.test(x)));
  t.regex(problems(`subject,category,reason,images\nWL-1,wanted,r,a.jpg\n`)[0]!, /wrong columns/);
  t.regex(problems(`${H}`)[0]!, /no subjects/);
  t.regex(problems('')[0]!, /empty/);
});

test('wrong encoding: Latin-1 and UTF-16 are refused', (t) => {
  const latin1 = Buffer.concat([Buffer.from(`${H}WL-1,wanted,caf`), Buffer.from([0xe9]), Buffer.from(',a.jpg\n')]);
  t.regex(problems(latin1)[0]!, /not valid UTF-8/);
  const utf16 = Buffer.from(`\ufeff${H}WL-1,wanted,r,a.jpg\n`, 'utf16le');
  t.true(problems(utf16).length > 0);
});

test('malformed quoting is refused', (t) => {
  t.regex(problems(`${H}WL-1,wanted,"open,a.jpg\n`)[1]!, /not closed/);
  t.regex(problems(`${H}WL-1,wanted,"x"y,a.jpg\n`)[1]!, /after a closing quote/);
  t.regex(problems(`${H}WL-1,wa"nted,r,a.jpg\n`)[1]!, /quote inside/);
});

test('path traversal and absolute paths in image names are refused', (t) => {
  for (const name of ['../etc/passwd', 'a/../../b.jpg', '/etc/shadow', 'C:/x.jpg', 'a\\b.jpg', './a.jpg', 'a//b.jpg', 'watchlist.csv']) {
    t.true(problems(`${H}WL-1,wanted,r,${name}\n`).length > 1, name);
  }
  t.is(memberNameProblem('Some_Person/Some_Person_0001.jpg'), null);
  t.regex(memberNameProblem('..') ?? '', /traversal/);
});

test('field rules: reference, category, reason, image count, maxSubjects', (t) => {
  t.true(problems(`${H}WL 1!,wanted,r,a.jpg\n`).some((x) => /subject_ref must/.test(x)));
  t.true(problems(`${H}WL-1,Wanted!,r,a.jpg\n`).some((x) => /category is not one of the allowed categories: wanted, suspect/.test(x)));
  // Free text that LOOKS like a category (a name, an allegation) is refused, and never echoed.
  const free = problems(`${H}WL-1,john smith burglar,r,a.jpg\n`);
  t.true(free.some((x) => /category is not one of/.test(x)));
  t.false(free.join().includes('john smith'));
  t.deepEqual(problems(`${H}WL-1,missing person,r,a.jpg\nWL-2,court order,r,b.jpg\n`), []);
  t.true(problems(`${H}WL-1,wanted,${'x'.repeat(501)},a.jpg\n`).some((x) => /reason must/.test(x)));
  t.true(problems(`${H}WL-1,wanted,r,\n`).some((x) => /images must list/.test(x)));
  t.true(problems(`${H}WL-1,wanted,r,${Array.from({ length: 11 }, (_, i) => `${i}.jpg`).join(';')}\n`).some((x) => /images must list/.test(x)));
  t.regex(problems(`${H}WL-1,wanted,r,a.jpg\nWL-2,wanted,r,b.jpg\n`, 1)[0]!, /more than watchlist.maxSubjects/);
});

test('record splitter keeps newlines inside quotes and reports start lines', (t) => {
  const recs = parseCsvRecords('a,"x\ny",c\nd,e,f');
  t.deepEqual(recs, [{ line: 1, fields: ['a', 'x\ny', 'c'] }, { line: 3, fields: ['d', 'e', 'f'] }]);
});
