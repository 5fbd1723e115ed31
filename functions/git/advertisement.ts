// The reference advertisement of GET …/info/refs, protocol v0/v1 and the v2 capability list.
import type { GitRef } from '../../db/schema';
import { FLUSH_PKT, concatBytes, encodePktLine } from './pkt-line';
import { ZERO_ID } from './object-id';

export type GitService = 'git-upload-pack' | 'git-receive-pack';

export const AGENT = 'agent=berth/0.1';

export const RECEIVE_CAPABILITIES = ['report-status', 'delete-refs', 'side-band-64k', 'quiet', 'atomic', 'ofs-delta', 'push-options', 'object-format=sha1', AGENT];
export const UPLOAD_CAPABILITIES = ['side-band-64k', 'side-band', 'ofs-delta', 'thin-pack', 'no-progress', 'include-tag', 'allow-tip-sha1-in-want', 'object-format=sha1', AGENT];

/** The ref HEAD names: the deploy branch when it exists, else the first branch. */
export function headTarget(refs: GitRef[], deployBranch: string): GitRef | undefined {
  return refs.find((r) => r.name === `refs/heads/${deployBranch}`) ?? refs.find((r) => r.name.startsWith('refs/heads/'));
}

export function serviceHeader(service: GitService): Uint8Array {
  return concatBytes([encodePktLine(`# service=${service}\n`), FLUSH_PKT]);
}

export function advertiseV0(service: GitService, refs: GitRef[], deployBranch: string, peeled = new Map<string, string>()): Uint8Array<ArrayBuffer> {
  const parts = [serviceHeader(service)];
  const lines: { sha: string; name: string }[] = [];
  const caps = [...(service === 'git-receive-pack' ? RECEIVE_CAPABILITIES : UPLOAD_CAPABILITIES)];
  if (service === 'git-upload-pack') {
    const head = headTarget(refs, deployBranch);
    if (head) {
      lines.push({ sha: head.sha, name: 'HEAD' });
      caps.push(`symref=HEAD:${head.name}`);
    }
  }
  for (const r of refs) {
    lines.push({ sha: r.sha, name: r.name });
    const target = peeled.get(r.name);
    if (target) lines.push({ sha: target, name: `${r.name}^{}` });
  }
  if (lines.length === 0) lines.push({ sha: ZERO_ID, name: 'capabilities^{}' });
  lines.forEach((l, i) => parts.push(encodePktLine(i === 0 ? `${l.sha} ${l.name}\0${caps.join(' ')}\n` : `${l.sha} ${l.name}\n`)));
  parts.push(FLUSH_PKT);
  return concatBytes(parts);
}

export function advertiseV2(): Uint8Array<ArrayBuffer> {
  return concatBytes([
    serviceHeader('git-upload-pack'),
    ...['version 2', AGENT, 'ls-refs=unborn', 'fetch', 'object-format=sha1'].map((l) => encodePktLine(`${l}\n`)),
    FLUSH_PKT,
  ]);
}
