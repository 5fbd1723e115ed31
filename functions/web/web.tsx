// The web UI: sign-in and sign-up, a list of one's apps, containers and builds, /new to upload a
// Dockerfile and a context and watch the build, and a page per build, app and container.
// Server-rendered; the uploads go through the API.
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { getCookie } from 'hono/cookie';
import { findAccountByName, findAccountByToken } from '../../db/queries/accounts';
import { findAppFor, listAppsFor } from '../../db/queries/apps';
import { findContainerFor, listContainersFor, listContainersOfApp } from '../../db/queries/containers';
import { listDeployments } from '../../db/queries/deployments';
import { findBuildFor, listBuildsFor } from '../../db/queries/build-listing';
import { listActingAccountIds } from '../../db/queries/memberships';
import { createSession, deleteSession } from '../../db/queries/sessions';
import { appAddress, pullableImageRef } from '../api/app-address';
import { signUp } from '../api/users';
import { SESSION_COOKIE } from '../auth';
import { NAME_PATTERN } from '../api/schemas';
import { HttpError } from '../core/errors';
import { verifyPassword } from '../core/password';
import { AppPage, ContainerPage, ContainerTable } from './app-pages';
import { Layout } from './layout';
import { BuildPage, Dashboard, NewBuild, SignInForm, SignUpForm } from './pages';
import { clearSessionCookie, isSameOrigin, loadViewer, setSessionCookie, type WebEnv } from './session';

export const web = new Hono<WebEnv>();
// Mounted at the root beside the API and the registry: guard only the pages' own paths.
for (const path of ['/', '/signin', '/signup', '/signout', '/new', '/builds/*', '/apps/*', '/containers/*']) web.use(path, loadViewer);
const formLimit = bodyLimit({
  maxSize: 64 * 1024,
  onError: () => {
    throw new HttpError(413, 'payload_too_large', 'Form refused: it exceeds 64 KiB');
  },
});
for (const path of ['/signin', '/signup', '/signout']) web.post(path, formLimit);

function page(c: Context<WebEnv>, title: string, body: unknown, status: 200 | 400 | 401 | 403 | 404 | 409 = 200) {
  const v = c.var.viewer;
  c.header('cache-control', 'no-store');
  return c.html('<!doctype html>' + (<Layout title={title} account={v?.account} csrf={v?.session.csrfToken}>{body as never}</Layout>).toString(), status);
}

/** Only local paths: a sign-in link cannot send the user to another site. */
function safeNext(next: unknown): string {
  return typeof next === 'string' && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/';
}

function requireViewer(c: Context<WebEnv>) {
  const v = c.var.viewer;
  if (!v) return undefined;
  return v;
}

async function field(c: Context<WebEnv>, name: string): Promise<string> {
  const body = await c.req.parseBody();
  const v = body[name];
  return typeof v === 'string' ? v : '';
}

web.get('/', async (c) => {
  const v = requireViewer(c);
  if (!v) return c.redirect('/signin');
  const db = c.var.platform.db;
  const ids = await listActingAccountIds(db, v.account);
  const [apps, builds, running] = await Promise.all([listAppsFor(db, ids, { limit: 50 }), listBuildsFor(db, ids, { limit: 20 }), listContainersFor(db, ids, { limit: 50, all: false })]);
  return page(
    c,
    'Your apps',
    <Dashboard
      apps={apps.map((a) => ({ ...a, address: appAddress(c.var.platform, a.name) }))}
      builds={builds.map((b) => ({ ...b, imageRef: pullableImageRef(c.var.platform, b.imageRef) }))}
      containers={<ContainerTable rows={running} />}
    />,
  );
});

web.get('/signin', (c) => (c.var.viewer ? c.redirect('/') : page(c, 'Sign in', <SignInForm next={safeNext(c.req.query('next'))} />)));

web.post('/signin', async (c) => {
  if (!isSameOrigin(c)) return page(c, 'Sign in', <SignInForm error="Sign-in refused: the form was sent from another site." />, 403);
  const name = (await field(c, 'name')).trim();
  const password = await field(c, 'password');
  const next = safeNext(await field(c, 'next'));
  const db = c.var.platform.db;
  const account = await findAccountByName(db, name);
  let ok = false;
  if (account && account.kind === 'user') {
    if (account.passwordHash && (await verifyPassword(password, account.passwordHash))) ok = true;
    // An account made by token only (the local admin) signs in with one of its tokens — one that
    // holds every scope the session will have, so a read-only token cannot become a full session.
    else if (password.startsWith('berth_')) {
      const found = await findAccountByToken(db, password);
      const scopes = found?.token.scopes ?? [];
      ok = found?.account.id === account.id && scopes.includes('write') && (!account.isAdmin || scopes.includes('admin'));
    }
  }
  if (!ok || !account) return page(c, 'Sign in', <SignInForm error="Sign-in failed: the name or password is wrong." name={name} next={next} />, 401);
  const { secret } = await createSession(db, account.id);
  setSessionCookie(c, secret);
  return c.redirect(next, 303);
});

web.get('/signup', (c) => (c.var.viewer ? c.redirect('/') : page(c, 'Sign up', <SignUpForm />)));

web.post('/signup', async (c) => {
  if (!isSameOrigin(c)) return page(c, 'Sign up', <SignUpForm error="Sign-up refused: the form was sent from another site." />, 403);
  const name = (await field(c, 'name')).trim();
  const password = await field(c, 'password');
  if (!NAME_PATTERN.test(name)) {
    return page(c, 'Sign up', <SignUpForm name={name} error={`Cannot use "${name}" as a name: use 1 to 63 lower-case letters, digits and hyphens, starting with a letter.`} />, 400);
  }
  if (password.length < 10 || password.length > 1024) return page(c, 'Sign up', <SignUpForm name={name} error="Choose a password of at least 10 characters." />, 400);
  const account = await signUp(c.var.platform.db, name, password);
  if (!account) return page(c, 'Sign up', <SignUpForm name={name} error={`The name "${name}" is taken: choose another.`} />, 409);
  const { secret } = await createSession(c.var.platform.db, account.id);
  setSessionCookie(c, secret);
  return c.redirect('/', 303);
});

web.post('/signout', async (c) => {
  const v = c.var.viewer;
  if (v) {
    if ((await field(c, '_csrf')) !== v.session.csrfToken) return page(c, 'Sign out', <p class="error">Sign-out refused: the form is stale; reload the page and try again.</p>, 403);
    await deleteSession(c.var.platform.db, getCookie(c, SESSION_COOKIE)!);
  }
  clearSessionCookie(c);
  return c.redirect('/signin', 303);
});

web.get('/new', async (c) => {
  const v = requireViewer(c);
  if (!v) return c.redirect('/signin?next=/new');
  const ids = await listActingAccountIds(c.var.platform.db, v.account);
  const apps = await listAppsFor(c.var.platform.db, ids, { limit: 100 });
  return page(c, 'New build', <NewBuild apps={apps} csrf={v.session.csrfToken} />);
});

web.get('/builds/:id', async (c) => {
  const v = requireViewer(c);
  const id = c.req.param('id');
  if (!v) return c.redirect(`/signin?next=${encodeURIComponent(`/builds/${id}`)}`);
  const ids = await listActingAccountIds(c.var.platform.db, v.account);
  const build = id.length <= 100 ? await findBuildFor(c.var.platform.db, ids, id) : undefined;
  if (!build) return page(c, 'Not found', <div class="card"><h1>Build not found</h1><p>No build "{id}" among yours. <a href="/">Back to your builds</a>.</p></div>, 404);
  return page(c, `Build ${build.id}`, <BuildPage build={build} />);
});

const notFound = (c: Context<WebEnv>, what: string, name: string) =>
  page(c, 'Not found', <div class="card"><h1>{what} not found</h1><p>No {what.toLowerCase()} "{name}" among yours. <a href="/">Back to your apps</a>.</p></div>, 404);

web.get('/apps/:name', async (c) => {
  const v = requireViewer(c);
  const name = c.req.param('name');
  if (!v) return c.redirect(`/signin?next=${encodeURIComponent(`/apps/${name}`)}`);
  const db = c.var.platform.db;
  const ids = await listActingAccountIds(db, v.account);
  const app = name.length <= 100 ? await findAppFor(db, ids, name) : undefined;
  if (!app) return notFound(c, 'App', name);
  const [deployments, containers] = await Promise.all([listDeployments(db, app.id, { limit: 10 }), listContainersOfApp(db, app.id)]);
  return page(c, app.name, <AppPage app={app} address={appAddress(c.var.platform, app.name)} deployments={deployments} containers={containers} />);
});

web.get('/containers/:id', async (c) => {
  const v = requireViewer(c);
  const id = c.req.param('id');
  if (!v) return c.redirect(`/signin?next=${encodeURIComponent(`/containers/${id}`)}`);
  const ids = await listActingAccountIds(c.var.platform.db, v.account);
  const ctr = id.length <= 128 ? await findContainerFor(c.var.platform.db, ids, id) : undefined;
  if (!ctr || ctr.status === 'removed') return notFound(c, 'Container', id);
  return page(c, ctr.name, <ContainerPage c={ctr} />);
});
