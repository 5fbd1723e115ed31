// Docker's variable expansion and word splitting (BuildKit's shell lexer): `$V`, `${V}`,
// `${V:-x}` `${V-x}` `${V:+x}` `${V+x}` `${V:?msg}` `${V?msg}`, `${V#p}` `${V##p}` `${V%p}` `${V%%p}`,
// `${V/p/r}` `${V//p/r}`; single quotes are literal, double quotes expand, the escape character
// escapes. It is not a shell: no command substitution, no globbing, no arithmetic.
import { ExpansionError } from './errors';
import { replacePattern, trimPatternPrefix, trimPatternSuffix } from './glob-pattern';

/** Returns the variable's value, or undefined when it is not set. */
export type EnvLookup = (name: string) => string | undefined;

export interface LexOptions {
  escape?: string;
  /** Keep quote characters in the result (used to tell quoted heredoc delimiters). */
  rawQuotes?: boolean;
  /** Keep escape characters in the result. */
  rawEscapes?: boolean;
  /** Leave references to unset variables as written instead of expanding them to "". */
  skipUnset?: boolean;
  /** Quotes are ordinary characters (heredoc bodies COPY expands). */
  skipQuotes?: boolean;
  /** `<<` keeps the blanks after it in the same word, so `<< EOF` reads as one heredoc word. */
  heredocWords?: boolean;
}

export interface ExpandResult {
  /** The word with quotes removed and variables replaced; whitespace kept. */
  result: string;
  /** The same split into words on unquoted whitespace, including whitespace from variables. */
  words: string[];
  matched: Set<string>;
  unmatched: Set<string>;
}

const SPACE = /^\s$/u;
const LETTER = /^\p{L}$/u;
const DIGIT = /^\p{Nd}$/u;
const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);
const EOF = '';
const MAX_NESTING = 100;

class Words {
  private word = '';
  private inWord = false;
  readonly words: string[] = [];

  addChar(ch: string): void {
    if (SPACE.test(ch)) {
      if (this.inWord && this.word !== '') {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
    } else {
      this.addRaw(ch);
    }
  }

  addRaw(s: string): void {
    this.word += s;
    this.inWord = true;
  }

  addSplitting(s: string): void {
    for (const ch of s) this.addChar(ch);
  }

  finish(): string[] {
    if (this.word !== '') this.words.push(this.word);
    this.word = '';
    this.inWord = false;
    return this.words;
  }
}

class Lexer {
  private readonly chars: string[];
  private pos = 0;
  private depth = 0;
  private readonly escape: string;
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();

  constructor(
    source: string,
    private readonly lookup: EnvLookup,
    private readonly options: LexOptions,
  ) {
    this.chars = Array.from(source);
    this.escape = options.escape ?? '\\';
  }

  private peek(): string {
    return this.chars[this.pos] ?? EOF;
  }

  private next(): string {
    return this.chars[this.pos++] ?? EOF;
  }

  private get(name: string): string | undefined {
    const value = this.lookup(name);
    (value === undefined ? this.unmatched : this.matched).add(name);
    return value;
  }

  /** Reads until `stop` (consumed) or the end; throws if `stop` is given and never found. */
  processUntil(stop: string, rawEscapes: boolean): { result: string; words: string[] } {
    // Each nested `${V:-…}` recurses: a hostile word must not exhaust the stack.
    if (this.depth >= MAX_NESTING) throw new ExpansionError(`variable substitutions nested more than ${MAX_NESTING} deep`);
    this.depth++;
    try {
      return this.processUntilUnbounded(stop, rawEscapes);
    } finally {
      this.depth--;
    }
  }

  private processUntilUnbounded(stop: string, rawEscapes: boolean): { result: string; words: string[] } {
    let result = '';
    const words = new Words();
    while (this.peek() !== EOF) {
      const ch = this.peek();
      if (stop !== EOF && ch === stop) {
        this.next();
        return { result, words: words.finish() };
      }
      if (ch === '$') {
        const value = this.processDollar();
        result += value;
        words.addSplitting(value);
      } else if (ch === '<' && this.options.heredocWords && this.chars[this.pos + 1] === '<') {
        let value = this.next() + this.next();
        while (this.peek() !== EOF && SPACE.test(this.peek())) value += this.next();
        result += value;
        words.addRaw(value);
      } else if (ch === "'" && !this.options.skipQuotes) {
        const value = this.processSingleQuote();
        result += value;
        words.addRaw(value);
      } else if (ch === '"' && !this.options.skipQuotes) {
        const value = this.processDoubleQuote(rawEscapes);
        result += value;
        words.addRaw(value);
      } else {
        let c = this.next();
        if (c === this.escape) {
          if (rawEscapes) {
            words.addRaw(c);
            result += c;
          }
          c = this.next();
          if (c === EOF) break; // an escape at the very end is dropped
          words.addRaw(c);
        } else {
          words.addChar(c);
        }
        result += c;
      }
    }
    if (stop !== EOF) throw new ExpansionError(`unexpected end of statement while looking for matching ${stop}`);
    return { result, words: words.finish() };
  }

  private processSingleQuote(): string {
    const raw = this.options.rawQuotes === true;
    let out = raw ? this.next() : (this.next(), '');
    for (;;) {
      const c = this.next();
      if (c === EOF) throw new ExpansionError('unexpected end of statement while looking for matching single-quote');
      if (c === "'") return raw ? out + c : out;
      out += c;
    }
  }

  private processDoubleQuote(rawEscapes: boolean): string {
    const raw = this.options.rawQuotes === true;
    let out = raw ? this.next() : (this.next(), '');
    for (;;) {
      const p = this.peek();
      if (p === EOF) throw new ExpansionError('unexpected end of statement while looking for matching double-quote');
      if (p === '"') {
        const c = this.next();
        return raw ? out + c : out;
      }
      if (p === '$') {
        out += this.processDollar();
        continue;
      }
      let c = this.next();
      if (c === this.escape) {
        if (rawEscapes) out += c;
        const after = this.peek();
        if (after === EOF) continue;
        // Inside double quotes only `"`, `$` and the escape character itself can be escaped.
        if (after === '"' || after === '$' || after === this.escape) c = this.next();
      }
      out += c;
    }
  }

  private processName(): string {
    let name = '';
    while (this.peek() !== EOF) {
      const c = this.peek();
      if (name === '' && DIGIT.test(c)) {
        while (DIGIT.test(this.peek())) name += this.next();
        return name;
      }
      if (name === '' && SPECIAL_PARAMS.has(c)) return this.next();
      if (!LETTER.test(c) && !DIGIT.test(c) && c !== '_') break;
      name += this.next();
    }
    return name;
  }

  private processDollar(): string {
    this.next();
    if (this.peek() !== '{') {
      const name = this.processName();
      if (name === '') return '$';
      const value = this.get(name);
      if (value === undefined && this.options.skipUnset) return `$${name}`;
      return value ?? '';
    }
    this.next();
    const first = this.peek();
    if (first === EOF) throw new ExpansionError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new ExpansionError('syntax error: bad substitution');
    const name = this.processName();
    let op = this.next();
    if (op === EOF) throw new ExpansionError("syntax error: missing '}'");
    let ops = op;
    let nullIsUnset = false;
    if (op === '}') {
      const value = this.get(name);
      if (value === undefined && this.options.skipUnset) return `\${${name}}`;
      return value ?? '';
    }
    if (op === ':') {
      nullIsUnset = true;
      op = this.next();
      ops += op;
    } else if (op === '/') {
      return this.processReplace(name);
    }
    if (!['+', '-', '?', '#', '%'].includes(op)) {
      throw new ExpansionError(`unsupported modifier (${ops}) in substitution`);
    }
    let word: string;
    try {
      word = this.processUntil('}', op === '#' || op === '%').result;
    } catch (err) {
      if (this.peek() === EOF) throw new ExpansionError("syntax error: missing '}'");
      throw err;
    }
    const value = this.get(name);
    if (value === undefined && this.options.skipUnset) return `\${${name}${ops}${word}}`;
    const empty = value === undefined || (nullIsUnset && value === '');
    switch (op) {
      case '-':
        return empty ? word : (value ?? '');
      case '+':
        return empty ? '' : word;
      case '?':
        if (value === undefined) throw new ExpansionError(`${name}: ${word || 'is not allowed to be unset'}`);
        if (empty) throw new ExpansionError(`${name}: ${word || 'is not allowed to be empty'}`);
        return value;
      default: {
        // `#`/`%` remove the shortest matching prefix/suffix, `##`/`%%` the longest.
        const greedy = word.startsWith(op);
        const pattern = greedy ? word.slice(1) : word;
        return op === '%' ? trimPatternSuffix(pattern, value ?? '', greedy) : trimPatternPrefix(pattern, value ?? '', greedy);
      }
    }
  }

  private processReplace(name: string): string {
    const all = this.peek() === '/';
    if (all) this.next();
    let pattern: string;
    let replacement: string;
    try {
      pattern = this.processUntil('/', true).result;
    } catch (err) {
      if (this.peek() === EOF) throw new ExpansionError("syntax error: missing '/' in ${}");
      throw err;
    }
    try {
      replacement = this.processUntil('}', true).result;
    } catch (err) {
      if (this.peek() === EOF) throw new ExpansionError("syntax error: missing '}'");
      throw err;
    }
    const value = this.get(name);
    if (value === undefined && this.options.skipUnset) return `\${${name}/${pattern}/${replacement}}`;
    return replacePattern(pattern, value ?? '', replacement, all);
  }
}

/** Expands a word fully: the result, its words, and which variables were and were not found. */
export function processWord(word: string, lookup: EnvLookup, options: LexOptions = {}): ExpandResult {
  const lexer = new Lexer(word, lookup, options);
  try {
    const { result, words } = lexer.processUntil(EOF, options.rawEscapes === true);
    return { result, words, matched: lexer.matched, unmatched: lexer.unmatched };
  } catch (err) {
    if (err instanceof ExpansionError) throw new ExpansionError(`failed to process "${word.length > 200 ? `${word.slice(0, 200)}…` : word}": ${err.message}`);
    throw err;
  }
}

/** Expands variables and removes quotes, keeping whitespace: ENV, LABEL, WORKDIR, COPY paths, … */
export function expandWord(word: string, lookup: EnvLookup, escape = '\\'): string {
  return processWord(word, lookup, { escape }).result;
}

/** Expands and then splits on unquoted whitespace, as EXPOSE does. */
export function expandWords(word: string, lookup: EnvLookup, escape = '\\'): string[] {
  return processWord(word, lookup, { escape }).words;
}

/** A lookup over a plain record or map. */
export function lookupFrom(env: Record<string, string> | Map<string, string>): EnvLookup {
  if (env instanceof Map) return (name) => env.get(name);
  return (name) => (Object.hasOwn(env, name) ? env[name] : undefined);
}
