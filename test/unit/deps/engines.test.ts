/**
 * Every package the lockfile installs runs on the lowest Node our `engines` allow: npm only warns
 * (EBADENGINE) when one does not, and the README promises that version.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

interface Manifest {
  engines?: { node?: string };
}
interface Lockfile {
  packages: Record<string, { optional?: boolean; engines?: { node?: string } }>;
}

const root = process.cwd();
const readJson = <T>(path: string): T => JSON.parse(readFileSync(join(root, path), 'utf8')) as T;

describe('Node engines', () => {
  const ours = readJson<Manifest>('package.json').engines?.node;
  const lowest = semver.minVersion(ours ?? '')?.version;

  it('package.json names a lowest Node version', () => {
    expect(ours).toBeDefined();
    expect(lowest).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('every installed package supports it', () => {
    const installed = Object.keys(readJson<Lockfile>('package-lock.json').packages).filter(
      (path) => path.startsWith('node_modules/') && existsSync(join(root, path, 'package.json')),
    );
    expect(installed.length).toBeGreaterThan(100);
    const unsupported = installed.flatMap((path) => {
      const range = readJson<Manifest>(join(path, 'package.json')).engines?.node;
      if (range === undefined) return [];
      return semver.satisfies(lowest!, range, { includePrerelease: true }) ? [] : [`${path}: node ${range}`];
    });
    expect(unsupported).toEqual([]);
  });

  it('the README states the same lowest version', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const [major, minor] = lowest!.split('.');
    expect(readme).toContain(`Node.js ≥ ${major}.${minor}`);
  });
});
