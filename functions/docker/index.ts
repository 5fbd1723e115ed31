// The Docker Engine API, served on its own port by functions/docker-engine.node.ts: the unmodified
// docker CLI (DOCKER_HOST=tcp://127.0.0.1:2375, a bearer token in config.json's HttpHeaders) builds
// and runs on Berth. Hijacked streams (attach, exec start) need the raw connection and are handled
// by the Node entry; everything else is here. Errors are Docker's {"message"}.
import { Hono } from 'hono';
import { requireAuth, type AuthEnv } from '../auth';
import { HttpError } from '../core/errors';
import type { PlatformFactory } from '../platform';
import { stripApiVersion } from './api-version';
import { buildApi } from './build';
import { containersEngine } from './containers';
import { diskUsage } from './disk-usage';
import { renderDockerError } from './engine-errors';
import { imagesEngine } from './images';
import { login } from './login';
import { networks } from './networks';
import { PING_HEADERS, system } from './system';

export function createDockerApp(platform: PlatformFactory): (req: Request, env?: unknown) => Promise<Response> {
  const app = new Hono<AuthEnv>();
  app.use(async (c, next) => {
    c.set('platform', await platform(c.env));
    await next();
  });
  app.onError((err, c) => {
    const { status, body } = renderDockerError(err);
    if (!(err instanceof HttpError)) console.error(`docker ${c.req.method} ${c.req.path}:`, err);
    return c.json(body, status as 500);
  });
  app.notFound((c) => c.json({ message: `${c.req.method} ${c.req.path} is not supported by Berth's Docker Engine API` }, 404));

  const ping = (c: { body: (b: string | null, s: 200, h: Record<string, string>) => Response }, body: string | null) =>
    c.body(body, 200, { ...PING_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
  app.get('/_ping', (c) => ping(c, 'OK'));
  app.on('HEAD', '/_ping', (c) => ping(c, null));

  app.route('/', login);
  app.use('*', async (c, next) => {
    const guard = requireAuth(['GET', 'HEAD'].includes(c.req.method) ? 'read' : 'write');
    try {
      await guard(c, next);
    } catch (err) {
      const { status, body } = renderDockerError(err);
      if (status === 401) return c.json({ message: `${body.message} (add "HttpHeaders": {"Authorization": "Bearer <token>"} to your docker config.json)` }, 401);
      throw err;
    }
  });
  app.route('/', system);
  app.route('/', diskUsage);
  app.route('/', networks);
  app.route('/', buildApi);
  app.route('/images', imagesEngine);
  app.route('/', containersEngine);

  return async (req, env) => {
    const url = new URL(req.url);
    const { path, error } = stripApiVersion(url.pathname);
    if (error) return Response.json({ message: error }, { status: 400 });
    if (path === url.pathname) return app.fetch(req, env);
    url.pathname = path;
    const init = { method: req.method, headers: req.headers, body: req.body, signal: req.signal, duplex: 'half' };
    return app.fetch(new Request(url, init as RequestInit), env);
  };
}
