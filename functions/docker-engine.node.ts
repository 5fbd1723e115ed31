// The Docker Engine API's Node entry (127.0.0.1:2375 on the local stack): its own port because the
// docker CLI owns the path space (/v1.47/containers/…), and Node because attach and exec hijack the
// connection, which Workers cannot. Shares Postgres and S3 with the functions entry's configuration.
import { serve } from '@hono/node-server';
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { readFunctionsConfig } from './config';
import { createDockerApp } from './docker/index';
import { handleHijack } from './docker/hijack.node.ts';
import { archiveFromRunner, extractOnRunner, queryRunner, resizeOnRunner } from './docker/runner-sessions.node.ts';
import { createNodePlatform } from './node-platform.node.ts';

/** Where the runner on this machine serves attach sessions (runner/container/attach.ts). */
export function runnerAttachSocket(env: Record<string, string | undefined>): string {
  return env.BERTH_RUNNER_ATTACH_SOCKET ?? join(env.BERTH_RUNNER_HOME ?? join(env.BERTH_HOME ?? '/var/lib/berth', 'runner'), 'attach.sock');
}

export function startDockerEngine(env: Record<string, string | undefined>, port: number, hostname = '127.0.0.1') {
  const config = readFunctionsConfig(env);
  const { platform, sql } = createNodePlatform(config);
  const socketPath = runnerAttachSocket(env);
  platform.runnerSessions = { resize: (r) => resizeOnRunner(socketPath, r), query: (r) => queryRunner(socketPath, r), archive: (r) => archiveFromRunner(socketPath, r), extract: (r, tar) => extractOnRunner(socketPath, r, tar) };
  const fetch = createDockerApp(() => platform);
  const server = serve({ fetch: (req: Request) => fetch(req), port, hostname }) as Server;
  // Streams (build progress, logs -f, wait) stay open as long as the work they follow.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  // Hijacked connections are no longer the HTTP server's: closing it would wait for them forever.
  const hijacked = new Set<Duplex>();
  server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
    hijacked.add(socket);
    socket.on('close', () => hijacked.delete(socket));
    handleHijack(platform, socketPath, req, socket, head);
  });
  return {
    server,
    async close() {
      server.closeAllConnections();
      for (const s of hijacked) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await sql.end({ timeout: 5 });
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.env.BERTH_DOCKER_PORT ?? 2375);
  const host = process.env.BERTH_DOCKER_HOST ?? '127.0.0.1';
  const s = startDockerEngine(process.env, port, host);
  s.server.on('listening', () => console.log(`docker engine listening on tcp://${host}:${port}`));
  const stop = () => void s.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
