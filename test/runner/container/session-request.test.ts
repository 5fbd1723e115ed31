import { describe, expect, it } from 'vitest';
import { parseSessionRequest } from '../../../runner/container/attach';
import { buildTerminalCommand } from '../../../runner/container/exec-session';

const id = 'ab'.repeat(32);

describe('parseSessionRequest', () => {
  it('reads attach, resize and exec requests with their defaults', () => {
    expect(parseSessionRequest(JSON.stringify({ containerId: id }))).toEqual({ kind: 'attach', containerId: id, stdin: false, closeStdin: false, from: 'now' });
    expect(parseSessionRequest(JSON.stringify({ kind: 'resize', containerId: id, execId: id, rows: 24, cols: 80 }))).toEqual({ kind: 'resize', containerId: id, execId: id, rows: 24, cols: 80 });
    expect(parseSessionRequest(JSON.stringify({ kind: 'exec', containerId: id, execId: id, argv: ['sh'], tty: true, user: 'www-data', rows: 5, cols: 9 }))).toEqual({
      kind: 'exec', containerId: id, execId: id, argv: ['sh'], env: [], tty: true, stdin: false, user: 'www-data', rows: 5, cols: 9,
    });
  });

  it('refuses what is wrong, naming it', () => {
    expect(() => parseSessionRequest('{')).toThrow('the request is not JSON');
    expect(() => parseSessionRequest(JSON.stringify({ containerId: '../x' }))).toThrow('"containerId" must be a container id');
    expect(() => parseSessionRequest(JSON.stringify({ containerId: id, from: 'yesterday' }))).toThrow('Cannot attach from "yesterday"');
    expect(() => parseSessionRequest(JSON.stringify({ kind: 'resize', containerId: id, rows: -1, cols: 80 }))).toThrow('Cannot resize the terminal to "-1x80"');
    expect(() => parseSessionRequest(JSON.stringify({ kind: 'exec', containerId: id, execId: id, argv: [] }))).toThrow('no command given');
    expect(() => parseSessionRequest(JSON.stringify({ kind: 'exec', containerId: id, argv: ['sh'] }))).toThrow('"execId" is missing');
    expect(() => parseSessionRequest(JSON.stringify({ kind: 'exec', containerId: id, execId: id, argv: ['sh', 1] }))).toThrow('"argv" must be a list of strings');
    expect(() => parseSessionRequest(JSON.stringify({ kind: 'shell', containerId: id }))).toThrow('of kind "shell"');
  });
});

describe('buildTerminalCommand', () => {
  it('quotes each argument (quotes inside too) and sets the size first when there is one', () => {
    expect(buildTerminalCommand(['runc', 'exec', 'x', 'echo', 'a b'])).toBe("exec 'runc' 'exec' 'x' 'echo' 'a b'");
    expect(buildTerminalCommand(['sh'], { rows: 3, cols: 4 })).toBe("stty rows 3 cols 4 2>/dev/null; exec 'sh'");
    expect(buildTerminalCommand(['sh', '-c', "echo 'hi'"])).toBe("exec 'sh' '-c' 'echo '\\''hi'\\'''");
  });
});
