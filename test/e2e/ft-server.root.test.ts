// The workflow Berth exists for, as on a laptop: `docker build -t ft_server .` of a Debian image with
// nginx and PHP-FPM installed by apt (from Debian's mirror, the one network this machine reaches),
// then `docker run -it --rm -p 80:80 -p 443:443 ft_server` on a terminal: both ports serve (PHP
// through FastCGI on 80, TLS on 443), and Ctrl-C at the terminal ends the container, which is removed.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCommand } from '../../runner/sandbox/exec';
import { useDockerCli } from '../support/docker-cli';

const fx = useDockerCli();

const DOCKERFILE = `FROM debian:bookworm
RUN apt-get update && apt-get install -y --no-install-recommends nginx php-fpm openssl \\
    && rm -rf /var/lib/apt/lists/*
RUN openssl req -x509 -nodes -days 365 -newkey rsa:2048 -subj "/CN=localhost" \\
    -keyout /etc/ssl/private/ft.key -out /etc/ssl/certs/ft.crt 2>/dev/null
COPY srcs/default /etc/nginx/sites-available/default
COPY srcs/index.php /var/www/html/index.php
COPY srcs/start.sh /tmp/start.sh
EXPOSE 80 443
ENTRYPOINT ["bash", "/tmp/start.sh"]
`;

const NGINX = `server {
    listen 80 default_server;
    listen [::]:80 default_server;
    listen 443 ssl default_server;
    listen [::]:443 ssl default_server;
    ssl_certificate /etc/ssl/certs/ft.crt;
    ssl_certificate_key /etc/ssl/private/ft.key;
    root /var/www/html;
    index index.php;
    location ~ \\.php$ {
        include snippets/fastcgi-php.conf;
        fastcgi_pass unix:/run/php/php8.2-fpm.sock;
    }
}
`;

function writeContext(): string {
  const dir = mkdtempSync(join(fx.home, 'ft-'));
  mkdirSync(join(dir, 'srcs'));
  writeFileSync(join(dir, 'Dockerfile'), DOCKERFILE);
  writeFileSync(join(dir, 'srcs', 'default'), NGINX);
  writeFileSync(join(dir, 'srcs', 'index.php'), '<?php echo "php " . PHP_MAJOR_VERSION . " via " . php_sapi_name() . "\\n";\n');
  writeFileSync(join(dir, 'srcs', 'start.sh'), 'service php8.2-fpm start\necho ready\nexec nginx -g "daemon off;"\n');
  return dir;
}

async function curl(url: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const r = await runCommand(['curl', '-sk', '--max-time', '2', url]);
    if (r.code === 0 && r.stdout) return r.stdout;
    await new Promise((res) => setTimeout(res, 100));
  }
  return '';
}

describe('ft_server on Berth with the docker CLI', () => {
  it('builds with apt, serves PHP on 80 and TLS on 443 at once, and ends with Ctrl-C', async () => {
    const ctx = writeContext();
    const build = await fx.docker(['build', '-t', 'ft_server', '.'], { cwd: ctx, timeoutMs: 600_000 });
    expect(build.code, build.stdout + build.stderr).toBe(0);
    expect(build.stdout).toMatch(/Successfully tagged ft_server:latest/);

    // `-it` needs a terminal: `script` gives the CLI one, as a user's shell would.
    const env = { PATH: process.env.PATH, HOME: fx.home, DOCKER_HOST: fx.dockerHost, DOCKER_CONFIG: fx.dockerConfig, SHELL: '/bin/sh' };
    const child = spawn('script', ['-q', '-e', '-c', 'exec docker run -it --rm -p 80:80 -p 443:443 ft_server', '/dev/null'], { env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    try {
      expect(await curl('http://127.0.0.1:80/index.php'), out).toBe('php 8 via fpm-fcgi\n');
      expect(await curl('https://127.0.0.1:443/index.php'), out).toBe('php 8 via fpm-fcgi\n');
      expect(out).toContain('ready');
      child.stdin.write('\x03'); // Ctrl-C at the terminal
      const code = await Promise.race([closed, new Promise<string>((r) => setTimeout(() => r('still running'), 30_000))]);
      expect(code, out).not.toBe('still running');
    } finally {
      child.kill('SIGKILL');
    }
    // --rm: gone once it ended.
    let ps = await fx.docker(['ps', '-a', '--filter', 'ancestor=ft_server', '-q']);
    for (let i = 0; i < 50 && ps.stdout.trim() !== ''; i++) {
      await new Promise((r) => setTimeout(r, 200));
      ps = await fx.docker(['ps', '-a', '--filter', 'ancestor=ft_server', '-q']);
    }
    expect(ps.stdout.trim()).toBe('');
  }, 900_000);
});
