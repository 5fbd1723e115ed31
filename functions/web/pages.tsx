// The pages' bodies. Every value shown is escaped by JSX; scripts are the constants of client-scripts.ts.
import type { FC } from 'hono/jsx';
import { raw } from 'hono/html';
import type { App } from '../../db/schema';
import type { BuildWithApp } from '../../db/queries/build-listing';
import { FOLLOW_BUILD_JS, NEW_BUILD_JS } from './client-scripts';

export const SignInForm: FC<{ error?: string; name?: string; next?: string }> = ({ error, name, next }) => (
  <div class="card" style="max-width:420px;margin:40px auto">
    <h1>Sign in</h1>
    {error ? <div class="error" role="alert">{error}</div> : null}
    <form method="post" action="/signin">
      <input type="hidden" name="next" value={next ?? '/'} />
      <label for="name">Account name</label>
      <input type="text" id="name" name="name" value={name ?? ''} autocomplete="username" required />
      <label for="password">
        Password <span class="hint">— or an API token of the account (how the local admin signs in)</span>
      </label>
      <input type="password" id="password" name="password" autocomplete="current-password" required />
      <button class="primary" type="submit">Sign in</button>
    </form>
    <p class="hint">No account? <a href="/signup">Sign up</a>.</p>
  </div>
);

export const SignUpForm: FC<{ error?: string; name?: string }> = ({ error, name }) => (
  <div class="card" style="max-width:420px;margin:40px auto">
    <h1>Sign up</h1>
    {error ? <div class="error" role="alert">{error}</div> : null}
    <form method="post" action="/signup">
      <label for="name">
        Account name <span class="hint">— lower-case letters, digits and hyphens; your images live under it</span>
      </label>
      <input type="text" id="name" name="name" value={name ?? ''} autocomplete="username" required />
      <label for="password">
        Password <span class="hint">— at least 10 characters</span>
      </label>
      <input type="password" id="password" name="password" autocomplete="new-password" required />
      <button class="primary" type="submit">Create account</button>
    </form>
  </div>
);

const Status: FC<{ s: string }> = ({ s }) => <span class={`status ${s}`}>{s}</span>;

export const Dashboard: FC<{ apps: (App & { owner: string; address: string })[]; builds: BuildWithApp[]; containers: unknown }> = ({ apps, builds, containers }) => (
  <>
    <div class="card">
      <h2>Apps</h2>
      {apps.length === 0 ? (
        <p class="hint">
          No apps yet. <a href="/new">Build one</a>.
        </p>
      ) : (
        <table>
          <tr><th>Name</th><th>Owner</th><th>Address</th></tr>
          {apps.map((a) => (
            <tr data-app={a.name}>
              <td><a href={`/apps/${a.name}`}>{a.name}</a></td>
              <td>{a.owner}</td>
              <td><a href={a.address}>{a.address}</a></td>
            </tr>
          ))}
        </table>
      )}
    </div>
    <div class="card">
      <h2>Containers</h2>
      {containers as never}
    </div>
    <div class="card">
      <h2>Builds</h2>
      {builds.length === 0 ? (
        <p class="hint">No builds yet.</p>
      ) : (
        <table>
          <tr><th>Build</th><th>App</th><th>Status</th><th>Image</th><th>Started</th></tr>
          {builds.map((b) => (
            <tr>
              <td><a href={`/builds/${b.id}`}><code>{b.id}</code></a></td>
              <td>{b.appName ?? '—'}</td>
              <td><Status s={b.status} /></td>
              <td><code>{b.imageRef ?? ''}</code></td>
              <td>{b.createdAt.toISOString().replace('T', ' ').slice(0, 19)}</td>
            </tr>
          ))}
        </table>
      )}
    </div>
  </>
);

const BuildPanel: FC<{ hidden: boolean }> = ({ hidden }) => (
  <div class="card" id="build" hidden={hidden}>
    <h2>
      Build <code data-build-id></code> <span data-status class="status"></span>
    </h2>
    <pre class="log" aria-live="polite"></pre>
    <div class="result"></div>
  </div>
);

export const NewBuild: FC<{ apps: App[]; csrf: string }> = ({ apps, csrf }) => (
  <>
    <div class="card">
      <h1>New build</h1>
      <div class="error" id="form-error" role="alert" hidden></div>
      <form id="new-build" data-csrf={csrf}>
        {apps.length > 0 ? (
          <>
            <label for="app">App</label>
            <select id="app" name="app">
              {apps.map((a) => (
                <option value={a.name}>{a.name}</option>
              ))}
            </select>
            <div class="or">or a new app:</div>
          </>
        ) : (
          <label for="newApp">App name</label>
        )}
        <input type="text" id="newApp" name="newApp" placeholder="new-app-name" />
        <label for="dockerfile">
          Dockerfile <span class="hint">— optional when the context holds one</span>
        </label>
        <input type="file" id="dockerfile" name="dockerfile" />
        <label for="context">
          Context <span class="hint">— a .tar, .tar.gz or .zip archive…</span>
        </label>
        <input type="file" id="context" name="context" accept=".tar,.tgz,.gz,.zip,application/x-tar,application/gzip,application/zip" />
        <div class="or">…or a folder:</div>
        <input type="file" id="folder" name="folder" {...{ webkitdirectory: true, multiple: true }} />
        <label>
          <input type="checkbox" name="deploy" checked /> Deploy the app when the build succeeds
        </label>
        <button class="primary" type="submit">Build</button>
      </form>
    </div>
    <BuildPanel hidden={true} />
    <script>{raw(FOLLOW_BUILD_JS)}</script>
    <script>{raw(NEW_BUILD_JS)}</script>
  </>
);

export const BuildPage: FC<{ build: BuildWithApp }> = ({ build }) => (
  <>
    <BuildPanel hidden={false} />
    <script>{raw(`${FOLLOW_BUILD_JS}\nwindow.berthFollowBuild(${scriptValue(build.id)}, ${scriptValue(build.appName ?? '')}, document.getElementById('build'));`)}</script>
  </>
);

/** A value as a JavaScript literal that cannot close the <script> it sits in. */
function scriptValue(v: string): string {
  return JSON.stringify(v).replace(/</g, '\\u003c');
}
