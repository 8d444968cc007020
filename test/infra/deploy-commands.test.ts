/**
 * The `cdk deploy`, `cdk diff` and `cdk destroy` commands the docs give select the stage's stacks.
 * RIQ's stacks live inside a CDK Stage (`Riq-<stage>/Stateful`, `Riq-<stage>/Stateless`); the CLI's
 * `--all` selects only top-level stacks, so on this app it finds none ("No stack found in the main
 * cloud assembly"). A documented command must name the stacks by the stage's path instead.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthStage, type SynthesizedStage } from './support/synth.js';

const ROOT = join(import.meta.dirname, '..', '..');
const DOCS = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

interface DocumentedCommand {
  file: string;
  text: string;
}

function documentedCommands(): DocumentedCommand[] {
  const found: DocumentedCommand[] = [];
  for (const file of DOCS) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const match of text.matchAll(/npx cdk (?:deploy|destroy|diff)\b[^`\n#]*/g)) {
      found.push({ file, text: match[0].trim() });
    }
  }
  return found;
}

/** The stack selectors of a command: its `Riq-…` arguments, quotes removed. */
function selectors(command: string): string[] {
  return [...command.matchAll(/'?(Riq-[^'\s]+)'?/g)].map((m) => m[1]!);
}

/** A CLI stack pattern as a regular expression (`*` stays within one path segment). */
function patternToRegExp(pattern: string): RegExp {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]*');
  return new RegExp(`^${source}$`);
}

describe('documented deploy commands', () => {
  let dev: SynthesizedStage;
  beforeAll(() => {
    dev = synthStage('dev');
  }, 300_000);
  afterAll(() => dev?.cleanup());

  const commands = documentedCommands();

  it('are found in the docs (deploy, diff and destroy)', () => {
    const verbs = new Set(commands.map((c) => /npx cdk (\w+)/.exec(c.text)![1]));
    expect([...verbs].sort()).toEqual(['deploy', 'destroy', 'diff']);
  });

  it.each(commands.map((c) => [`${c.file}: ${c.text}`, c] as const))(
    'names the stage stacks, never --all: %s',
    (_label, command) => {
      expect(command.text).not.toMatch(/--all\b/);
      const names = selectors(command.text);
      expect(names.length, 'a Riq-<stage>/… stack selector').toBeGreaterThan(0);
      const stage = /-c stage=(\S+)/.exec(command.text)?.[1];
      const stackPaths = [dev.stage.stateful.node.path, dev.stage.stateless.node.path];
      for (const name of names) {
        // The selector's stage is the command's own, and the pattern selects stacks of that stage.
        const selectorStage = /^Riq-([^/]+)\//.exec(name)?.[1];
        expect(selectorStage).toBe(stage);
        const asDev = name.replace(/^Riq-[^/]+\//, 'Riq-dev/');
        const matched = stackPaths.filter((p) => patternToRegExp(asDev).test(p));
        expect(matched.length, `${name} selects a stack of ${stackPaths.join(', ')}`).toBeGreaterThan(0);
      }
    },
  );
});
