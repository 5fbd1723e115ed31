// The shell patterns of `${V#p}`, `${V%p}` and `${V/p/r}`: `*`, `?`, literals, `\` escapes, no
// brackets (BuildKit's subset). BuildKit compiles them to Go regexps, which run in linear time; a
// JavaScript RegExp backtracks, so `${V#*a*a*a*b}` on a long value could hang a runner. These
// matchers simulate the pattern as an automaton instead: O(value × pattern), whatever the input.
import { ExpansionError } from './errors';

type Token = { kind: 'star' } | { kind: 'any' } | { kind: 'char'; ch: string };

export function compilePattern(pattern: string): Token[] {
  const chars = Array.from(pattern);
  const tokens: Token[] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '*') tokens.push({ kind: 'star' });
    else if (c === '?') tokens.push({ kind: 'any' });
    else if (c === '\\') {
      const n = chars[i + 1];
      // `\}` and `\/` only protect the ${} syntax: the backslash is dropped, the character is literal.
      if (n === '}' || n === '/') continue;
      if (n !== '*' && n !== '?' && n !== '\\') throw new ExpansionError(`invalid pattern (${pattern}) in substitution: invalid escape '\\${n ?? ''}'`);
      tokens.push({ kind: 'char', ch: n });
      i++;
    } else tokens.push({ kind: 'char', ch: c });
  }
  return tokens;
}

/** Adds `state` and, across stars that may match nothing, the states after it; keeps the earliest start. */
function add(threads: Map<number, number>, tokens: Token[], state: number, start: number): void {
  for (let s = state; ; s++) {
    const known = threads.get(s);
    if (known !== undefined && known <= start) return;
    threads.set(s, start);
    if (tokens[s]?.kind !== 'star') return;
  }
}

function step(threads: Map<number, number>, tokens: Token[], ch: string): Map<number, number> {
  const next = new Map<number, number>();
  for (const [state, start] of threads) {
    const t = tokens[state];
    if (!t) continue;
    if (t.kind === 'star') add(next, tokens, state, start);
    else if (t.kind === 'any' || t.ch === ch) add(next, tokens, state + 1, start);
  }
  return next;
}

/** Lengths of the prefixes of `chars` the whole pattern matches, shortest first. */
function prefixMatches(tokens: Token[], chars: string[]): number[] {
  let threads = new Map<number, number>();
  add(threads, tokens, 0, 0);
  const ends: number[] = [];
  for (let i = 0; ; i++) {
    if (threads.has(tokens.length)) ends.push(i);
    if (i === chars.length || threads.size === 0) return ends;
    threads = step(threads, tokens, chars[i]!);
  }
}

/** `${V#p}` (shortest) and `${V##p}` (longest): the value without the matching prefix. */
export function trimPatternPrefix(pattern: string, value: string, longest: boolean): string {
  const chars = Array.from(value);
  const ends = prefixMatches(compilePattern(pattern), chars);
  if (ends.length === 0) return value;
  return chars.slice(longest ? ends[ends.length - 1] : ends[0]).join('');
}

/** `${V%p}` and `${V%%p}`: a suffix of the value is a prefix of the reversed value. */
export function trimPatternSuffix(pattern: string, value: string, longest: boolean): string {
  const tokens = compilePattern(pattern).reverse();
  const reversed = Array.from(value).reverse();
  const ends = prefixMatches(tokens, reversed);
  if (ends.length === 0) return value;
  return reversed
    .slice(longest ? ends[ends.length - 1] : ends[0])
    .reverse()
    .join('');
}

/** The leftmost match at or after `from`, the longest one there: [start, end) in code points. */
function findMatch(tokens: Token[], chars: string[], from: number): [number, number] | undefined {
  let threads = new Map<number, number>();
  let best: [number, number] | undefined;
  for (let i = from; ; i++) {
    if (!best) add(threads, tokens, 0, i);
    const start = threads.get(tokens.length);
    if (start !== undefined && (!best || start < best[0] || (start === best[0] && i > best[1]))) best = [start, i];
    if (best) for (const [state, s] of threads) if (s > best[0]) threads.delete(state);
    if (i === chars.length || (best && threads.size === 0)) return best;
    threads = step(threads, tokens, chars[i]!);
  }
}

/** `${V/p/r}` replaces the first match, `${V//p/r}` every one (an empty match right after a match is skipped, as Go does). */
export function replacePattern(pattern: string, value: string, replacement: string, all: boolean): string {
  const tokens = compilePattern(pattern);
  const chars = Array.from(value);
  if (!all) {
    const m = findMatch(tokens, chars, 0);
    return m ? chars.slice(0, m[0]).join('') + replacement + chars.slice(m[1]).join('') : value;
  }
  let out = '';
  let lastEnd = 0;
  let search = 0;
  while (search <= chars.length) {
    const m = findMatch(tokens, chars, search);
    if (!m) break;
    out += chars.slice(lastEnd, m[0]).join('');
    if (m[1] > lastEnd || m[0] === 0) out += replacement;
    lastEnd = m[1];
    search = Math.max(search + 1, m[1]);
  }
  return out + chars.slice(lastEnd).join('');
}
