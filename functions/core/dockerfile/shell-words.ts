// Parse-time splitting of an instruction line, as Docker's parser does it before any expansion:
// the keyword, the leading `--flags`, JSON arrays, and quote-aware words that keep their quotes
// (quotes are removed later, when the word is expanded in its ARG/ENV scope).

/** Docker splits on these (not on newlines: a logical line has none left). */
export const WHITESPACE = /[\t\v\f\r ]+/;
const SPACE = /^\s$/u;

export interface SplitCommand {
  /** The instruction keyword as written (case preserved). */
  keyword: string;
  /** `--name=value` words before the arguments, quotes and escapes resolved. */
  flags: string[];
  /** Everything after the keyword and flags, trimmed. */
  rest: string;
}

export function splitCommand(line: string): SplitCommand {
  const trimmed = line.trim();
  const m = WHITESPACE.exec(trimmed);
  if (!m) return { keyword: trimmed, flags: [], rest: '' };
  const keyword = trimmed.slice(0, m.index);
  const { flags, rest } = extractFlags(trimmed.slice(m.index + m[0].length));
  return { keyword, flags, rest: rest.trim() };
}

/**
 * Takes the `--flag` words off the front of an argument string. A word that does not start with
 * `--` ends the flags; a bare `--` ends them and is dropped. Quotes group, `\` escapes.
 */
export function extractFlags(line: string): { flags: string[]; rest: string } {
  const flags: string[] = [];
  const chars = Array.from(line);
  let word = '';
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let quote = '';
  let blankOk = false;
  let offset = 0; // code units consumed, to slice `rest` from the original string
  for (let i = 0; i <= chars.length; i++) {
    const atEnd = i === chars.length;
    const ch = chars[i] ?? '';
    if (phase === 'spaces') {
      if (atEnd) break;
      if (SPACE.test(ch)) {
        offset += ch.length;
        continue;
      }
      if (ch !== '-' || chars[i + 1] !== '-') return { flags, rest: line.slice(offset) };
      phase = 'word';
    }
    if (atEnd) {
      if (word !== '--' && (blankOk || word !== '')) flags.push(word);
      break;
    }
    offset += ch.length;
    if (phase === 'word') {
      if (SPACE.test(ch)) {
        phase = 'spaces';
        if (word === '--') return { flags, rest: line.slice(offset) };
        if (blankOk || word !== '') flags.push(word);
        word = '';
        blankOk = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOk = true;
        phase = 'quote';
        continue;
      }
      if (ch === '\\') {
        if (i + 1 === chars.length) continue;
        i++;
        word += chars[i];
        offset += chars[i]!.length;
        continue;
      }
      word += ch;
      continue;
    }
    // inside quotes
    if (ch === quote) {
      phase = 'word';
      continue;
    }
    if (ch === '\\') {
      if (i + 1 === chars.length) {
        phase = 'word';
        continue;
      }
      i++;
      word += chars[i];
      offset += chars[i]!.length;
      continue;
    }
    word += ch;
  }
  return { flags, rest: '' };
}

/**
 * Splits on whitespace outside quotes, keeping quotes and escapes in the words (ENV, LABEL and ARG
 * are split this way at parse time; the words are expanded later).
 */
export function splitWords(rest: string, escape: string): string[] {
  const words: string[] = [];
  const chars = Array.from(rest);
  let word = '';
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let quote = '';
  let blankOk = false;
  for (let i = 0; i <= chars.length; i++) {
    const atEnd = i === chars.length;
    let ch = chars[i] ?? '';
    if (phase === 'spaces') {
      if (atEnd) break;
      if (SPACE.test(ch)) continue;
      phase = 'word';
    }
    if (atEnd) {
      if (blankOk || word !== '') words.push(word);
      break;
    }
    if (phase === 'word') {
      if (SPACE.test(ch)) {
        phase = 'spaces';
        if (blankOk || word !== '') words.push(word);
        word = '';
        blankOk = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOk = true;
        phase = 'quote';
      }
      if (ch === escape) {
        if (i + 1 === chars.length) continue; // an escape at the end is dropped
        // Outside quotes the escape and the character it escapes are both kept, even a quote.
        word += ch;
        i++;
        ch = chars[i]!;
      }
      word += ch;
      continue;
    }
    if (ch === quote) phase = 'word';
    // Single quotes escape nothing.
    if (ch === escape && quote !== "'") {
      if (i + 1 === chars.length) {
        phase = 'word';
        continue;
      }
      word += ch;
      i++;
      ch = chars[i]!;
    }
    word += ch;
  }
  return words;
}

export class NotStringArrayError extends Error {
  override name = 'NotStringArrayError';
  constructor() {
    super('when using JSON array syntax, arrays must be comprised of strings only');
  }
}

/** Where the JSON value starting at `[` ends (exclusive), or -1 if it never closes. */
function jsonArrayEnd(s: string): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/**
 * Docker's exec form: a JSON array of strings. Returns undefined when `rest` is not a JSON array
 * (then it is shell form, as Docker does), throws when it is an array of something else. Like
 * Go's json.Decoder, anything after the first JSON value is ignored.
 */
export function tryParseJsonArray(rest: string): string[] | undefined {
  const s = rest.replace(/^\s+/u, '');
  if (!s.startsWith('[')) return undefined;
  const end = jsonArrayEnd(s);
  if (end === -1) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(s.slice(0, end));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value)) return undefined;
  if (!value.every((v) => typeof v === 'string')) throw new NotStringArrayError();
  return value as string[];
}
