/**
 * Plain text ↔ Atlassian Document Format (ADF), the rich-text JSON Jira REST v3 requires for
 * descriptions and comments. Text → ADF: one paragraph per blank-line-separated block, single line
 * breaks as `hardBreak`. ADF → text: readable plain text from any document (marks are dropped).
 */

export interface AdfNode {
  type: string;
  text?: string;
  content?: AdfNode[];
  attrs?: Record<string, unknown>;
  marks?: { type: string; attrs?: Record<string, unknown> }[];
}

export interface AdfDoc {
  type: 'doc';
  version: 1;
  content: AdfNode[];
}

/** Converts plain text to an ADF document; empty or blank text gives a document with no content. */
export function textToAdf(text: string): AdfDoc {
  const normalized = text.replace(/\r\n?/g, '\n');
  const blocks = normalized
    .split(/\n\s*\n/)
    .map((block) => block.replace(/^\n+|\n+$/g, ''))
    .filter((block) => block.trim() !== '');
  return { type: 'doc', version: 1, content: blocks.map(paragraph) };
}

function paragraph(block: string): AdfNode {
  const content: AdfNode[] = [];
  block.split('\n').forEach((line, i) => {
    if (i > 0) content.push({ type: 'hardBreak' });
    // ADF rejects empty text nodes.
    if (line !== '') content.push({ type: 'text', text: line });
  });
  return { type: 'paragraph', content };
}

/** True for an object shaped like an ADF document (`{type: 'doc', version: 1, content: [...]}`). */
export function isAdfDoc(value: unknown): value is AdfDoc {
  return (
    isRecord(value) && value['type'] === 'doc' && value['version'] === 1 && Array.isArray(value['content'])
  );
}

const INLINE_TYPES = new Set([
  'text',
  'hardBreak',
  'mention',
  'emoji',
  'inlineCard',
  'date',
  'status',
  'placeholder',
  'mediaInline',
  'inlineExtension',
]);

/** Plain text of an ADF document or node: blocks separated by a blank line, lists as `- item`. */
export function adfToText(node: unknown): string {
  return nodeText(node)
    .replace(/\n{3,}/g, '\n\n')
    .replace(/^\n+|\n+$/g, '');
}

function nodeText(node: unknown): string {
  if (!isRecord(node)) return '';
  const attrs = isRecord(node['attrs']) ? node['attrs'] : {};
  const children = Array.isArray(node['content']) ? (node['content'] as unknown[]) : [];
  switch (node['type']) {
    case 'text':
      return typeof node['text'] === 'string' ? node['text'] : '';
    case 'hardBreak':
      return '\n';
    case 'mention':
    case 'status':
    case 'placeholder':
      return stringAttr(attrs, 'text');
    case 'emoji':
      return stringAttr(attrs, 'text') || stringAttr(attrs, 'shortName');
    case 'inlineCard':
    case 'blockCard':
    case 'embedCard':
      return stringAttr(attrs, 'url');
    case 'date': {
      const ts = Number(attrs['timestamp']);
      return Number.isFinite(ts) ? new Date(ts).toISOString().slice(0, 10) : '';
    }
    case 'rule':
      return '---';
    case 'bulletList':
      return children.map((item) => `- ${indentItem(nodeText(item))}`).join('\n');
    case 'orderedList': {
      const start = typeof attrs['order'] === 'number' ? attrs['order'] : 1;
      return children.map((item, i) => `${start + i}. ${indentItem(nodeText(item))}`).join('\n');
    }
    case 'listItem':
      return children.map(nodeText).join('\n');
    case 'tableRow':
      return children.map((cell) => nodeText(cell).replace(/\n+/g, ' ')).join(' | ');
    case 'table':
      return children.map(nodeText).join('\n');
  }
  const inline = children.every((c) => isRecord(c) && INLINE_TYPES.has(String(c['type'])));
  return children.map(nodeText).join(inline ? '' : '\n\n');
}

function indentItem(text: string): string {
  return text.replace(/\n/g, '\n  ');
}

function stringAttr(attrs: Record<string, unknown>, key: string): string {
  const v = attrs[key];
  return typeof v === 'string' ? v : '';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
