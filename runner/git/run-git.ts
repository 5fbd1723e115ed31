// The one place the runner runs git: argv arrays, never a shell; stdin bytes in, stdout bytes out.
import { spawn } from 'node:child_process';

export class GitCommandError extends Error {
  override name = 'GitCommandError';
}

export function runGit(args: string[], o: { gitDir?: string; cwd?: string; input?: Uint8Array; signal?: AbortSignal } = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: '/nonexistent', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_TERMINAL_PROMPT: '0', GIT_ALLOW_PROTOCOL: 'http:https' };
    if (o.gitDir) env.GIT_DIR = o.gitDir;
    const child = spawn('git', args, { cwd: o.cwd, env, signal: o.signal, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.stdin.on('error', () => {}); // git may exit before reading all input; its status says why
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new GitCommandError(`git ${args[0]} failed (exit ${code}): ${err.trim().split('\n').slice(-3).join(' ')}`));
    });
    child.stdin.end(o.input ?? undefined);
  });
}
