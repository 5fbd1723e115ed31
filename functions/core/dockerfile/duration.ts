// Go's time.ParseDuration, which HEALTHCHECK's --interval/--timeout/--start-period/--start-interval
// use: `30s`, `1m30s`, `1.5h`, `500ms`, `2us`; a bare `0` is allowed. Result in nanoseconds.
const UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3, // U+00B5 micro sign
  'μs': 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

export class DurationError extends Error {
  override name = 'DurationError';
}

export function parseGoDuration(input: string): number {
  const invalid = () => new DurationError(`Invalid duration "${input}": expected a number and unit such as 30s, 1m30s or 500ms`);
  let s = input;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw invalid();
  let total = 0;
  const part = /^([0-9]*(?:\.[0-9]*)?)([^0-9.]+)/;
  while (s !== '') {
    const m = part.exec(s);
    if (!m || m[1] === '' || m[1] === '.') throw invalid();
    const unit = UNITS[m[2]!];
    if (unit === undefined) throw new DurationError(`Invalid duration "${input}": unknown unit "${m[2]}" (use ns, us, ms, s, m or h)`);
    total += Number(m[1]) * unit;
    s = s.slice(m[0].length);
  }
  // Go refuses what overflows int64 ns; we also stay within exact JS integers (about 104 days).
  if (!Number.isSafeInteger(Math.round(total))) throw new DurationError(`Invalid duration "${input}": too long`);
  return sign * Math.round(total);
}
