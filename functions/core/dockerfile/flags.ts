// Instruction flags (`--from=build`, `--link`, repeated `--mount=…`), checked against what each
// instruction accepts, the way Docker's BFlags does.
export type FlagKind = 'string' | 'strings' | 'bool';

export type FlagSpec = Record<string, FlagKind>;

export interface ParsedFlags {
  strings: Map<string, string>;
  lists: Map<string, string[]>;
  bools: Map<string, boolean>;
}

/** Thrown with a detail; the caller adds the line. */
export class FlagError extends Error {
  override name = 'FlagError';
}

export function parseFlags(instruction: string, words: string[], spec: FlagSpec): ParsedFlags {
  const parsed: ParsedFlags = { strings: new Map(), lists: new Map(), bools: new Map() };
  const seen = new Set<string>();
  for (const word of words) {
    if (!word.startsWith('--')) throw new FlagError(`${instruction} flag "${word}" must start with --`);
    const body = word.slice(2);
    const eq = body.indexOf('=');
    const name = eq === -1 ? body : body.slice(0, eq);
    const value = eq === -1 ? undefined : body.slice(eq + 1);
    const kind = spec[name];
    if (!kind) {
      const known = Object.keys(spec).map((k) => `--${k}`);
      throw new FlagError(`unknown flag "--${name}" for ${instruction}${known.length ? ` (it takes ${known.join(', ')})` : ' (it takes no flags)'}`);
    }
    if (seen.has(name) && kind !== 'strings') throw new FlagError(`duplicate flag "--${name}" for ${instruction}`);
    seen.add(name);
    if (kind === 'bool') {
      if (value === undefined) parsed.bools.set(name, true);
      else if (/^true$/i.test(value)) parsed.bools.set(name, true);
      else if (/^false$/i.test(value)) parsed.bools.set(name, false);
      else throw new FlagError(`flag "--${name}" of ${instruction} expects true or false, not "${value}"`);
      continue;
    }
    if (value === undefined) throw new FlagError(`flag "--${name}" of ${instruction} is missing a value: write --${name}=<value>`);
    if (kind === 'string') parsed.strings.set(name, value);
    else parsed.lists.set(name, [...(parsed.lists.get(name) ?? []), value]);
  }
  return parsed;
}
