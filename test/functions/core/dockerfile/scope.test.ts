import { describe, expect, it } from 'vitest';
import { DockerfileError } from '../../../../functions/core/dockerfile/errors';
import { expandFrom, expandInstruction } from '../../../../functions/core/dockerfile/expand-instruction';
import type { Instruction } from '../../../../functions/core/dockerfile/instructions';
import { parseDockerfile } from '../../../../functions/core/dockerfile/parse';
import { computeStageScopes, platformArgs, resolveMetaArgs, type ScopeOptions } from '../../../../functions/core/dockerfile/scope';

/** Each instruction of the given stage, expanded in its scope. */
function expandStage(text: string, options: ScopeOptions & { baseEnv?: string[] } = {}, stageIndex = 0) {
  const df = parseDockerfile(text);
  const globalArgs = resolveMetaArgs(df, options);
  const stage = df.stages[stageIndex]!;
  const { scopes, final } = computeStageScopes(stage, { ...options, globalArgs, escape: df.escape });
  const expanded = scopes.map((s) => expandInstruction(s.instruction, (n) => s.vars.get(n), df.escape));
  const from = expandFrom(stage.fromInstruction, (n) => globalArgs.get(n), df.escape);
  return { expanded, scopes, final, from };
}

const pick = (i: Instruction | undefined) => {
  switch (i?.kind) {
    case 'USER':
      return i.user;
    case 'WORKDIR':
      return i.path;
    case 'ENV':
      return i.env;
    case 'COPY':
    case 'ADD':
      return [...i.sources, i.destination];
    case 'EXPOSE':
      return i.ports;
    default:
      return i;
  }
};

describe('environment replacement (Dockerfile reference examples)', () => {
  it('expands ENV in WORKDIR, ADD and COPY, and an escaped $ stays literal', () => {
    const { expanded } = expandStage('FROM busybox\nENV FOO=/bar\nWORKDIR ${FOO}\nADD . $FOO\nCOPY \\$FOO /quux\n');
    expect(expanded.slice(1).map(pick)).toEqual(['/bar', ['.', '/bar'], ['$FOO', '/quux']]);
  });

  it('expands every pair of one ENV in the scope before it', () => {
    const { final } = expandStage('FROM busybox\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\n');
    expect(final.env).toEqual([
      ['abc', 'bye'],
      ['def', 'hello'],
      ['ghi', 'bye'],
    ]);
  });

  it('sees an ARG only from the line that declares it', () => {
    const text = 'FROM busybox\nUSER ${username:-some_user}\nARG username\nUSER $username\n';
    const { expanded } = expandStage(text, { buildArgs: { username: 'what_user' } });
    expect([pick(expanded[0]), pick(expanded[2])]).toEqual(['some_user', 'what_user']);
  });

  it('lets ENV override an ARG of the same name', () => {
    const text = 'FROM ubuntu\nARG CONT_IMG_VER\nENV CONT_IMG_VER=v1.0.0\nRUN echo $CONT_IMG_VER\n';
    const { scopes } = expandStage(text, { buildArgs: { CONT_IMG_VER: 'v2.0.1' } });
    expect(scopes[2]!.vars.get('CONT_IMG_VER')).toBe('v1.0.0');
    expect(scopes[2]!.runEnv).toContainEqual(['CONT_IMG_VER', 'v1.0.0']);
  });

  it('uses a build arg through ENV with a default', () => {
    const text = 'FROM ubuntu\nARG CONT_IMG_VER\nENV CONT_IMG_VER=${CONT_IMG_VER:-v1.0.0}\n';
    expect(expandStage(text).final.env).toEqual([['CONT_IMG_VER', 'v1.0.0']]);
    expect(expandStage(text, { buildArgs: { CONT_IMG_VER: 'v2.0.1' } }).final.env).toEqual([['CONT_IMG_VER', 'v2.0.1']]);
  });

  it('scopes meta-args to FROM unless a stage redeclares them', () => {
    const text = 'ARG VERSION=latest\nFROM busybox:$VERSION\nARG VERSION\nRUN echo $VERSION\nFROM busybox:$VERSION\nRUN echo $VERSION\n';
    const first = expandStage(text);
    expect(first.from.image).toBe('busybox:latest');
    expect(first.scopes[1]!.vars.get('VERSION')).toBe('latest');
    const second = expandStage(text, { buildArgs: { VERSION: '1.36' } }, 1);
    expect(second.from.image).toBe('busybox:1.36');
    expect(second.scopes[0]!.vars.has('VERSION')).toBe(false);
  });

  it('expands meta-arg defaults in order, and build args win', () => {
    const df = parseDockerfile('ARG REG=docker.io\nARG IMAGE=${REG}/library/debian\nARG UNSET\nFROM $IMAGE\n');
    expect([...resolveMetaArgs(df)]).toEqual([
      ['REG', 'docker.io'],
      ['IMAGE', 'docker.io/library/debian'],
    ]);
    expect(resolveMetaArgs(df, { buildArgs: { REG: 'localhost:5000' } }).get('IMAGE')).toBe('localhost:5000/library/debian');
  });

  it('gives the automatic platform args to FROM and to stages that declare them', () => {
    const automaticArgs = platformArgs({ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64', variant: 'v8' });
    const text = 'FROM --platform=$BUILDPLATFORM golang AS build\nARG TARGETOS TARGETARCH\nRUN echo $TARGETOS/$TARGETARCH $BUILDARCH\n';
    const { from, scopes } = expandStage(text, { automaticArgs });
    expect(from.platform).toBe('linux/amd64');
    expect(scopes[1]!.vars.get('TARGETOS')).toBe('linux');
    expect(scopes[1]!.vars.get('TARGETARCH')).toBe('arm64');
    expect(scopes[1]!.vars.has('BUILDARCH')).toBe(false);
    expect(automaticArgs.TARGETPLATFORM).toBe('linux/arm64/v8');
  });

  it('passes proxy build args to RUN without an ARG, but does not expand them', () => {
    const text = 'FROM debian\nRUN apt-get update\nWORKDIR /$HTTP_PROXY\n';
    const { scopes, expanded } = expandStage(text, { buildArgs: { HTTP_PROXY: 'http://proxy:3128', OTHER: 'x' } });
    expect(scopes[0]!.runEnv).toEqual([['HTTP_PROXY', 'http://proxy:3128']]);
    expect(pick(expanded[1])).toBe('/');
  });

  it('starts from the base image ENV and keeps redefined variables in place', () => {
    const { expanded, final } = expandStage('FROM debian\nENV PATH=/opt/bin:$PATH LANG=C.UTF-8\nWORKDIR $HOME\n', {
      baseEnv: ['PATH=/usr/bin', 'HOME=/root'],
    });
    expect(final.env).toEqual([
      ['PATH', '/opt/bin:/usr/bin'],
      ['HOME', '/root'],
      ['LANG', 'C.UTF-8'],
    ]);
    expect(pick(expanded[1])).toBe('/root');
  });

  it('lets an ARG default use earlier ARGs of the same line', () => {
    const { final } = expandStage('FROM debian\nARG A=1 B=${A}2\n');
    expect([...final.args]).toEqual([
      ['A', '1'],
      ['B', '12'],
    ]);
  });
});

describe('expandInstruction', () => {
  const vars = (n: string) => ({ P: '8080', PORTS: '80 443/tcp', U: 'app', D: '/srv', SIG: 'SIGTERM', NAME: 'world' })[n];

  it('splits EXPOSE words only', () => {
    const df = parseDockerfile('FROM a\nEXPOSE $P $PORTS\nVOLUME $D "$PORTS"\n');
    const [expose, volume] = df.stages[0]!.instructions.map((i) => expandInstruction(i, vars));
    expect(expose).toMatchObject({ ports: ['8080', '80', '443/tcp'] });
    expect(volume).toMatchObject({ paths: ['/srv', '80 443/tcp'] });
  });

  it('leaves RUN, CMD, ENTRYPOINT, SHELL and HEALTHCHECK to the shell', () => {
    const df = parseDockerfile('FROM a\nRUN echo $U\nCMD echo $U\nENTRYPOINT ["$U"]\nHEALTHCHECK CMD test $U\nSHELL ["$U"]\n');
    for (const i of df.stages[0]!.instructions) expect(expandInstruction(i, vars)).toEqual(i);
  });

  it('expands RUN --mount fields, COPY flags and heredoc bodies whose delimiter is not quoted', () => {
    const text = 'FROM a\nRUN --mount=type=cache,target=$D/cache,uid=$P make\nCOPY --chown=$U --from=app --exclude=$U <<EOF <<"RAW" $D/\nhello "$NAME"\nEOF\nhello $NAME\nRAW\n';
    const [run, copy] = parseDockerfile(text).stages[0]!.instructions.map((i) => expandInstruction(i, vars));
    expect(run).toMatchObject({ mounts: [{ type: 'cache', target: '/srv/cache', uid: '8080' }], command: { form: 'shell', command: 'make' } });
    expect(copy).toMatchObject({
      chown: 'app',
      from: 'app',
      exclude: ['$U'],
      destination: '/srv/',
      inline: [
        { name: 'EOF', content: 'hello "world"\n' },
        { name: 'RAW', content: 'hello $NAME\n' },
      ],
    });
  });

  it('names the line of a failed expansion', () => {
    const df = parseDockerfile('FROM a\n\nUSER ${U:?must be set}${X:?X is required}\n');
    const user = df.stages[0]!.instructions[0]!;
    expect(() => expandInstruction(user, vars)).toThrow(DockerfileError);
    expect(() => expandInstruction(user, vars)).toThrow('Dockerfile:3: failed to process "${U:?must be set}${X:?X is required}": X: X is required');
  });
});
