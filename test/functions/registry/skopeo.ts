// Runs Debian's skopeo as a real registry client (argv arrays, no shell).
import { execFile } from 'node:child_process';

export interface SkopeoResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function skopeo(args: string[], timeoutMs = 120_000): Promise<SkopeoResult> {
  return new Promise((resolve) => {
    execFile('skopeo', ['--insecure-policy', ...args], { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

export function pushArgs(src: string, dest: string, creds: string): string[] {
  return ['copy', '--all', '--preserve-digests', '--dest-tls-verify=false', '--dest-creds', creds, src, dest];
}

export function pullArgs(src: string, dest: string, creds?: string): string[] {
  return ['copy', '--all', '--preserve-digests', '--src-tls-verify=false', ...(creds ? ['--src-creds', creds] : ['--src-no-creds']), src, dest];
}
