/**
 * buildRiqApp: which stage it builds from the context, and with which configuration and
 * environment. The staging stage is synthesized once, with an account, a region and a site URL.
 */
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNTIME_ENV, SERVICES } from '../../model/config/index.js';
import { buildRiqApp, RIQ_STAGES, resolveStageConfig } from '../../lib/riq-app.js';
import {
  cdkJsonContext,
  logicalIdOf,
  resourcesOfType,
  synthStage,
  type SynthesizedStage,
} from './support/synth.js';

describe('buildRiqApp', () => {
  describe('stage selection', () => {
    it('accepts exactly dev, staging and prod', () => {
      expect(RIQ_STAGES).toEqual(['dev', 'staging', 'prod']);
    });

    it('throws for an unknown stage, naming the valid ones', () => {
      expect(() => buildRiqApp({ context: { ...cdkJsonContext(), stage: 'qa' } })).toThrow(
        'Unknown RIQ stage "qa": pass -c stage=<dev|staging|prod>',
      );
    });

    it('throws when no stage is given', () => {
      expect(() => buildRiqApp({ context: {} })).toThrow(/Unknown RIQ stage undefined/);
    });

    it('rejects stage overrides that are not an object', () => {
      expect(() => resolveStageConfig('dev', { dev: 'fast' })).toThrow(/riq:stages\.dev" must be an object/);
    });

    it('rejects an invalid override with the field path', () => {
      expect(() => resolveStageConfig('dev', { dev: { retry: { maxAttempts: 0 } } })).toThrow(
        /retry\.maxAttempts/,
      );
    });
  });

  describe('stage configuration', () => {
    it("applies the stage's overrides from cdk.json over the defaults", () => {
      const stages = cdkJsonContext()['riq:stages'];
      expect(resolveStageConfig('staging', stages).deployment.logRetentionDays).toBe(90);
      const prod = resolveStageConfig('prod', stages, {}, { alarmEmail: 'oncall@example.com' });
      expect(prod.deployment).toEqual({
        retainData: true,
        pointInTimeRecovery: true,
        logRetentionDays: 365,
        sourceMaps: false,
        tracing: 'off',
        logLevel: 'INFO',
      });
      expect(prod.services.jira.concurrency).toEqual({ high: 4, normal: 2, low: 2 });
      expect(prod.services.confluence.concurrency).toEqual({ high: 2, normal: 2, low: 2 });
    });

    it('names every resource after the stage', () => {
      const dev = resolveStageConfig('dev', {});
      expect(dev.stage).toBe('dev');
      expect(dev.namePrefix).toBe('riq-dev');
    });
  });

  describe('staging, with account, region and Atlassian site from the context', () => {
    const siteUrl = 'https://example.atlassian.net';
    let riq: SynthesizedStage;

    beforeAll(() => {
      const stages = cdkJsonContext()['riq:stages'] as Record<string, Record<string, unknown>>;
      riq = synthStage('staging', {
        account: '123456789012',
        region: 'eu-west-1',
        'riq:stages': { ...stages, staging: { ...stages['staging'], atlassian: { siteUrl: `${siteUrl}/` } } },
      });
    });
    afterAll(() => riq?.cleanup());

    it('deploys to the account and region of the context', () => {
      expect(riq.stage.account).toBe('123456789012');
      expect(riq.stage.region).toBe('eu-west-1');
      expect(riq.stage.stateful.account).toBe('123456789012');
      expect(riq.stage.stateless.region).toBe('eu-west-1');
    });

    it('uses the staging log retention', () => {
      for (const group of Object.values(resourcesOfType(riq.stateless, 'AWS::Logs::LogGroup'))) {
        expect(group.Properties['RetentionInDays']).toBe(90);
      }
    });

    it('passes the Jira and Confluence base URLs to the workers', () => {
      const functions = resourcesOfType(riq.stateless, 'AWS::Lambda::Function');
      for (const service of SERVICES) {
        const id = logicalIdOf(riq.stage.stateless.workers.functions[service]);
        const variables = (functions[id]?.Properties['Environment'] as { Variables: Record<string, unknown> })
          .Variables;
        expect(variables[RUNTIME_ENV.jiraBaseUrl]).toBe(siteUrl);
        expect(variables[RUNTIME_ENV.confluenceBaseUrl]).toBe(`${siteUrl}/wiki`);
        // OAuth mode calls the gateway and uses the site only for browser links.
        expect(variables[RUNTIME_ENV.atlassianSiteUrl]).toBe(siteUrl);
      }
    });

    it('gives no warning about the Atlassian site', () => {
      const warnings = riq.stage.stateless.node.metadata
        .filter((entry) => entry.type === 'aws:cdk:warning')
        .map((entry) => String(entry.data));
      expect(warnings.filter((w) => w.includes('atlassian.siteUrl'))).toEqual([]);
    });

    it('passes cdk-nag AwsSolutions with no unacknowledged finding', () => {
      const report = new AwsSolutionsChecks().validateScope(riq.app);
      expect(report.violations.map((v) => `${v.severity} ${v.ruleName}`)).toEqual([]);
    });
  });
});
