import { describe, expect, it } from 'vitest';
import { parseContainerName, parseCreateBody } from '../../../functions/docker/container-config';
import { stripApiVersion } from '../../../functions/docker/api-version';
import { buildTagFor, familiarBerthName, toBerthName } from '../../../functions/docker/image-names';
import { encodeLogLine, frame } from '../../../functions/docker/stream-frames';

describe('parseCreateBody', () => {
  it('maps what docker run sends onto a Berth container', () => {
    const p = parseCreateBody({
      Image: 'web',
      Cmd: ['sh', '-c', 'echo hi'],
      Env: ['A=1', 'B=x=y', 'UNSET'],
      Tty: true,
      OpenStdin: true,
      HostConfig: { PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }], '53/udp': [{ HostPort: '' }] }, AutoRemove: true, RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 }, Memory: 64 * 1024 * 1024 },
    });
    expect(p.spec).toMatchObject({ cmd: ['sh', '-c', 'echo hi'], env: { A: '1', B: 'x=y' }, tty: true, stdin: true, memoryMb: 64 });
    expect(p.ports).toEqual([
      { hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostIp: '0.0.0.0', hostPort: null, containerPort: 53, protocol: 'udp' },
    ]);
    expect(p.restartPolicy).toBe('on-failure:3');
    expect(p.autoRemove).toBe(true);
  });

  it('refuses what Berth cannot honour, by name', () => {
    expect(() => parseCreateBody({ Image: 'x', HostConfig: { Binds: ['/etc:/host'] } })).toThrow('Cannot mount "/etc:/host"');
    expect(() => parseCreateBody({ Image: 'x', HostConfig: { PortBindings: { '80/tcp': [{ HostPort: '8000-8010' }] } } })).toThrow('range of host ports');
    expect(() => parseCreateBody({ Image: 'x', HostConfig: { PortBindings: { 'abc/tcp': [] } } })).toThrow('Invalid port "abc/tcp"');
    expect(() => parseCreateBody({ Image: 'x', Env: ['1BAD=x'] })).toThrow('Invalid environment variable "1BAD"');
    expect(() => parseCreateBody({ Image: 'x', Cmd: [1] })).toThrow('Invalid "Cmd"');
    expect(() => parseCreateBody({})).toThrow('No image was given');
    expect(() => parseCreateBody({ Image: 'x', HostConfig: { RestartPolicy: { Name: 'sometimes' } } })).toThrow('Invalid restart policy "sometimes"');
    expect(() => parseContainerName('bad name')).toThrow('Invalid container name (bad name)');
    expect(parseContainerName('/ok_1.a-b')).toBe('ok_1.a-b');
  });
});

describe('stripApiVersion', () => {
  it('removes a supported version prefix and refuses others', () => {
    expect(stripApiVersion('/v1.47/containers/json')).toEqual({ path: '/containers/json' });
    expect(stripApiVersion('/containers/json')).toEqual({ path: '/containers/json' });
    expect(stripApiVersion('/v1.12/info').error).toContain('too old');
    expect(stripApiVersion('/v1.99/info').error).toContain('too new');
  });
});

describe('image names', () => {
  it("puts a plain name in the caller's repository and leaves upstream names alone", () => {
    expect(buildTagFor('web', 'alice', '127.0.0.1:8080')).toBe('127.0.0.1:8080/alice/web:latest');
    expect(buildTagFor('alice/web:v2', 'alice', '127.0.0.1:8080')).toBe('127.0.0.1:8080/alice/web:v2');
    expect(toBerthName('127.0.0.1:8080/alice/web', 'alice', '127.0.0.1:8080')).toEqual({ repository: 'alice/web', tag: 'latest' });
    expect(toBerthName('ghcr.io/x/y', 'alice', '127.0.0.1:8080')).toBeUndefined();
    expect(toBerthName('bob/web', 'alice', '127.0.0.1:8080')).toBeUndefined();
    expect(() => buildTagFor('ghcr.io/x/y', 'alice', '127.0.0.1:8080')).toThrow('Cannot tag "ghcr.io/x/y"');
    expect(() => buildTagFor('Bad Name', 'alice', '127.0.0.1:8080')).toThrow('invalid reference format');
    expect(familiarBerthName('alice/web', 'v1', 'alice')).toBe('web:v1');
  });
});

describe('stream frames', () => {
  it('prefixes a payload with the stream and its big-endian length', () => {
    expect([...frame(2, new Uint8Array([104, 105]))]).toEqual([2, 0, 0, 0, 0, 0, 0, 2, 104, 105]);
    const at = new Date('2026-01-02T03:04:05.678Z');
    expect(new TextDecoder().decode(encodeLogLine({ stream: 'stdout', line: 'x', at }, { tty: true, timestamps: true }))).toBe('2026-01-02T03:04:05.678000000Z x\n');
    expect(encodeLogLine({ stream: 'stderr', line: 'x', at }, { tty: false, timestamps: false })[0]).toBe(2);
  });
});
