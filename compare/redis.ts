/**
 * A throw-away Redis for the BullMQ system: finds `redis-server` (installing Debian's package with
 * apt-get when it is missing and we may), starts it on a free loopback port without persistence,
 * and stops it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface RunningRedis {
  port: number;
  stop(): Promise<void>;
}

function onPath(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Makes sure `redis-server` exists; installs it with apt-get (as root) when it does not. */
export function ensureRedisServer(log: (line: string) => void): void {
  if (onPath('redis-server')) return;
  const root = process.getuid?.() === 0;
  if (!root || !onPath('apt-get')) {
    throw new Error(
      'redis-server is not installed and cannot be installed here: run `apt-get install -y redis-server` (as root) or put redis-server on PATH',
    );
  }
  log('redis-server is missing: installing Debian package redis-server with apt-get (needs network)…');
  const install = spawnSync('apt-get', ['install', '-y', 'redis-server'], { stdio: 'ignore' });
  if (install.status !== 0 || !onPath('redis-server')) {
    const update = spawnSync('apt-get', ['update'], { stdio: 'ignore' });
    const again =
      update.status === 0
        ? spawnSync('apt-get', ['install', '-y', 'redis-server'], { stdio: 'ignore' })
        : update;
    if (again.status !== 0 || !onPath('redis-server')) {
      throw new Error('apt-get install -y redis-server failed: install Redis yourself and run again');
    }
  }
  log('redis-server installed');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPing(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const { Redis } = await import('ioredis');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return;
    } catch {
      // not up yet
    } finally {
      client.disconnect();
    }
    if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startRedis(log: (line: string) => void): Promise<RunningRedis> {
  ensureRedisServer(log);
  const port = await freePort();
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--loglevel',
      'warning',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr?.on('data', (chunk: Buffer) => log(`redis: ${chunk.toString().trim()}`));
  try {
    await waitForPing(port, child, 10_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
