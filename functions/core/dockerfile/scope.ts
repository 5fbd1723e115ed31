// The ARG/ENV scope each instruction is expanded in, computed the way BuildKit does it:
// - meta-args (ARGs before the first FROM) and the automatic platform args are the global scope,
//   used by FROM lines only; inside a stage a meta-arg is visible once redeclared with `ARG NAME`;
// - a stage starts from its base image's ENV; ARG and ENV then apply in order, each taking effect
//   from the next instruction (so `ENV a=1 b=$a` sees the old `a`), and a later one of the same name
//   wins — hence ENV after ARG overrides it, as the reference says;
// - an ARG's value is the --build-arg if given, else its default expanded in the scope so far,
//   else the meta-arg's value; an ARG with none of those is declared but unset;
// - the predefined proxy args reach RUN's environment from --build-arg without an ARG line, but are
//   not expanded in instructions.
import type { Platform } from '../oci/types';
import { DockerfileError, ExpansionError } from './errors';
import { expandWord, type EnvLookup } from './expand';
import type { Instruction } from './instructions';
import type { Dockerfile, Stage } from './parse';

export const PROXY_ARGS = [
  'HTTP_PROXY',
  'http_proxy',
  'HTTPS_PROXY',
  'https_proxy',
  'FTP_PROXY',
  'ftp_proxy',
  'NO_PROXY',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
] as const;

const PROXY_ARG_SET = new Set<string>(PROXY_ARGS);
/** BuildKit's SBOM switches: declared as ARGs but never put in the environment. */
const NON_ENV_ARGS = new Set(['BUILDKIT_SBOM_SCAN_CONTEXT', 'BUILDKIT_SBOM_SCAN_STAGE']);

export function formatPlatform(p: Pick<Platform, 'os' | 'architecture' | 'variant'>): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** BUILDPLATFORM, BUILDOS, BUILDARCH, BUILDVARIANT and the TARGET* equivalents. */
export function platformArgs(build: Platform, target: Platform = build): Record<string, string> {
  const args: Record<string, string> = {};
  for (const [prefix, p] of [
    ['BUILD', build],
    ['TARGET', target],
  ] as const) {
    args[`${prefix}PLATFORM`] = formatPlatform(p);
    args[`${prefix}OS`] = p.os;
    args[`${prefix}ARCH`] = p.architecture;
    args[`${prefix}VARIANT`] = p.variant ?? '';
  }
  return args;
}

export interface ScopeOptions {
  /** --build-arg values. */
  buildArgs?: Record<string, string>;
  /** Usually platformArgs(build, target); the global scope and stages that declare them see these. */
  automaticArgs?: Record<string, string>;
}

function lookupIn(map: Map<string, string>): EnvLookup {
  return (name) => map.get(name);
}

function expandAt(line: number, word: string, lookup: EnvLookup, escape: string): string {
  try {
    return expandWord(word, lookup, escape);
  } catch (err) {
    if (err instanceof ExpansionError) throw new DockerfileError(line, err.message);
    throw err;
  }
}

function own(record: Record<string, string> | undefined, key: string): string | undefined {
  return record && Object.hasOwn(record, key) ? record[key] : undefined;
}

/** The global scope: automatic platform args, then each meta-arg in order. FROM lines expand in it. */
export function resolveMetaArgs(dockerfile: Dockerfile, options: ScopeOptions = {}): Map<string, string> {
  const global = new Map(Object.entries(options.automaticArgs ?? {}));
  for (const instruction of dockerfile.metaArgs) {
    for (const arg of instruction.args) {
      const given = own(options.buildArgs, arg.key);
      if (given !== undefined) global.set(arg.key, given);
      else if (arg.value !== undefined) global.set(arg.key, expandAt(instruction.line, arg.value, lookupIn(global), dockerfile.escape));
    }
  }
  return global;
}

export interface InstructionScope {
  instruction: Instruction;
  /** What `$NAME` means in this instruction: ENV and ARG values in effect before it. */
  vars: Map<string, string>;
  /** The ENV list the image config has before this instruction (base image ENV included). */
  env: [string, string][];
  /** ARGs declared so far and their values (undefined: declared, never given a value). */
  args: Map<string, string | undefined>;
  /** The environment a RUN here executes with: vars, plus proxy args given as --build-arg. */
  runEnv: [string, string][];
}

export interface StageScopeOptions extends ScopeOptions {
  /** resolveMetaArgs(dockerfile, options). */
  globalArgs: Map<string, string>;
  /** The base image's config Env (`K=V` strings). */
  baseEnv?: string[];
  escape?: string;
}

function parseEnvList(list: string[]): [string, string][] {
  return list.map((e) => {
    const i = e.indexOf('=');
    return i === -1 ? [e, ''] : [e.slice(0, i), e.slice(i + 1)];
  });
}

/** One scope per instruction of the stage, in order; the last entry's successor is `final`. */
export function computeStageScopes(stage: Stage, options: StageScopeOptions): { scopes: InstructionScope[]; final: Omit<InstructionScope, 'instruction'> } {
  const escape = options.escape ?? '\\';
  const vars = new Map<string, string>(parseEnvList(options.baseEnv ?? []));
  const env = new Map<string, string>(parseEnvList(options.baseEnv ?? []));
  const args = new Map<string, string | undefined>();
  const snapshot = (): Omit<InstructionScope, 'instruction'> => {
    const runEnv = new Map(vars);
    for (const key of PROXY_ARGS) {
      const v = own(options.buildArgs, key);
      if (v !== undefined && !runEnv.has(key)) runEnv.set(key, v);
    }
    return { vars: new Map(vars), env: [...env], args: new Map(args), runEnv: [...runEnv] };
  };
  const scopes: InstructionScope[] = [];
  for (const instruction of stage.instructions) {
    scopes.push({ instruction, ...snapshot() });
    if (instruction.kind === 'ENV') {
      // Every pair is expanded in the scope before the instruction, then all are applied.
      const before = lookupIn(vars);
      const pairs = instruction.env.map(({ key, value }) => [expandAt(instruction.line, key, before, escape), expandAt(instruction.line, value, before, escape)] as const);
      for (const [k, v] of pairs) {
        vars.set(k, v);
        env.set(k, v); // a redefined variable keeps its place in the list, as in Docker's config

      }
    } else if (instruction.kind === 'ARG') {
      for (const arg of instruction.args) {
        const key = arg.key;
        const given = own(options.buildArgs, key);
        let value: string | undefined;
        if (given !== undefined) value = given;
        else if (arg.value !== undefined) value = expandAt(instruction.line, arg.value, lookupIn(vars), escape);
        else value = options.globalArgs.get(key) ?? own(options.automaticArgs, key);
        args.set(key, value);
        if (value !== undefined && !NON_ENV_ARGS.has(key)) vars.set(key, value);
      }
    }
  }
  return { scopes, final: snapshot() };
}

export function isProxyArg(name: string): boolean {
  return PROXY_ARG_SET.has(name);
}
