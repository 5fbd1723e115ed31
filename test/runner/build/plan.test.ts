// Golden cases for the pure part of the builder: which stages a target needs, what each instruction
// does to the config, its history line and cache text, and how cache keys chain.
import { describe, expect, it } from 'vitest';
import { parseDockerfile } from '../../../functions/core/dockerfile/parse';
import { computeStageScopes, resolveMetaArgs } from '../../../functions/core/dockerfile/scope';
import type { ContainerConfig } from '../../../functions/core/oci/types';
import { baseCacheKey, nextCacheKey } from '../../../runner/build/cache-key';
import { neededStages } from '../../../runner/build/stages';
import { atDockerfileLine, BuildCancelledError } from '../../../runner/build/build-env';
import { evaluateInstruction, initialState, normalisePath } from '../../../runner/build/step-state';

const DEBIAN: ContainerConfig = { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['bash'] };

/** Runs every instruction of the last stage against a base config; returns config and steps. */
function evaluate(text: string, buildArgs: Record<string, string> = {}, base: ContainerConfig = DEBIAN) {
  const df = parseDockerfile(text);
  const stage = df.stages[df.stages.length - 1]!;
  const globalArgs = resolveMetaArgs(df, { buildArgs });
  const { scopes } = computeStageScopes(stage, { buildArgs, globalArgs, baseEnv: base.Env ?? [], escape: df.escape });
  const state = initialState(base, df.escape);
  const steps = scopes.map((s) => evaluateInstruction(state, s));
  return { config: state.config, steps };
}

describe('neededStages', () => {
  const df = parseDockerfile(`ARG V=1
FROM debian AS base
FROM base AS deps
RUN true
FROM debian AS unused
RUN false
FROM debian AS tools
FROM deps AS final
COPY --from=tools /x /x
RUN --mount=type=bind,from=base,target=/b true
`);
  it('keeps the target and what it reaches through FROM, COPY --from and mounts, in order', () => {
    expect(neededStages(df, undefined, new Map())).toEqual([0, 1, 3, 4]);
    expect(neededStages(df, 'deps', new Map())).toEqual([0, 1]);
    expect(neededStages(df, 'UNUSED', new Map())).toEqual([2]);
  });
  it('names the stages when the target does not exist', () => {
    expect(() => neededStages(df, 'nope', new Map())).toThrow(/Cannot build target "nope".*base, deps, unused, tools, final/);
  });
  it('names the line of a reference to a stage that is not earlier', () => {
    expect(() => neededStages(parseDockerfile('FROM debian\nCOPY --from=5 /a /b\n'), undefined, new Map())).toThrow(/^Dockerfile:2: Cannot use stage 5/);
    expect(() => neededStages(parseDockerfile('FROM debian\nFROM 1\n'), undefined, new Map())).toThrow(/^Dockerfile:2: Cannot use stage 1/);
  });
  it('resolves stage references by index and refuses a variable in --from, as BuildKit does', () => {
    const d = parseDockerfile('FROM debian\nFROM alpine\nFROM scratch\nCOPY --from=0 /a /a\n');
    expect(neededStages(d, undefined, resolveMetaArgs(d))).toEqual([0, 2]);
    expect(() => parseDockerfile('ARG FROMSTAGE=0\nFROM debian\nFROM scratch\nCOPY --from=${FROMSTAGE} /a /a\n')).toThrow(
      /^Dockerfile:4: variable expansion is not supported for COPY --from/,
    );
  });
});

describe('evaluateInstruction', () => {
  it('builds the config Docker builds: ENV expansion, WORKDIR relative to the last, ENTRYPOINT clearing an inherited CMD', () => {
    const { config, steps } = evaluate(`FROM debian
ARG APP=web
ENV HOME_DIR=/srv/\${APP} MODE=prod
WORKDIR $HOME_DIR
WORKDIR sub/../app
USER 1000:1000
LABEL org.example.name="$APP" other=x
EXPOSE 80 443/udp 8000-8001
VOLUME ["/data", "$HOME_DIR/cache"]
STOPSIGNAL SIGQUIT
ENTRYPOINT ["/bin/app"]
`);
    expect(config).toEqual({
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOME_DIR=/srv/web', 'MODE=prod'],
      Cmd: null,
      WorkingDir: '/srv/web/app',
      User: '1000:1000',
      Labels: { 'org.example.name': 'web', other: 'x' },
      ExposedPorts: { '80/tcp': {}, '443/udp': {}, '8000/tcp': {}, '8001/tcp': {} },
      Volumes: { '/data': {}, '/srv/web/cache': {} },
      StopSignal: 'SIGQUIT',
      Entrypoint: ['/bin/app'],
    });
    // WORKDIR makes its directory (a layer when it was missing); the rest only change the config.
    expect(steps.map((s) => s.effect.kind)).toEqual(['meta', 'meta', 'workdir', 'workdir', 'meta', 'meta', 'meta', 'meta', 'meta', 'meta']);
    expect(steps[3]!.effect).toEqual({ kind: 'workdir', path: '/srv/web/app' });
    expect(steps.map((s) => s.createdBy)).toEqual([
      'ARG APP=web',
      'ENV HOME_DIR=/srv/web MODE=prod',
      'WORKDIR /srv/web',
      'WORKDIR /srv/web/app',
      'USER 1000:1000',
      'LABEL org.example.name=web other=x',
      'EXPOSE map[80/tcp:{} 443/udp:{} 8000/tcp:{} 8001/tcp:{}]',
      'VOLUME [/data /srv/web/cache]',
      'STOPSIGNAL SIGQUIT',
      'ENTRYPOINT ["/bin/app"]',
    ]);
  });

  it('keeps a CMD set in the same stage before ENTRYPOINT, and runs shell forms through SHELL', () => {
    const { config } = evaluate('FROM debian\nCMD ["--help"]\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\nENTRYPOINT exec app\n');
    expect(config.Cmd).toEqual(['--help']);
    expect(config.Entrypoint).toEqual(['/bin/bash', '-o', 'pipefail', '-c', 'exec app']);
    expect(config.Shell).toEqual(['/bin/bash', '-o', 'pipefail', '-c']);
  });

  it('describes RUN with the ARGs it sees, as BuildKit records them, and keys them', () => {
    const { steps } = evaluate('FROM debian\nARG B=2\nARG A\nRUN make\n', { A: '1' });
    const run = steps[2]!;
    expect(run.effect).toMatchObject({ kind: 'run', argv: ['/bin/sh', '-c', 'make'] });
    expect(run.createdBy).toBe('RUN |2 A=1 B=2 /bin/sh -c make # buildkit');
    expect((run.effect as { env: string[] }).env).toEqual(expect.arrayContaining(['A=1', 'B=2', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']));
    const other = evaluate('FROM debian\nARG B=2\nARG A\nRUN make\n', { A: '9' }).steps[2]!;
    expect(other.keyText).not.toBe(run.keyText);
  });

  it('runs a heredoc RUN as a script and feeds heredocs after a command to the shell', () => {
    const only = evaluate('FROM debian\nRUN <<EOF\necho one\necho two\nEOF\n').steps[0]!;
    expect(only.effect).toMatchObject({ argv: ['/bin/sh', '-c', 'echo one\necho two\n'] });
    const fed = evaluate('FROM debian\nRUN cat <<EOF > /f\nhello\nEOF\n').steps[0]!;
    expect(fed.effect).toMatchObject({ argv: ['/bin/sh', '-c', 'cat <<EOF > /f\nhello\nEOF\n'] });
  });

  it('expands COPY sources, destination and flags in scope', () => {
    const { steps } = evaluate('FROM debian\nARG SRC=app\nENV DEST=/opt\nCOPY --chown=${SRC}:${SRC} --chmod=755 ${SRC}/*.js $DEST/\n');
    expect(steps[2]!.effect).toMatchObject({ kind: 'copy', add: false, sources: ['app/*.js'], destination: '/opt/', chown: 'app:app', chmod: '755' });
    expect(steps[2]!.createdBy).toBe('COPY --chown=app:app --chmod=755 app/*.js /opt/ # buildkit');
  });
});

describe('cache keys', () => {
  it('chain: same inputs give the same key; any change to base, text or content changes it', () => {
    const base = baseCacheKey({ manifestDigest: 'sha256:aa' });
    expect(base).toBe(baseCacheKey({ manifestDigest: 'sha256:aa' }));
    expect(base).not.toBe(baseCacheKey({ manifestDigest: 'sha256:bb' }));
    expect(base).not.toBe(baseCacheKey('scratch'));
    const k = nextCacheKey(base, 'RUN x', undefined);
    expect(k).toMatch(/^[a-f0-9]{64}$/);
    expect(nextCacheKey(base, 'RUN x')).toBe(k);
    expect(nextCacheKey(base, 'RUN y')).not.toBe(k);
    expect(nextCacheKey(base, 'COPY a /', 'sha256:1')).not.toBe(nextCacheKey(base, 'COPY a /', 'sha256:2'));
    expect(nextCacheKey(nextCacheKey(base, 'ENV A=1'), 'RUN x')).not.toBe(k);
  });
});

describe('normalisePath', () => {
  it.each([
    ['/a/b/../c', '/a/c'],
    ['/../../etc', '/etc'],
    ['//a//./b/', '/a/b'],
    ['/', '/'],
  ])('%s → %s', (input, out) => expect(normalisePath(input)).toBe(out));
});

describe('atDockerfileLine', () => {
  it('prefixes a step error with its line once, keeping its class; cancellation stays as it is', () => {
    const err = atDockerfileLine(new TypeError('COPY failed: file not found'), 7) as Error;
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe('Dockerfile:7: COPY failed: file not found');
    expect((atDockerfileLine(err, 9) as Error).message).toBe('Dockerfile:7: COPY failed: file not found');
    expect((atDockerfileLine(new BuildCancelledError('Build cancelled'), 3) as Error).message).toBe('Build cancelled');
  });
});
