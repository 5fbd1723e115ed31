// The Node entry: one shared Postgres pool and S3 client for the process.
import { serve } from '@hono/node-server';
import { createApp } from './app';
import { readFunctionsConfig } from './config';
import { createNodePlatform } from './node-platform.node.ts';

export function startFunctions(env: Record<string, string | undefined>, port: number, hostname = '127.0.0.1') {
  const config = readFunctionsConfig(env);
  const { platform, sql } = createNodePlatform(config);
  const app = createApp(() => platform);
  const server = serve({ fetch: app.fetch, port, hostname });
  return {
    server,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await sql.end({ timeout: 5 });
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.env.BERTH_PORT ?? 8080);
  const host = process.env.BERTH_HOST ?? '127.0.0.1';
  const s = startFunctions(process.env, port, host);
  s.server.on('listening', () => console.log(`functions listening on http://${host}:${port}`));
  const stop = () => void s.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
