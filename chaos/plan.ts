/**
 * The chaos workload, as data: every request the run submits, when, and what it must leave behind.
 * Pure and deterministic (a seeded PRNG), so a failing run can be replayed and the plan unit-tested.
 *
 * The mix covers all ten operations and the three priorities. Some writes carry an idempotency key
 * and are submitted twice; some requests form chains with `depends_on` and `{{token.path}}`
 * templates (create issue → comment → transition; create page → update page). Every create carries
 * a marker unique to its request (the issue's label and summary, the page's title, the comment's
 * text), so the end check can count what exists per request: a marker found twice is a duplicate.
 */
import type { OperationName } from '../model/operations.js';
import type { Priority } from '../model/config/riq-config.js';
import { SeededRandom } from '../local/atlassian-sim/random.js';

/** What a request creates, found in the simulator by its marker. */
export type CreateKind = 'issue' | 'page' | 'comment';

export interface PlannedRequest {
  /** 0-based, in submit order. */
  index: number;
  /** Offset of its submit from the start of the run. */
  atMs: number;
  operation: OperationName;
  priority: Priority;
  /**
   * The payload. A string `{{#<index>.<path>}}` names an earlier request of the same chain; it is
   * sent as `{{<its token>.<path>}}`, with that request in `depends_on`.
   */
  payload: Record<string, unknown>;
  dependsOn: number[];
  idempotencyKey?: string;
  /** Submitted a second time (same body and key) this long after the first answer. */
  resubmitAfterMs?: number;
  fresh?: boolean;
  fireAndForget?: boolean;
  creates?: { kind: CreateKind; marker: string };
}

/** Objects created before the chaos starts; reads, updates and comments target these. */
export interface Seeded {
  issueKeys: readonly string[];
  pageIds: readonly string[];
}

export const PROJECT = 'MD';
export const SPACE = 'MD';

/** Weights of what a slot of the plan becomes. */
const SLOT_WEIGHTS: ReadonlyArray<readonly [Slot, number]> = [
  ['jira.get_task', 9],
  ['jira.search_tasks', 5],
  ['jira.create_task', 11],
  ['jira.update_task', 7],
  ['jira.transition_task', 5],
  ['jira.add_comment', 8],
  ['confluence.get_page', 9],
  ['confluence.search_pages', 5],
  ['confluence.create_page', 11],
  ['confluence.update_page', 5],
  ['jira-chain', 4],
  ['confluence-chain', 3],
];
type Slot = OperationName | 'jira-chain' | 'confluence-chain';

const TRANSITION_TARGETS = ['In Progress', 'Done', 'To Do'] as const;

export function markerOf(run: string, index: number): string {
  return `chaos-${run}-r${index}`;
}

export function buildPlan(options: {
  run: string;
  requests: number;
  submitSeconds: number;
  seed: number;
  seeded: Seeded;
}): PlannedRequest[] {
  const { run, requests, seeded } = options;
  const stream = new SeededRandom(options.seed);
  const random = () => stream.next();
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const priority = (): Priority => {
    const p = random();
    return p < 0.2 ? 'high' : p < 0.7 ? 'normal' : 'low';
  };
  const totalWeight = SLOT_WEIGHTS.reduce((sum, [, w]) => sum + w, 0);
  const slot = (): Slot => {
    let r = random() * totalWeight;
    for (const [name, w] of SLOT_WEIGHTS) {
      r -= w;
      if (r < 0) return name;
    }
    return SLOT_WEIGHTS[0]![0];
  };
  const gapMs = (options.submitSeconds * 1000) / requests;
  const plan: PlannedRequest[] = [];
  const add = (r: Omit<PlannedRequest, 'index' | 'atMs' | 'dependsOn'> & { dependsOn?: number[] }) => {
    const index = plan.length;
    const request: PlannedRequest = { dependsOn: [], ...r, index, atMs: Math.round(index * gapMs) };
    // A sixth of the writes carry a key and are sent twice: both answers must name one request.
    if (isWrite(r.operation) && random() < 1 / 6) {
      request.idempotencyKey = `${run}-key-${index}`;
      request.resubmitAfterMs = Math.round(500 + random() * 4_000);
    }
    plan.push(request);
    return index;
  };

  while (plan.length < requests) {
    const kind = slot();
    const m = markerOf(run, plan.length);
    switch (kind) {
      case 'jira.get_task':
        add({
          operation: kind,
          priority: priority(),
          payload: { task_id: pick(seeded.issueKeys) },
          fresh: random() < 0.5,
        });
        break;
      case 'jira.search_tasks':
        add({
          operation: kind,
          priority: priority(),
          payload: { jql: `project = ${PROJECT} ORDER BY created DESC`, max_results: 10 },
          fresh: random() < 0.5,
        });
        break;
      case 'jira.create_task':
        add({
          operation: kind,
          priority: priority(),
          payload: { project_id: PROJECT, title: m, labels: [m] },
          creates: { kind: 'issue', marker: m },
          fireAndForget: random() < 0.1,
        });
        break;
      case 'jira.update_task':
        add({
          operation: kind,
          priority: priority(),
          payload: { task_id: pick(seeded.issueKeys), description: `updated by ${m}` },
        });
        break;
      case 'jira.transition_task':
        add({
          operation: kind,
          priority: priority(),
          payload: { task_id: pick(seeded.issueKeys), target_status: pick(TRANSITION_TARGETS) },
        });
        break;
      case 'jira.add_comment':
        add({
          operation: kind,
          priority: priority(),
          payload: { task_id: pick(seeded.issueKeys), comment: m },
          creates: { kind: 'comment', marker: m },
        });
        break;
      case 'confluence.get_page':
        add({
          operation: kind,
          priority: priority(),
          payload: { page_id: pick(seeded.pageIds) },
          fresh: random() < 0.5,
        });
        break;
      case 'confluence.search_pages':
        add({
          operation: kind,
          priority: priority(),
          payload: { query: 'chaos', space_id: SPACE, max_results: 10 },
          fresh: random() < 0.5,
        });
        break;
      case 'confluence.create_page':
        add({
          operation: kind,
          priority: priority(),
          payload: { space_id: SPACE, title: m, content: `<p>${m}</p>` },
          creates: { kind: 'page', marker: m },
          fireAndForget: random() < 0.1,
        });
        break;
      case 'confluence.update_page':
        add({
          operation: kind,
          priority: priority(),
          payload: { page_id: pick(seeded.pageIds), content: `<p>updated by ${m}</p>` },
        });
        break;
      case 'jira-chain': {
        const p = priority();
        const head = add({
          operation: 'jira.create_task',
          priority: p,
          payload: { project_id: PROJECT, title: m, labels: [m] },
          creates: { kind: 'issue', marker: m },
        });
        const commentMarker = markerOf(run, plan.length);
        const comment = add({
          operation: 'jira.add_comment',
          priority: p,
          payload: { task_id: `{{#${head}.key}}`, comment: commentMarker },
          dependsOn: [head],
          creates: { kind: 'comment', marker: commentMarker },
        });
        add({
          operation: 'jira.transition_task',
          priority: p,
          payload: { task_id: `{{#${head}.key}}`, target_status: 'In Progress' },
          dependsOn: [comment, head],
        });
        break;
      }
      case 'confluence-chain': {
        const p = priority();
        const head = add({
          operation: 'confluence.create_page',
          priority: p,
          payload: { space_id: SPACE, title: m, content: `<p>${m}</p>` },
          creates: { kind: 'page', marker: m },
        });
        add({
          operation: 'confluence.update_page',
          priority: p,
          payload: { page_id: `{{#${head}.id}}`, content: `<p>${m} updated by its chain</p>` },
          dependsOn: [head],
        });
        break;
      }
    }
  }
  // A chain cut at the end keeps its first steps: a step only depends on earlier ones.
  return plan.slice(0, requests);
}

export function isWrite(operation: OperationName): boolean {
  return !/\.(get|search)_/.test(operation);
}

/** The payload as sent: `{{#<index>.<path>}}` becomes `{{<token>.<path>}}`. */
export function resolveTemplates(
  payload: Record<string, unknown>,
  tokenOf: (index: number) => string,
): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(payload).map(([k, v]) => [
      k,
      typeof v === 'string' ? v.replace(/\{\{#(\d+)\./g, (_, i: string) => `{{${tokenOf(Number(i))}.`) : v,
    ]),
  );
}
