// Realistic Dockerfiles, modelled on what people write (ft_server-style nginx, node/python-style
// apps, multi-stage, every instruction and flag), each with its context. `setup` makes what plain
// files cannot say: symlinks, hard links, modes, tars.
import { execFileSync } from 'node:child_process';
import { chmodSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ConformanceCase {
  name: string;
  files: Record<string, string>;
  setup?: (dir: string) => void;
  buildArgs?: Record<string, string>;
  target?: string;
  /** buildah 1.28 lacks a feature the case uses: Berth's image is checked against `expect` only. */
  buildahLacks?: boolean;
  /** File contents that must hold in Berth's image (checked whether or not buildah builds it). */
  expect?: Record<string, string>;
  /** Needs the package mirror (slow; run with --apt). */
  apt?: boolean;
}

const sh = (dir: string, script: string) => execFileSync('sh', ['-c', script], { cwd: dir, stdio: 'pipe' });

export const CORPUS: ConformanceCase[] = [
  {
    name: 'ft-server',
    apt: true,
    files: {
      Dockerfile: `FROM debian:bookworm
LABEL maintainer="student@42.fr"
RUN apt-get update && apt-get install -y --no-install-recommends nginx \\
    && rm -rf /var/lib/apt/lists/*
COPY srcs/ /tmp/
RUN chmod +x /tmp/start.sh && mv /tmp/default.conf /etc/nginx/sites-available/default
EXPOSE 80 443
ENTRYPOINT ["bash", "/tmp/start.sh"]
`,
      'srcs/start.sh': '#!/bin/bash\nservice nginx start\nsleep infinity\n',
      'srcs/default.conf': 'server { listen 80; root /var/www/html; }\n',
      'srcs/index.php': '<?php phpinfo(); ?>\n',
    },
  },
  {
    name: 'node-style-app',
    files: {
      Dockerfile: `FROM debian:bookworm
ENV NODE_ENV=production \\
    PORT=3000
WORKDIR /usr/src/app
COPY package*.json ./
RUN mkdir -p node_modules && echo '{}' > node_modules/.installed
COPY . .
RUN useradd -r -u 1001 -g root node
COPY --chown=node server.js /chowned/
COPY --chown=1001 server.js /chowned-by-id/
USER node
EXPOSE 3000
CMD [ "node", "server.js" ]
`,
      'package.json': '{"name":"app","version":"1.0.0"}\n',
      'package-lock.json': '{"lockfileVersion":3}\n',
      'server.js': 'console.log("hi")\n',
      'lib/db.js': 'module.exports = {}\n',
      '.dockerignore': 'node_modules\nnpm-debug.log\n*.md\n!README.md\n.git\n',
      'README.md': '# app\n',
      'CHANGES.md': 'changes\n',
      'npm-debug.log': 'log\n',
      'node_modules/x/index.js': 'x\n',
    },
  },
  {
    name: 'python-style-app',
    files: {
      Dockerfile: `FROM debian:bookworm
ENV PYTHONDONTWRITEBYTECODE 1
ENV PYTHONUNBUFFERED=1 APP_HOME=/app
WORKDIR $APP_HOME
COPY requirements.txt .
RUN cat requirements.txt > /dev/null
COPY app/ app/
RUN groupadd -g 10001 appgrp && useradd -u 10001 -g appgrp -m -d /home/appuser appuser \\
 && chown -R appuser:appgrp /app
USER appuser:appgrp
CMD python -m app
`,
      'requirements.txt': 'flask==3.0.0\n',
      'app/__init__.py': '',
      'app/__main__.py': 'print("hi")\n',
      'app/templates/index.html': '<p>hi</p>\n',
    },
  },
  {
    name: 'multi-stage',
    buildArgs: { VERSION: '2.1' },
    files: {
      Dockerfile: `ARG BASE=debian:bookworm
ARG VERSION=1.0
FROM \${BASE} AS builder
ARG VERSION
WORKDIR /build
COPY src ./src
RUN mkdir -p out && echo "v$VERSION" > out/version && cp -r src out/ && chmod 0750 out/src

FROM builder AS tester
RUN test -f /build/out/version

FROM debian:bookworm
ARG VERSION
LABEL version=$VERSION org.opencontainers.image.title="my app"
COPY --from=builder /build/out /opt/app
COPY --from=0 /build/out/version /opt/version-copy
COPY --from=builder /build/out/ /opt/app2/
ENTRYPOINT ["/opt/app/src/run.sh"]
CMD ["--help"]
`,
      'src/run.sh': '#!/bin/sh\necho run\n',
      'src/data/x.txt': 'x\n',
    },
  },
  {
    name: 'args-env-expansion',
    buildArgs: { FROM_CLI: 'cli', EMPTY: '' },
    files: {
      Dockerfile: `ARG TAG=bookworm
FROM debian:\${TAG}
ARG FROM_CLI
ARG UNSET
ARG EMPTY
ARG WITH_DEFAULT=default
ENV A=a B="b c" C=\${UNSET:-fallback} D=\${WITH_DEFAULT:+set} E=\${EMPTY:-wasempty}
ENV G \${A}-$B and more
ENV H=\\$A I='$A' J="$A" K=\${A}\${A}
ENV PATH=/opt/bin:$PATH
ENV L=$FROM_CLI M=\${UNSET:+never}
RUN echo "$A|$B|$C|$D|$E|$G|$H|$I|$J|$K|$L|$M|$FROM_CLI|$WITH_DEFAULT" > /env.txt
RUN env | sort | grep -v -e HOSTNAME -e '^_' -e SHLVL -e PWD -e '^HOME' > /env-all.txt || true
`,
    },
  },
  {
    name: 'workdir',
    files: {
      Dockerfile: `FROM debian:bookworm
WORKDIR /a
WORKDIR b
WORKDIR ../c/./d
RUN pwd > /pwd.txt
RUN useradd -u 2000 u2000
USER u2000
WORKDIR /owned/by/user
USER root
WORKDIR /final/empty
`,
    },
  },
  {
    name: 'user-group',
    files: {
      Dockerfile: `FROM debian:bookworm
RUN groupadd -g 3000 grp && useradd -u 3000 -g grp -m usr
COPY --chown=usr:grp a.txt /data/a.txt
COPY --chown=3000 b.txt /data/
COPY --chown=70000:70001 c.txt /data/c.txt
COPY --chown=usr d/ /data/d/
COPY --chmod=0640 a.txt /data/mode640
COPY --chmod=755 --chown=usr:grp d /data/dmode/
USER usr:grp
RUN id > /tmp/id.txt && touch /tmp/made-by-user
USER 3000
`,
      'a.txt': 'a\n',
      'b.txt': 'b\n',
      'c.txt': 'c\n',
      'd/e.txt': 'e\n',
      'd/f/g.txt': 'g\n',
    },
  },
  {
    name: 'add-archives',
    setup: (dir) => {
      mkdirSync(join(dir, 'payload/sub'), { recursive: true });
      writeFileSync(join(dir, 'payload/sub/file.txt'), 'in tar\n');
      writeFileSync(join(dir, 'payload/run.sh'), '#!/bin/sh\n', { mode: 0o755 });
      symlinkSync('sub/file.txt', join(dir, 'payload/link'));
      sh(dir, 'tar --numeric-owner --owner=1234 --group=5678 -cf plain.tar -C payload . && tar --numeric-owner --owner=100000 --group=100001 -czf gz.tar.gz -C payload . && cp gz.tar.gz copy-me.tgz && echo notatar | gzip > fake.gz && tar -cJf xz.tar.xz -C payload . && tar -cf empty.tar -T /dev/null && rm -rf payload');
    },
    files: {
      Dockerfile: `FROM debian:bookworm
ADD plain.tar /x/plain/
ADD gz.tar.gz /x/gz
COPY copy-me.tgz /x/copied/
ADD fake.gz /x/fake/
ADD xz.tar.xz /x/xz/
ADD empty.tar /x/empty/
ADD hello.txt /x/hello.txt
ADD hello.txt /x/hello-dir/
`,
      'hello.txt': 'hello\n',
    },
  },
  {
    name: 'copy-semantics',
    setup: (dir) => {
      mkdirSync(join(dir, 'empty'));
      mkdirSync(join(dir, 'tree/empty-inside'), { recursive: true });
      writeFileSync(join(dir, 'tree/x.txt'), 'x\n');
      writeFileSync(join(dir, 'tree/exec.sh'), '#!/bin/sh\n', { mode: 0o755 });
      writeFileSync(join(dir, 'tree/setuid'), 'suid\n');
      chmodSync(join(dir, 'tree/setuid'), 0o4755);
      writeFileSync(join(dir, 'tree/private'), 'p\n');
      chmodSync(join(dir, 'tree/private'), 0o600);
      chmodSync(join(dir, 'tree'), 0o700);
      symlinkSync('x.txt', join(dir, 'tree/rel-link'));
      symlinkSync('/etc/passwd', join(dir, 'tree/abs-link'));
      symlinkSync('missing', join(dir, 'tree/dangling'));
      linkSync(join(dir, 'tree/x.txt'), join(dir, 'tree/hard.txt'));
      writeFileSync(join(dir, 'with space.txt'), 'space\n');
      symlinkSync('tree/x.txt', join(dir, 'top-link'));
      writeFileSync(join(dir, 'f1.conf'), '1\n');
      writeFileSync(join(dir, 'f2.conf'), '2\n');
      writeFileSync(join(dir, 'g.conf'), 'g\n');
    },
    files: {
      Dockerfile: `FROM debian:bookworm
COPY tree /t1
COPY tree/ /t2/
COPY tree /t3/sub/
COPY empty /e1
COPY empty/ /e2/
COPY ["with space.txt", "/s/with space.txt"]
COPY top-link /l/
COPY f?.conf /w1/
COPY *.conf /w2/
COPY [fg]*.conf /w3/
COPY tree/x.txt /tmp/
COPY tree/x.txt /renamed
COPY tree/x.txt tree/exec.sh /multi/
WORKDIR /wd
COPY tree/x.txt .
COPY tree/x.txt rel/
COPY tree/x.txt rel-file
COPY . /all/
`,
    },
  },
  {
    name: 'metadata',
    files: {
      Dockerfile: `FROM debian:bookworm
LABEL a=1 b="two words" "c d"=3
LABEL multi.line="first \\
second"
EXPOSE 80 443/tcp 53/udp 8000-8002
EXPOSE 9000/TCP
VOLUME /data
VOLUME ["/var/log", "/var/cache"]
VOLUME /one /two
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD curl -f http://localhost/ || exit 1
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN echo $0 > /shell.txt && set -o | grep pipefail >> /shell.txt
CMD echo hi
ONBUILD RUN echo onbuild
ONBUILD COPY . /app
`,
    },
  },
  {
    name: 'cmd-entrypoint-forms',
    files: {
      Dockerfile: `FROM debian:bookworm AS one
CMD ["a", "b"]
ENTRYPOINT /bin/echo hello

FROM debian:bookworm AS two
ENTRYPOINT ["/bin/echo"]
CMD ["x"]

FROM two AS three
ENTRYPOINT ["/bin/cat"]

FROM debian:bookworm
CMD [ "not json'
HEALTHCHECK NONE
ENTRYPOINT []
`,
    },
  },
  {
    name: 'cmd-entrypoint-inherit',
    target: 'three',
    files: {
      Dockerfile: `FROM debian:bookworm AS two
ENTRYPOINT ["/bin/echo"]
CMD ["x"]

FROM two AS three
ENTRYPOINT ["/bin/cat"]
`,
    },
  },
  {
    name: 'continuations-comments',
    files: {
      Dockerfile: `# a comment
FROM debian:bookworm

# another
RUN echo one \\
# a comment inside
    two \\
    \\
    three > /cont.txt
RUN echo   "spaces   kept"   >   /spaces.txt   
RUN echo trailing \\   
    ws > /trailing.txt
   LABEL   indented=yes
env lower=case
`,
    },
  },
  {
    name: 'escape-directive',
    files: {
      Dockerfile: `# escape=\`
FROM debian:bookworm
RUN echo a \`
    b > /esc.txt
ENV P=C:\\path\\to
COPY x.txt /x\\y.txt
`,
      'x.txt': 'x\n',
    },
  },
  {
    name: 'syntax-directive-heredoc',
    buildahLacks: true,
    files: {
      Dockerfile: `# syntax=docker/dockerfile:1.4
FROM debian:bookworm
ARG NAME=world
RUN <<EOF
echo "hello $NAME" > /heredoc1.txt
EOF
RUN <<-EOT bash
	set -e
	echo tab-stripped > /heredoc2.txt
	EOT
COPY <<EOF /etc/app.conf
name=$NAME
EOF
COPY <<'EOF' /etc/raw.conf
name=$NAME
EOF
RUN cat <<A > /two.txt && cat <<B >> /two.txt
first
A
second
B
`,
    },
    expect: {
      '/heredoc1.txt': 'hello world\n',
      '/heredoc2.txt': 'tab-stripped\n',
      '/etc/app.conf': 'name=world\n',
      '/etc/raw.conf': 'name=$NAME\n',
      '/two.txt': 'first\nsecond\n',
    },
  },
  {
    name: 'dockerignore',
    files: {
      Dockerfile: `FROM debian:bookworm
COPY . /ctx/
`,
      '.dockerignore': `# comment
*.log
!keep.log
secret/
**/*.tmp
docs
!docs/public.md
/abs.txt
./dot.txt
build/**
!build/keep/
Dockerfile
`,
      'a.log': '',
      'keep.log': '',
      'secret/key': 'k',
      'nested/deep/x.tmp': '',
      'nested/deep/y.txt': 'y',
      'docs/private.md': '',
      'docs/public.md': 'p',
      'abs.txt': '',
      'dot.txt': '',
      'build/out/o': '',
      'build/keep/k': 'k',
      'normal.txt': 'n',
    },
  },
  {
    name: 'scratch-and-target',
    target: 'release',
    files: {
      Dockerfile: `FROM debian:bookworm AS build
RUN mkdir /out && echo bin > /out/app && chmod 755 /out/app

FROM scratch AS release
COPY --from=build /out/app /app
COPY --from=build /etc/passwd /etc/passwd
USER 65534
ENTRYPOINT ["/app"]

FROM debian:bookworm AS unused
RUN exit 1
`,
    },
  },
  {
    name: 'run-mounts',
    files: {
      Dockerfile: `FROM debian:bookworm AS src
RUN echo from-stage > /shared.txt

FROM debian:bookworm
RUN --mount=type=cache,target=/var/cache/x echo cached > /var/cache/x/c && ls /var/cache/x > /cache-list.txt
RUN --mount=type=bind,from=src,source=/shared.txt,target=/mnt/s cat /mnt/s > /from-mount.txt
RUN --mount=type=bind,target=/ctx cat /ctx/in.txt > /bound.txt
RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && ls -d /scratch > /tmpfs.txt
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked true
`,
      'in.txt': 'ctx\n',
    },
  },
  {
    name: 'run-effects',
    files: {
      Dockerfile: `FROM debian:bookworm
RUN rm -rf /usr/share/doc && rm /etc/motd && mkdir -p /opt/x && touch /opt/x/a
RUN rm -rf /opt/x && mkdir /opt/x && touch /opt/x/b
RUN ln -s /opt/x /opt/link && ln /etc/debian_version /opt/hard
RUN chmod 4755 /opt/x/b && chown 70000:70000 /opt/x/b && mkfifo /opt/fifo
RUN useradd -u 100500 big && touch /opt/big && chown big:big /opt/big
`,
    },
  },
  {
    name: 'copy-from-stage-owners',
    files: {
      Dockerfile: `FROM debian:bookworm AS a
RUN useradd -u 4000 owner && mkdir -p /src/dir && echo x > /src/dir/f && chown -R 4000:4000 /src && chmod 700 /src/dir \\
 && ln -s dir/f /src/link && touch /src/big && chown 80000:80000 /src/big

FROM debian:bookworm
COPY --from=a /src /copied
COPY --from=a /src/ /copied2/
COPY --from=a /src/link /single-link
COPY --from=a --chown=1:1 /src /chowned
`,
    },
  },
  {
    name: 'platform-args',
    files: {
      Dockerfile: `FROM --platform=$BUILDPLATFORM debian:bookworm AS build
ARG TARGETOS TARGETARCH BUILDPLATFORM
RUN echo "$TARGETOS/$TARGETARCH from $BUILDPLATFORM" > /p.txt
FROM debian:bookworm
ARG TARGETPLATFORM
COPY --from=build /p.txt /p.txt
RUN echo "$TARGETPLATFORM [$TARGETARCH]" >> /p.txt
`,
    },
    expect: { '/p.txt': 'linux/amd64 from linux/amd64\nlinux/amd64 []\n' },
  },
];

/** Malformed Dockerfiles: each must be refused with an error naming the line. */
export const BAD: { name: string; dockerfile: string; line: number }[] = [
  { name: 'unknown-instruction', dockerfile: 'FROM debian:bookworm\nRUN true\nFORM x\n', line: 3 },
  { name: 'no-from', dockerfile: 'RUN true\n', line: 1 },
  { name: 'copy-one-arg', dockerfile: 'FROM debian:bookworm\nCOPY onlyone\n', line: 2 },
  { name: 'env-no-value', dockerfile: 'FROM debian:bookworm\nENV\n', line: 2 },
  { name: 'env-bad-kv', dockerfile: 'FROM debian:bookworm\nENV a=b c\n', line: 2 },
  { name: 'bad-flag', dockerfile: 'FROM debian:bookworm\nCOPY --bogus=1 a b\n', line: 2 },
  { name: 'bad-healthcheck', dockerfile: 'FROM debian:bookworm\nHEALTHCHECK --interval=abc CMD true\n', line: 2 },
  { name: 'unterminated-heredoc', dockerfile: 'FROM debian:bookworm\nRUN <<EOF\necho\n', line: 2 },
  { name: 'bad-expansion', dockerfile: 'FROM debian:bookworm\nENV x=${a\n', line: 2 },
  { name: 'onbuild-from', dockerfile: 'FROM debian:bookworm\nONBUILD FROM x\n', line: 2 },
  { name: 'copy-missing', dockerfile: 'FROM debian:bookworm\nCOPY nothere /x\n', line: 2 },
  { name: 'run-fails', dockerfile: 'FROM debian:bookworm\nRUN exit 3\n', line: 2 },
  { name: 'bad-expose', dockerfile: 'FROM debian:bookworm\nEXPOSE abc\n', line: 2 },
  { name: 'bad-chmod', dockerfile: 'FROM debian:bookworm\nCOPY --chmod=999 Dockerfile /x\n', line: 2 },
  { name: 'bad-chown-name', dockerfile: 'FROM debian:bookworm\nCOPY --chown=nosuchuser Dockerfile /x\n', line: 2 },
  { name: 'user-unknown-run', dockerfile: 'FROM debian:bookworm\nUSER nosuchuser\nRUN true\n', line: 3 },
  { name: 'stage-loop', dockerfile: 'FROM a AS b\nFROM b AS a\n', line: 1 },
  { name: 'bad-mount', dockerfile: 'FROM debian:bookworm\nRUN --mount=type=nope true\n', line: 2 },
  { name: 'empty', dockerfile: '\n# only a comment\n', line: 1 },
  { name: 'maintainer-empty', dockerfile: 'FROM debian:bookworm\nMAINTAINER\n', line: 2 },
  { name: 'stopsignal-empty', dockerfile: 'FROM debian:bookworm\nSTOPSIGNAL\n', line: 2 },
  { name: 'dup-stage-name', dockerfile: 'FROM debian:bookworm AS x\nFROM debian:bookworm AS x\n', line: 2 },
  { name: 'copy-from-bad-index', dockerfile: 'FROM debian:bookworm\nCOPY --from=5 /a /b\n', line: 2 },
  { name: 'workdir-empty', dockerfile: 'FROM debian:bookworm\nWORKDIR\n', line: 2 },
  { name: 'nul-byte', dockerfile: 'FROM debian:bookworm\nRUN echo \u0000\n', line: 2 },
  { name: 'binary-garbage', dockerfile: '\u00ff\u00fe\u0001FROM\n', line: 1 },
  { name: 'from-bad-ref', dockerfile: 'FROM Debian:Bookworm\n', line: 1 },
  { name: 'arg-in-from-unset', dockerfile: 'FROM ${NOPE}\n', line: 1 },
];

export function writeCase(dir: string, c: ConformanceCase): void {
  for (const [name, content] of Object.entries(c.files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content, { mode: name.endsWith('.sh') ? 0o755 : 0o644 });
  }
  c.setup?.(dir);
}
