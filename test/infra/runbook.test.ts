/**
 * docs/runbook.md's alarm table names every alarm a stage creates, so an operator paged by one finds
 * what it means and what to do.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRIORITIES, SERVICES } from '../../model/config/index.js';
import { resourcesOfType, synthStage, type SynthesizedStage } from './support/synth.js';

/** The alarm names of the runbook's table: the first cell of each row, in backticks. */
function runbookAlarmNames(): Set<string> {
  const runbook = readFileSync(new URL('../../docs/runbook.md', import.meta.url), 'utf8');
  const rows = runbook.split('\n').filter((line) => line.startsWith('| `riq-<stage>-'));
  return new Set(
    rows.flatMap((row) => [...(row.split('|')[1] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]!)),
  );
}

/** The ways the runbook may write an alarm's name: as is, or with `<service>` and `<priority>`. */
function spellings(name: string, prefix: string): string[] {
  const generic = name.replace(prefix, 'riq-<stage>');
  const service = SERVICES.reduce((n, s) => n.replace(`-${s}`, '-<service>'), generic);
  const priority = PRIORITIES.reduce((n, p) => n.replace(new RegExp(`-${p}$`), '-<priority>'), service);
  return [generic, service, priority];
}

describe('the runbook', () => {
  let riq: SynthesizedStage;

  beforeAll(() => {
    riq = synthStage('dev');
  });
  afterAll(() => riq?.cleanup());

  it('names every alarm of the stage in its alarm table', () => {
    const documented = runbookAlarmNames();
    const alarms = Object.values(resourcesOfType(riq.stateless, 'AWS::CloudWatch::Alarm')).map(
      (a) => a.Properties['AlarmName'] as string,
    );
    expect(alarms.length).toBeGreaterThan(0);
    const undocumented = alarms.filter(
      (name) => !spellings(name, riq.config.namePrefix).some((s) => documented.has(s)),
    );
    expect(undocumented).toEqual([]);
  });
});
