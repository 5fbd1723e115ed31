// The pages of what runs: an app (its address, deployments and containers, the live output of its
// containers) and a container (its state, ports and live output). Read-only views over the same rows
// the API serves; the logs follow the API's Server-Sent Events with the session cookie.
import type { FC } from 'hono/jsx';
import { raw } from 'hono/html';
import type { App, Container, Deployment } from '../../db/schema';
import { FOLLOW_LOGS_JS } from './client-scripts';

const Status: FC<{ s: string }> = ({ s }) => <span class={`status ${s}`}>{s}</span>;

const when = (d: Date | null | undefined) => (d ? d.toISOString().replace('T', ' ').slice(0, 19) : '—');

type Port = { hostIp?: string; hostPort?: number | null; containerPort: number; protocol?: string };

/** `0.0.0.0:8080->80/tcp`, as docker ps shows them. */
export function describePorts(ports: unknown): string {
  if (!Array.isArray(ports) || ports.length === 0) return '—';
  return (ports as Port[]).map((p) => `${p.hostIp || '0.0.0.0'}:${p.hostPort ?? '?'}->${p.containerPort}/${p.protocol ?? 'tcp'}`).join(', ');
}

export const ContainerTable: FC<{ rows: Container[] }> = ({ rows }) =>
  rows.length === 0 ? (
    <p class="hint">None.</p>
  ) : (
    <table>
      <tr><th>Name</th><th>Status</th><th>Health</th><th>Ports</th><th>Image</th><th>Started</th></tr>
      {rows.map((c) => (
        <tr data-container={c.name}>
          <td><a href={`/containers/${c.id}`}>{c.name}</a></td>
          <td><Status s={c.status} /></td>
          <td>{c.health ?? '—'}</td>
          <td><code>{describePorts(c.ports)}</code></td>
          <td><code>{c.imageRef}</code></td>
          <td>{when(c.startedAt)}</td>
        </tr>
      ))}
    </table>
  );

const LogPanel: FC<{ title: string; sources: { id: string; name: string }[] }> = ({ title, sources }) => (
  <div class="card" id="logs">
    <h2>{title}</h2>
    {sources.length === 0 ? <p class="hint">Nothing is running.</p> : <pre class="log" aria-live="polite"></pre>}
    {sources.length === 0 ? null : <script>{raw(`${FOLLOW_LOGS_JS}\nwindow.berthFollowLogs(${scriptValue(JSON.stringify(sources))}, document.getElementById('logs'));`)}</script>}
  </div>
);

export const AppPage: FC<{ app: App & { owner: string }; address: string; deployments: Deployment[]; containers: Container[] }> = ({ app, address, deployments, containers }) => {
  const live = containers.filter((c) => c.status !== 'removed');
  const current = deployments.find((d) => d.id === app.currentDeploymentId);
  return (
    <>
      <div class="card">
        <h1>{app.name}</h1>
        <p>
          <strong>Address:</strong> <a href={address} data-address>{address}</a>
          {current ? (
            <>
              {' '}· deployment #{current.number} <Status s={current.status} />
            </>
          ) : (
            <span class="hint"> · not deployed yet — <a href="/new">build it</a> with “Deploy” ticked</span>
          )}
        </p>
        <p class="hint">Owner {app.owner}. Created {when(app.createdAt)}.</p>
      </div>
      <div class="card">
        <h2>Containers</h2>
        <ContainerTable rows={live} />
      </div>
      <div class="card">
        <h2>Deployments</h2>
        {deployments.length === 0 ? (
          <p class="hint">None yet.</p>
        ) : (
          <table>
            <tr><th>#</th><th>Status</th><th>Image</th><th>Created</th><th>Error</th></tr>
            {deployments.map((d) => (
              <tr data-deployment={String(d.number)}>
                <td>{d.number}</td>
                <td><Status s={d.status} /></td>
                <td><code>{d.imageRef}</code></td>
                <td>{when(d.createdAt)}</td>
                <td>{d.error ?? ''}</td>
              </tr>
            ))}
          </table>
        )}
      </div>
      <LogPanel title="Output" sources={live.filter((c) => c.status !== 'created').map((c) => ({ id: c.id, name: c.name }))} />
    </>
  );
};

export const ContainerPage: FC<{ c: Container }> = ({ c }) => (
  <>
    <div class="card">
      <h1>{c.name}</h1>
      <table>
        <tr><th>Status</th><td><Status s={c.status} />{c.health ? <> · health {c.health}</> : null}</td></tr>
        <tr><th>Image</th><td><code>{c.imageRef}</code></td></tr>
        <tr><th>Ports</th><td><code>{describePorts(c.ports)}</code></td></tr>
        <tr><th>Restart policy</th><td>{c.restartPolicy}</td></tr>
        <tr><th>Started</th><td>{when(c.startedAt)}</td></tr>
        {c.exitReason ? <tr><th>Exit</th><td>{c.exitCode ?? '—'}: {c.exitReason}</td></tr> : null}
        <tr><th>ID</th><td><code>{c.id}</code></td></tr>
      </table>
    </div>
    <LogPanel title="Output" sources={c.status === 'created' ? [] : [{ id: c.id, name: c.name }]} />
  </>
);

/** A value as a JavaScript literal that cannot close the <script> it sits in. */
function scriptValue(v: string): string {
  return JSON.stringify(v).replace(/</g, '\\u003c');
}
