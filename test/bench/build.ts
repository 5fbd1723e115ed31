// The same Dockerfiles built by Berth (a runner in this process, Postgres + the embedded S3 server, measured from
// createBuild to the final status) and by buildah (`bud --layers --pull-never`, runc, the same
// debootstrapped base imported into its storage): medians of cold, fully cached and one-copied-file-
// changed builds, and the ratios Berth/buildah.
//   npx tsx test/bench/build.ts [runs=3]
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getBuild } from '../../db/queries/builds';
import { startCliBuild } from '../../runner/build/cli';
import { startBuilderBesideBuildah } from '../support/builder-beside-buildah';

const runs = Number(process.argv[2] ?? 3);

const CASES: Record<string, Record<string, string>> = {
  nginx: {
    Dockerfile: `FROM debian:bookworm
RUN apt-get update -q && apt-get install -y -q --no-install-recommends nginx && rm -rf /var/lib/apt/lists/*
COPY index.html /var/www/html/index.html
EXPOSE 80
CMD ["nginx", "-g", "daemon off;"]
`,
    'index.html': '<h1>hello</h1>\n',
  },
  app: {
    Dockerfile: `FROM debian:bookworm
ENV APP_HOME=/app
WORKDIR /app
COPY lib/ ./lib/
RUN for i in $(seq 1 200); do echo "line $i" >> /app/generated.txt; done && useradd -m app
COPY main.sh .
USER app
CMD ["sh", "/app/main.sh"]
`,
    'lib/a.sh': 'echo a\n',
    'lib/b.sh': 'echo b\n',
    'main.sh': 'echo main\n',
  },
};
const CHANGED_FILE: Record<string, string> = { nginx: 'index.html', app: 'main.sh' };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function sh(argv: string[], opts: { cwd?: string } = {}): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd: opts.cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr?.slice(-2000)}`);
  return r.stdout;
}

// buildah reads an oci: path as an image name, so the path must be lower-case.
const home = join(tmpdir(), `berth-bench-build-${Math.random().toString(36).slice(2, 10)}`);
mkdirSync(home);
chmodSync(home, 0o711);

async function main() {
  const { db, blobs, buildahRoot, stop } = await startBuilderBesideBuildah(home, 'bench', { leaseMs: 60000 });
  try {
    const berth = async (ctx: string, noCache: boolean): Promise<number> => {
      const t = performance.now();
      const id = await startCliBuild(db, blobs, { account: 'admin', tags: ['admin/bench:latest'], context: ctx, file: 'Dockerfile', buildArgs: {}, noCache });
      for (;;) {
        const b = await getBuild(db, id);
        if (b && ['succeeded', 'failed', 'cancelled'].includes(b.status)) {
          if (b.status !== 'succeeded') throw new Error(`Berth build ${b.status}: ${b.error}`);
          return (performance.now() - t) / 1000;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    const buildah = (ctx: string, noCache: boolean): number => {
      const t = performance.now();
      sh(['buildah', ...buildahRoot, '--runtime', '/usr/sbin/runc', 'bud', '--layers', '--pull-never', '--quiet', ...(noCache ? ['--no-cache'] : []), '-t', 'bench', ctx]);
      return (performance.now() - t) / 1000;
    };

    // Warm-up (not measured): the base unpacked in Berth's layer store, buildah's storage settled.
    const warm = mkdtempSync(join(home, 'warm-'));
    writeFileSync(join(warm, 'Dockerfile'), 'FROM debian:bookworm\nRUN true\n');
    await berth(warm, true);
    buildah(warm, true);

    const rows: string[] = [];
    const ratios: number[] = [];
    for (const [name, files] of Object.entries(CASES)) {
      const ctx = join(home, `ctx-${name}`);
      for (const [f, content] of Object.entries(files)) {
        mkdirSync(join(ctx, f, '..'), { recursive: true });
        writeFileSync(join(ctx, f), content);
      }
      const times: Record<string, { berth: number[]; buildah: number[] }> = { cold: { berth: [], buildah: [] }, cached: { berth: [], buildah: [] }, changed: { berth: [], buildah: [] } };
      for (let i = 0; i < runs; i++) {
        writeFileSync(join(ctx, CHANGED_FILE[name]!), files[CHANGED_FILE[name]!]!);
        // Alternate who goes first: the package mirror's proxy may be warmer for the second.
        const both = async (scenario: string, noCache: boolean) => {
          if (i % 2 === 0) {
            times[scenario]!.berth.push(await berth(ctx, noCache));
            times[scenario]!.buildah.push(buildah(ctx, noCache));
          } else {
            times[scenario]!.buildah.push(buildah(ctx, noCache));
            times[scenario]!.berth.push(await berth(ctx, noCache));
          }
        };
        await both('cold', true);
        await both('cached', false);
        // The same change for both: each builds it once against its own cache of the previous content.
        writeFileSync(join(ctx, CHANGED_FILE[name]!), `${files[CHANGED_FILE[name]!]!}# run ${i} ${Date.now()}\n`);
        await both('changed', false);
      }
      for (const [scenario, t] of Object.entries(times)) {
        const b = median(t.berth);
        const h = median(t.buildah);
        ratios.push(b / h);
        rows.push(`${name.padEnd(6)} ${scenario.padEnd(8)} berth ${b.toFixed(3).padStart(7)} s   buildah ${h.toFixed(3).padStart(7)} s   ratio ${(b / h).toFixed(2)}`);
      }
    }
    console.log(`\nBuild benchmark, medians of ${runs} runs (Berth: createBuild → final status; buildah: bud --layers --pull-never)`);
    for (const r of rows) console.log(r);
    console.log(`every ratio <= 1.0: ${ratios.every((r) => r <= 1) ? 'yes' : 'no'}`);
  } finally {
    await stop();
    rmSync(home, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
