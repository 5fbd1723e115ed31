// Exec into a running container: recorded as a job of kind 'exec' with payload
// { containerId, command, env, user, workdir } for the runner the container is on, which runs the
// process and stores { exitCode, output } as the job's result. The exec's id is the job's.
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { enqueueContainerJob, findContainerJob } from '../../db/queries/containers';
import type { Job } from '../../db/schema';
import { requireAuthByMethod, type AuthEnv } from '../auth';
import { conflict, notFound } from '../core/errors';
import { ENV_NAME, IdParam, requireContainer } from './containers';
import { errors, json, security } from './schemas';

const ExecSchema = z
  .object({ id: z.string(), status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']), exitCode: z.number().nullable(), output: z.string().nullable(), error: z.string().nullable() })
  .openapi('Exec');
function renderExec(j: Job): z.infer<typeof ExecSchema> {
  const r = (j.result ?? {}) as { exitCode?: number; output?: string };
  return { id: String(j.id), status: j.status, exitCode: r.exitCode ?? null, output: r.output ?? null, error: j.error };
}

export const containerExec = new OpenAPIHono<AuthEnv>();
containerExec.use(requireAuthByMethod());

containerExec.openapi(
  createRoute({
    method: 'post',
    path: '/{id}/exec',
    tags: ['containers'],
    summary: 'Run a command inside a running container',
    description: 'Queued to the runner the container is on; poll GET /containers/{id}/exec/{execId} for its exit code and output.',
    security,
    request: {
      params: IdParam,
      body: {
        required: true,
        content: {
          'application/json': {
            schema: z
              .object({
                command: z.array(z.string().max(65536)).min(1, 'give the command as an array, e.g. ["ls", "-l"]').max(1024),
                env: z.record(z.string().regex(ENV_NAME, 'environment variable names are letters, digits and _'), z.string().max(32768)).default({}),
                user: z.string().max(256).optional(),
                workdir: z.string().startsWith('/', 'must be an absolute path').max(4096).optional(),
              })
              .strict()
              .openapi('ExecRequest'),
          },
        },
      },
    },
    responses: { 202: json(ExecSchema, 'Queued.'), 400: errors[400], 401: errors[401], 404: errors[404], 409: errors[409] },
  }),
  async (c) => {
    const ctr = await requireContainer(c, c.req.valid('param').id);
    if (ctr.status !== 'running') throw conflict(`Cannot exec in container "${ctr.name}": it is ${ctr.status}, not running`, 'container_not_running');
    const body = c.req.valid('json');
    const job = await enqueueContainerJob(c.var.platform.db, ctr, 'exec', { command: body.command, env: body.env, user: body.user ?? null, workdir: body.workdir ?? null });
    return c.json(renderExec(job), 202);
  },
);

containerExec.openapi(
  createRoute({
    method: 'get',
    path: '/{id}/exec/{execId}',
    tags: ['containers'],
    summary: 'The state and result of an exec',
    security,
    request: { params: IdParam.extend({ execId: z.string().regex(/^\d{1,18}$/, 'must be an exec id').openapi({ param: { name: 'execId', in: 'path' } }) }) },
    responses: { 200: json(ExecSchema, 'The exec.'), 400: errors[400], 401: errors[401], 404: errors[404] },
  }),
  async (c) => {
    const { id, execId } = c.req.valid('param');
    const ctr = await requireContainer(c, id);
    const job = await findContainerJob(c.var.platform.db, ctr.id, Number(execId), 'exec');
    if (!job) throw notFound(`Exec "${execId}" not found in container "${ctr.name}"`);
    return c.json(renderExec(job), 200);
  },
);
