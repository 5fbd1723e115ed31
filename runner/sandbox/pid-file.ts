// runc's `--pid-file`: written (to a temporary name, then renamed into place) once `runc run` has
// started the container's process. Its appearance is how a start learns the process runs without a
// hook pausing runc; the directory is watched, with a slow poll behind the watch in case an event is
// missed.
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

const POLL_MS = 50;

export function parsePidFile(text: string): number {
  const pid = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(pid) || pid <= 1) throw new Error(`Cannot read pid file: "${text.slice(0, 40)}" is not a process id`);
  return pid;
}

async function tryReadPid(path: string): Promise<number | undefined> {
  try {
    return parsePidFile(await readFile(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The pid once `path` holds one; undefined if `giveUp` settles first (and the file is still absent). */
export function waitForPidFile(path: string, giveUp: Promise<unknown>): Promise<number | undefined> {
  return new Promise((resolve) => {
    let done = false;
    let watcher: FSWatcher | undefined;
    let checking = false;
    const finish = (pid: number | undefined) => {
      if (done) return;
      done = true;
      watcher?.close();
      clearInterval(timer);
      resolve(pid);
    };
    const check = () => {
      if (done || checking) return;
      checking = true;
      void tryReadPid(path).then((pid) => {
        checking = false;
        if (pid !== undefined) finish(pid);
      });
    };
    const name = basename(path);
    try {
      watcher = watch(dirname(path), (_event, file) => {
        if (file === null || file === name) check();
      });
      watcher.on('error', () => {});
    } catch {
      // no watch (e.g. out of inotify instances): the poll below still finds it
    }
    const timer = setInterval(check, POLL_MS);
    check();
    void giveUp.then(
      () => tryReadPid(path).then(finish),
      () => tryReadPid(path).then(finish),
    );
  });
}
