import { Hono } from 'hono';
import { renderError } from './core/errors';
import { createApi } from './api/api';
import { createGitRoutes } from './git/smart-http';
import { createGitWebhook } from './git/webhook';
import { health } from './health';
import { fromHonoError } from './hono-errors';
import { registry } from './registry';
import { web } from './web/web';
import type { AppEnv, PlatformFactory } from './platform';

/** The one Hono app both entries serve. Runtime specifics stay in the entries. */
export function createApp(platform: PlatformFactory): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use(async (c, next) => {
    c.set('platform', await platform(c.env));
    await next();
  });

  app.onError((err, c) => {
    const { status, body, headers } = renderError(fromHonoError(err, c.req.method, c.req.path));
    if (status >= 500) console.error(`${c.req.method} ${c.req.path}:`, err);
    for (const [k, v] of Object.entries(headers)) c.header(k, v);
    return c.json(body, status as 500);
  });

  app.notFound((c) => c.json({ error: { code: 'not_found', message: `No route for ${c.req.method} ${c.req.path}` } }, 404));

  app.route('/healthz', health);
  app.route('/v2', registry);
  // Before the API: the webhook authenticates by its shared secret, not by the API's token.
  app.route('/api/v1/apps', createGitWebhook());
  app.route('/api/v1', createApi());
  app.route('/', createGitRoutes());
  app.route('/', web);

  return app;
}
