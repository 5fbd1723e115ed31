// The answer to a push, streamed: progress on sideband 2 (forced updates, then the deploy branch's
// build as it runs, even under `quiet`, which silences only receive-pack's own progress), the report-status on sideband 1, a failed build as a sideband-3 error so the
// push exits non-zero after its refs were recorded.
import { createGitBuild } from '../../db/queries/git-builds';
import { appAddress } from '../api/app-address';
import { gitBuildTags } from './build-tags';
import type { App } from '../../db/schema';
import type { Platform } from '../platform';
import { followBuild } from './build-progress';
import { waitForDeployment } from './deploy-progress';
import { FLUSH_PKT, concatBytes, encodePktLine, encodeSideband } from './pkt-line';
import { parseReceiveRequest, type ReceiveRequest } from './receive-commands';
import { receivePush, type ReceiveResult } from './receive-pack';
import { BodyTooLargeError, readGitRequestBody } from './request-body';

function reportStatus(result: ReceiveResult): Uint8Array {
  const lines = [encodePktLine(result.unpackError ? `unpack ${result.unpackError.replace(/\n/g, ' ')}\n` : 'unpack ok\n')];
  for (const [ref, reason] of result.statuses) lines.push(encodePktLine(reason === undefined ? `ok ${ref}\n` : `ng ${ref} ${reason.replace(/\n/g, ' ')}\n`));
  lines.push(FLUSH_PKT);
  return concatBytes(lines);
}

export async function respondToPush(
  platform: Platform,
  app: App & { owner: string },
  raw: Request,
  o: { maxPackBytes: number; jobLabels?: Record<string, string> },
): Promise<Response> {
  const maxPackBytes = o.maxPackBytes;
  let req: ReceiveRequest;
  let result: ReceiveResult;
  try {
    let body: Uint8Array;
    let tooLarge: string | undefined;
    try {
      body = await readGitRequestBody(raw, maxPackBytes);
    } catch (err) {
      if (!(err instanceof BodyTooLargeError)) throw err;
      body = err.head;
      tooLarge = `Push refused: the pack is larger than the ${maxPackBytes}-byte limit`;
    }
    req = parseReceiveRequest(body);
    if (tooLarge) {
      result = { unpackError: tooLarge, statuses: new Map(req.commands.map((c) => [c.ref, 'pack too large'])), notes: [tooLarge] };
    } else {
      result = await receivePush(platform, app, req);
    }
  } catch (err) {
    const message = (err as Error).message;
    return new Response(encodePktLine(`ERR ${message}\n`), { headers: { 'content-type': 'application/x-git-receive-pack-result' } });
  }

  const sideband = req.capabilities.has('side-band-64k') || req.capabilities.has('side-band');
  const wantsReport = req.capabilities.has('report-status') || req.capabilities.has('report-status-v2');
  const report = wantsReport ? reportStatus(result) : new Uint8Array(0);
  if (result.unpackError) result.notes.push(`error: ${result.unpackError}`);

  // The client may hang up mid-build (Ctrl-C): stop following, and never write to a closed stream.
  const hangUp = new AbortController();
  const stream = new ReadableStream<Uint8Array>({
    cancel() {
      hangUp.abort();
    },
    start(controller) {
      const send = (bytes: Uint8Array) => {
        if (hangUp.signal.aborted) return;
        try {
          controller.enqueue(bytes);
        } catch {
          hangUp.abort();
        }
      };
      const close = () => {
        try {
          controller.close();
        } catch {
          // already closed or cancelled
        }
      };
      const progress = (line: string) => {
        if (sideband) for (const p of encodeSideband(2, `${line}\n`)) send(p);
      };
      const run = async () => {
        for (const n of result.notes) progress(n);
        let failure: string | undefined;
        if (result.deploy) {
          const build = await createGitBuild(platform.db, {
            accountId: app.accountId,
            appId: app.id,
            source: 'git',
            gitCommit: result.deploy.commit,
            gitRef: result.deploy.ref,
            deployOnSuccess: true,
            dockerfilePath: app.dockerfilePath,
            tags: gitBuildTags(platform, app.owner, app.name, result.deploy.commit),
          }, { requiredLabels: o.jobLabels });
          progress(`Building ${app.name} at ${result.deploy.commit.slice(0, 12)} (build ${build.id})`);
          if (sideband) {
            const end = await followBuild(platform.db, build.id, progress, {
              onIdle: () => send(encodeSideband(1, new Uint8Array(0))[0]!),
              signal: hangUp.signal,
            });
            if (end?.status === 'succeeded') {
              progress(`Built ${end.imageRef ?? end.manifestDigest ?? ''}`);
              const deployment = await waitForDeployment(platform.db, build.id);
              const address = appAddress(platform, app.name);
              if (!deployment) progress(`No deployment started for this build yet; once one is live the app is at ${address}`);
              else if (deployment.status === 'active') progress(`Deployed to ${address} (deployment ${deployment.number})`);
              else if (deployment.status === 'failed') failure = `Deployment ${deployment.number} failed${deployment.error ? `: ${deployment.error}` : ''}`;
              else progress(`Deployment ${deployment.number} is ${deployment.status}; the app will be at ${address}`);
            } else if (end?.status === 'failed' || end?.status === 'cancelled') failure = `Build ${build.id} ${end.status}${end.error ? `: ${end.error}` : ''}`;
            else progress(`The build is still running: follow it with GET /api/v1/builds/${build.id}/logs`);
          }
        }
        if (sideband) {
          for (const p of encodeSideband(1, report)) send(p);
          if (failure) for (const p of encodeSideband(3, `${failure}\n`)) send(p);
          send(FLUSH_PKT);
        } else {
          send(report);
        }
        close();
      };
      run().catch((err: unknown) => {
        console.error(`git-receive-pack for ${app.name}:`, err);
        if (sideband) for (const p of encodeSideband(3, 'Internal error: the push could not be completed\n')) send(p);
        close();
      });
    },
  });
  return new Response(stream, { headers: { 'content-type': 'application/x-git-receive-pack-result', 'cache-control': 'no-cache' } });
}
