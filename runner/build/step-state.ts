// What one instruction does to a stage, before anything runs: ARG/ENV scoping and expansion where the
// Dockerfile reference applies it, the config change of metadata instructions, the text that keys the
// build cache and the history line Docker/BuildKit would record. Pure.
import { expandWord, expandWords } from '../../functions/core/dockerfile/expand';
import type { InstructionScope } from '../../functions/core/dockerfile/scope';
import type { CommandLine, Instruction } from '../../functions/core/dockerfile/instructions';
import { parsePortSpec } from '../../functions/core/dockerfile/ports';
import type { ContainerConfig } from '../../functions/core/oci/types';
import { BuildPlanError } from './stages';

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

export interface StageState {
  config: ContainerConfig;
  escape: string;
  /** A CMD in this stage: ENTRYPOINT then keeps it instead of clearing the inherited one. */
  cmdSet: boolean;
}

export function initialState(base: ContainerConfig | undefined, escape = '\\'): StageState {
  return { config: structuredClone(base ?? {}), escape, cmdSet: false };
}

function setEnv(config: ContainerConfig, key: string, value: string): void {
  const env = config.Env ?? [];
  const i = env.findIndex((kv) => (kv.indexOf('=') < 0 ? kv : kv.slice(0, kv.indexOf('='))) === key);
  if (i >= 0) env[i] = `${key}=${value}`;
  else env.push(`${key}=${value}`);
  config.Env = env;
}

export function shellOf(state: StageState): string[] {
  return state.config.Shell ?? DEFAULT_SHELL;
}

/** argv of a CMD/ENTRYPOINT/RUN: exec form as is, shell form through the SHELL. */
export function commandArgv(cmd: CommandLine, shell: string[]): string[] {
  return cmd.form === 'exec' ? cmd.args : [...shell, cmd.command];
}

/**
 * A RUN's argv. Heredocs: a RUN that is only `<<EOF` runs the body as the script, as BuildKit does;
 * otherwise the bodies follow the command so the shell itself feeds them (`RUN cat <<EOF > f`).
 */
export function runArgv(ins: Extract<Instruction, { kind: 'RUN' }>, shell: string[]): string[] {
  if (ins.heredocs.length === 0 || ins.command.form === 'exec') return commandArgv(ins.command, shell);
  const cmd = ins.command.command.trim();
  const only = ins.heredocs[0]!;
  if (ins.heredocs.length === 1 && /^\d*<<-?["']?[^\s"']+["']?$/.test(cmd)) {
    const body = only.chomp ? only.content.replace(/^\t+/gm, '') : only.content;
    const shebang = /^#!\s*(\S.*)$/m.exec(body.split('\n')[0] ?? '');
    return shebang ? [...shebang[1]!.trim().split(/\s+/), '-c', body] : [...shell, body];
  }
  const bodies = ins.heredocs.map((h) => `${h.content}${h.name}\n`).join('');
  return [...shell, `${cmd}\n${bodies}`];
}

export type StepEffect =
  | { kind: 'meta' }
  /** WORKDIR below `/`: the directory is made (owned by the USER) when missing, as BuildKit does. */
  | { kind: 'workdir'; path: string }
  | { kind: 'run'; argv: string[]; env: string[] }
  | {
      kind: 'copy';
      add: boolean;
      sources: string[];
      /** Heredoc sources (`COPY <<EOF /dest`): name and content, expanded when the heredoc allows. */
      inline: { name: string; content: string }[];
      destination: string;
      chown?: string;
      chmod?: string;
      from?: string;
      checksum?: string;
      exclude: string[];
      parents: boolean;
      /** ADD: extract local archives (Docker's default), unless --unpack=false. */
      unpack: boolean;
    };

export interface EvaluatedStep {
  effect: StepEffect;
  /** The history line, as BuildKit writes it. */
  createdBy: string;
  /** What keys the cache besides the parent chain and copied content. */
  keyText: string;
}

function record(config: ContainerConfig, key: 'Labels' | 'ExposedPorts' | 'Volumes', name: string, value: string | Record<string, never>): void {
  const obj = (config[key] ?? {}) as Record<string, unknown>;
  obj[name] = value;
  (config as Record<string, unknown>)[key] = obj;
}

/**
 * Applies a metadata instruction to the state (mutating it) or describes the layer step; either way
 * returns the history line and cache text.
 */
export function evaluateInstruction(state: StageState, scope: InstructionScope): EvaluatedStep {
  const ins = scope.instruction;
  const lookup = (name: string) => scope.vars.get(name);
  const expand = (w: string) => expandWord(w, lookup, state.escape);
  const c = state.config;
  const meta = (createdBy: string): EvaluatedStep => ({ effect: { kind: 'meta' }, createdBy, keyText: createdBy });
  switch (ins.kind) {
    case 'ARG':
      return meta(`ARG ${ins.args.map((a) => (a.value !== undefined ? `${a.key}=${a.value}` : a.key)).join(' ')}`);
    case 'ENV': {
      const parts: string[] = [];
      for (const kv of ins.env) {
        const v = expand(kv.value);
        setEnv(c, expand(kv.key), v);
        parts.push(`${expand(kv.key)}=${v}`);
      }
      return meta(`ENV ${parts.join(' ')}`);
    }
    case 'LABEL': {
      const parts: string[] = [];
      for (const kv of ins.labels) {
        const k = expand(kv.key);
        const v = expand(kv.value);
        record(c, 'Labels', k, v);
        parts.push(`${k}=${v}`);
      }
      return meta(`LABEL ${parts.join(' ')}`);
    }
    case 'MAINTAINER':
      return meta(`MAINTAINER ${ins.maintainer}`);
    case 'EXPOSE': {
      const keys: string[] = [];
      for (const w of ins.ports) for (const word of expandWords(w, lookup, state.escape)) for (const k of parsePortSpec(word)) keys.push(k);
      for (const k of keys) record(c, 'ExposedPorts', k, {});
      return meta(`EXPOSE map[${keys.map((k) => `${k}:{}`).join(' ')}]`);
    }
    case 'VOLUME': {
      const paths = ins.paths.map(expand);
      for (const p of paths) {
        if (!p) throw new BuildPlanError(`Line ${ins.line}: VOLUME specified can not be an empty string`);
        record(c, 'Volumes', p, {});
      }
      return meta(`VOLUME [${paths.join(' ')}]`);
    }
    case 'USER': {
      c.User = expand(ins.user);
      return meta(`USER ${c.User}`);
    }
    case 'WORKDIR': {
      const p = expand(ins.path);
      const base = c.WorkingDir || '/';
      c.WorkingDir = p.startsWith('/') ? normalisePath(p) : normalisePath(`${base}/${p}`);
      if (c.WorkingDir === '/') return meta(`WORKDIR ${c.WorkingDir}`);
      return { effect: { kind: 'workdir', path: c.WorkingDir }, createdBy: `WORKDIR ${c.WorkingDir}`, keyText: `WORKDIR ${c.WorkingDir} user=${c.User ?? ''}` };
    }
    case 'CMD': {
      c.Cmd = commandArgv(ins.command, shellOf(state));
      state.cmdSet = true;
      return meta(`CMD ${JSON.stringify(c.Cmd)}`);
    }
    case 'ENTRYPOINT': {
      c.Entrypoint = commandArgv(ins.command, shellOf(state));
      // As Docker: setting ENTRYPOINT resets a CMD inherited from the base image.
      if (!state.cmdSet) c.Cmd = null;
      return meta(`ENTRYPOINT ${JSON.stringify(c.Entrypoint)}`);
    }
    case 'SHELL':
      c.Shell = ins.shell;
      return meta(`SHELL ${JSON.stringify(ins.shell)}`);
    case 'STOPSIGNAL':
      c.StopSignal = expand(ins.signal);
      return meta(`STOPSIGNAL ${c.StopSignal}`);
    case 'HEALTHCHECK':
      c.Healthcheck = ins.health;
      return meta(`HEALTHCHECK ${JSON.stringify(ins.health)}`);
    case 'ONBUILD':
      c.OnBuild = [...(c.OnBuild ?? []), ins.expression];
      return meta(`ONBUILD ${ins.expression}`);
    case 'RUN': {
      const argv = runArgv(ins, shellOf(state));
      const envKeys = new Set((c.Env ?? []).map((kv) => kv.split('=')[0]));
      const args = scope.runEnv.filter(([k]) => !envKeys.has(k)).sort((a, b) => (a[0] < b[0] ? -1 : 1));
      const prefix = args.length ? `|${args.length} ${args.map(([k, v]) => `${k}=${v}`).join(' ')} ` : '';
      const mounts = ins.mounts.length ? ` ${JSON.stringify(ins.mounts)}` : '';
      const text = `RUN ${prefix}${argv.join(' ')}`;
      return { effect: { kind: 'run', argv, env: scope.runEnv.map(([k, v]) => `${k}=${v}`) }, createdBy: `${text} # buildkit`, keyText: `${text}${mounts} net=${ins.network ?? 'default'} env=${JSON.stringify(c.Env ?? [])} user=${c.User ?? ''} wd=${c.WorkingDir ?? ''}` };
    }
    case 'COPY':
    case 'ADD': {
      const sources = ins.sources.map(expand);
      const destination = expand(ins.destination);
      const from = ins.kind === 'COPY' && ins.from ? expand(ins.from) : undefined;
      const chown = ins.chown ? expand(ins.chown) : undefined;
      const chmod = ins.chmod ? expand(ins.chmod) : undefined;
      const inline = ins.inline.map((h) => {
        const body = h.chomp ? h.content.replace(/^\t+/gm, '') : h.content;
        return { name: h.name, content: h.expand ? expand(body) : body };
      });
      const flags = [from ? `--from=${from}` : '', chown ? `--chown=${chown}` : '', chmod ? `--chmod=${chmod}` : ''].filter(Boolean).join(' ');
      const text = `${ins.kind} ${flags ? `${flags} ` : ''}${[...sources, ...ins.inline.map((h) => `<<${h.name}`)].join(' ')} ${destination}`;
      return {
        effect: {
          kind: 'copy',
          add: ins.kind === 'ADD',
          sources,
          inline,
          destination,
          chown,
          chmod,
          from,
          checksum: ins.kind === 'ADD' && ins.checksum ? expand(ins.checksum) : undefined,
          exclude: ins.exclude.map(expand),
          parents: ins.kind === 'COPY' && ins.parents,
          unpack: ins.kind === 'ADD' && ins.unpack !== false,
        },
        createdBy: `${text} # buildkit`,
        keyText: `${text} wd=${c.WorkingDir ?? ''} inline=${JSON.stringify(inline)} parents=${ins.kind === 'COPY' && ins.parents} exclude=${ins.exclude.join(',')}`,
      };
    }
    case 'FROM':
      throw new BuildPlanError(`Line ${ins.line}: FROM inside a stage`);
  }
}

/** Cleans a container path: no `.`/`..`/doubled slashes; `..` stops at the root. */
export function normalisePath(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}
