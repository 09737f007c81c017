// When a force must publish a deployment's results: 5 working days after the day it ended
// (Europe/London), working days being Monday to Friday except England and Wales bank holidays.
//
// Bank holidays are computed from the rules of the Banking and Financial Dealings Act 1971 as
// applied every year (New Year's Day, Good Friday, Easter Monday, the first and last Mondays of
// May, the last Monday of August, Christmas Day and Boxing Day, each moved to the next weekday
// when it falls at a weekend), with a dated table of the one-off changes made by proclamation.
// Rules rather than a copied list, so the date never silently runs off the end of a table; the
// exceptions table is what must be kept current (source: https://www.gov.uk/bank-holidays, the
// England and Wales list; checked 2026-11-27: no change announced for 2027 or 2028). The unit test
// compares the rules with gov.uk's published dates for 2022-2027.

/** Last time EXCEPTIONS was checked against gov.uk (shown in the report's publish-by rule). */
export const HOLIDAYS_CHECKED = '2026-11-27';

/** One-off changes by proclamation: dates added, and rule dates moved away. ISO dates. */
const EXCEPTIONS: { add: string[]; remove: string[] } = {
  add: [
    '2011-04-29', // wedding of Prince William and Catherine Middleton
    '2012-06-05', // Diamond Jubilee
    '2020-05-08', // VE Day 75 (early May holiday moved from 4 May)
    '2022-06-02', // Platinum Jubilee (spring holiday moved from 30 May)
    '2022-06-03', // Platinum Jubilee
    '2022-09-19', // State Funeral of Queen Elizabeth II
    '2023-05-08', // Coronation of King Charles III
  ],
  remove: ['2012-05-28', '2020-05-04', '2022-05-30'],
};

const iso = (y: number, m: number, d: number): string => `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
/** Day of the week of a civil date, 0 = Sunday (computed in UTC: no time zone involved). */
const weekday = (y: number, m: number, d: number): number => new Date(Date.UTC(y, m - 1, d)).getUTCDay();
const addDays = (y: number, m: number, d: number, n: number): [number, number, number] => {
  const t = new Date(Date.UTC(y, m - 1, d + n));
  return [t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate()];
};

/** Easter Sunday (Gregorian; the anonymous "Meeus/Jones/Butcher" algorithm). */
export function easterSunday(y: number): [number, number] {
  const a = y % 19;
  const b = Math.floor(y / 100);
  const c = y % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return [month, day];
}

function firstMonday(y: number, m: number): string {
  const w = weekday(y, m, 1);
  return iso(y, m, 1 + ((8 - w) % 7));
}

function lastMonday(y: number, m: number): string {
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  const w = weekday(y, m, last);
  return iso(y, m, last - ((w + 6) % 7));
}

/** England and Wales bank holidays of year `y`, ISO dates, sorted. */
export function bankHolidays(y: number): string[] {
  const out = new Set<string>();
  // New Year's Day: the next Monday when at a weekend.
  const ny = weekday(y, 1, 1);
  out.add(iso(y, 1, ny === 6 ? 3 : ny === 0 ? 2 : 1));
  const [em, ed] = easterSunday(y);
  out.add(iso(...addDays(y, em, ed, -2)));
  out.add(iso(...addDays(y, em, ed, 1)));
  out.add(firstMonday(y, 5));
  out.add(lastMonday(y, 5));
  out.add(lastMonday(y, 8));
  // Christmas and Boxing Day: substitutes on the next weekdays not already a holiday.
  const xmas = weekday(y, 12, 25);
  if (xmas === 6) out.add(iso(y, 12, 27)).add(iso(y, 12, 28));
  else if (xmas === 0) out.add(iso(y, 12, 26)).add(iso(y, 12, 27));
  else if (xmas === 5) out.add(iso(y, 12, 25)).add(iso(y, 12, 28));
  else out.add(iso(y, 12, 25)).add(iso(y, 12, 26));
  for (const r of EXCEPTIONS.remove) if (r.startsWith(`${y}-`)) out.delete(r);
  for (const a of EXCEPTIONS.add) if (a.startsWith(`${y}-`)) out.add(a);
  return [...out].sort();
}

/** The civil date (YYYY-MM-DD) of an instant in Europe/London. */
export function londonDate(ms: number): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(ms));
}

/** The working day `n` working days after the date the deployment ended (Europe/London). */
export function workingDaysAfter(endedAt: number, n: number): string {
  let [y, m, d] = londonDate(endedAt).split('-').map(Number) as [number, number, number];
  let left = n;
  const cache = new Map<number, Set<string>>();
  const holiday = (yy: number, s: string) => {
    if (!cache.has(yy)) cache.set(yy, new Set(bankHolidays(yy)));
    return cache.get(yy)!.has(s);
  };
  while (left > 0) {
    [y, m, d] = addDays(y, m, d, 1);
    const w = weekday(y, m, d);
    if (w !== 0 && w !== 6 && !holiday(y, iso(y, m, d))) left--;
  }
  return iso(y, m, d);
}

export const PUBLISH_WORKING_DAYS = 5;

/** The publish-by date of a deployment that ended at `endedAt`, and the rule in words. */
export function publishBy(endedAt: number): { date: string; rule: string } {
  return {
    date: workingDaysAfter(endedAt, PUBLISH_WORKING_DAYS),
    rule: `${PUBLISH_WORKING_DAYS} working days after the end (${londonDate(endedAt)}), England and Wales bank holidays excluded (rules + exceptions checked ${HOLIDAYS_CHECKED})`,
  };
}
