/**
 * What the browser tests drive: Debian's Chromium through playwright-core (no browser download), and
 * `riq console` run as the operator runs it, as a child process of the CLI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] || '/usr/bin/chromium';

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH });
}

/** A new page that fails the test on any script error or failed load it reports. */
export async function watchedPage(browser: Browser): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  return { page, problems };
}

export interface RunningRiqConsole {
  url: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** `riq console --port 0 --endpoint <endpoint> …`; answers once it has printed its address. */
export async function startRiqConsole(
  endpoint: string,
  extraArgs: string[] = [],
): Promise<RunningRiqConsole> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'client/cli/main.ts', 'console', '--port', '0', '--endpoint', endpoint, ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RIQ_ENDPOINT: '' } },
  );
  let text = '';
  child.stdout?.on('data', (c: Buffer) => (text += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (text += c.toString()));
  const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`riq console did not start in 30 s:\n${text}`)), 30_000);
    const look = () => {
      const m = /RIQ console: (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        ok(m[1]!);
      }
    };
    child.stdout?.on('data', look);
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`riq console exited with ${code}:\n${text}`));
    });
  });
  return {
    url,
    child,
    output: () => text,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGINT');
      await exited;
    },
  };
}
