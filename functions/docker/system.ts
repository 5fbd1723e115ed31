// _ping, /version and /info: what the CLI asks before anything else. Builder-Version 1 tells it to
// use the legacy builder (a tar context POSTed to /build), the one Berth serves.
import { Hono } from 'hono';
import type { AuthEnv } from '../auth';
import { countContainersByStatus } from '../../db/queries/docker-containers';
import { listTaggedImages } from '../../db/queries/docker-images';
import { API_VERSION, MIN_API_VERSION } from './api-version';

export const BERTH_ENGINE_VERSION = '0.1.0-berth';

export const PING_HEADERS: Record<string, string> = {
  'API-Version': API_VERSION,
  'Docker-Experimental': 'false',
  OSType: 'linux',
  'Builder-Version': '1',
  'Cache-Control': 'no-cache, no-store, must-revalidate',
  Pragma: 'no-cache',
};

export const system = new Hono<AuthEnv>();

system.get('/version', (c) =>
  c.json({
    Platform: { Name: 'Berth' },
    Components: [{ Name: 'Engine', Version: BERTH_ENGINE_VERSION, Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: 'amd64' } }],
    Version: BERTH_ENGINE_VERSION,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: 'berth',
    GoVersion: 'n/a',
    Os: 'linux',
    Arch: 'amd64',
    KernelVersion: 'berth',
    BuildTime: new Date(0).toISOString(),
  }),
);

system.get('/info', async (c) => {
  const counts = await countContainersByStatus(c.var.platform.db, c.var.actingAccountIds);
  const count = (...s: string[]) => s.reduce((n, k) => n + (counts[k] ?? 0), 0);
  const images = new Set((await listTaggedImages(c.var.platform.db, c.var.actingAccountIds)).map((r) => r.digest)).size;
  const publicUrl = new URL(c.var.platform.publicUrl ?? 'http://127.0.0.1:8080');
  return c.json({
    ID: 'berth',
    Name: 'berth',
    ServerVersion: BERTH_ENGINE_VERSION,
    OperatingSystem: 'Berth',
    OSType: 'linux',
    Architecture: 'x86_64',
    Driver: 'overlay',
    Containers: count('created', 'starting', 'running', 'restarting', 'stopping', 'exited', 'dead'),
    ContainersRunning: count('running', 'restarting', 'stopping'),
    ContainersPaused: 0,
    ContainersStopped: count('created', 'starting', 'exited', 'dead'),
    Images: images,
    NCPU: 1,
    MemTotal: 0,
    DockerRootDir: '/var/lib/berth',
    LoggingDriver: 'berth',
    CgroupDriver: 'cgroupfs',
    CgroupVersion: '2',
    KernelVersion: 'berth',
    IndexServerAddress: publicUrl.host,
    RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: ['127.0.0.0/8'], Mirrors: [] },
    Plugins: { Volume: [], Network: ['bridge'], Authorization: null, Log: [] },
    Runtimes: { runc: { path: 'runc' } },
    DefaultRuntime: 'runc',
    SecurityOptions: ['name=seccomp,profile=builtin', 'name=userns'],
    Labels: [],
    Warnings: [],
    Swarm: { LocalNodeState: 'inactive', NodeID: '', NodeAddr: '', ControlAvailable: false, Error: '', RemoteManagers: null },
    ExperimentalBuild: false,
    HttpProxy: '',
    HttpsProxy: '',
    NoProxy: '',
  });
});
