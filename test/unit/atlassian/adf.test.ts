import { describe, expect, it } from 'vitest';
import { adfToText, isAdfDoc, textToAdf } from '../../../lambdas/adapters/atlassian/adf.js';

describe('textToAdf', () => {
  it('makes one paragraph of one line', () => {
    expect(textToAdf('Hello')).toEqual({
      type: 'doc',
      version: 1,
      content: [{ type: 'paragraph', content: [{ type: 'text', text: 'Hello' }] }],
    });
  });

  it('makes a paragraph per blank-line-separated block', () => {
    const doc = textToAdf('First\n\nSecond\n\n\n\nThird');
    expect(doc.content.map((p) => p.content?.[0]?.text)).toEqual(['First', 'Second', 'Third']);
  });

  it('keeps single line breaks as hardBreak', () => {
    expect(textToAdf('a\nb').content[0]).toEqual({
      type: 'paragraph',
      content: [{ type: 'text', text: 'a' }, { type: 'hardBreak' }, { type: 'text', text: 'b' }],
    });
  });

  it('treats CRLF and whitespace-only lines like newlines and blank lines', () => {
    expect(textToAdf('a\r\n  \r\nb')).toEqual(textToAdf('a\n\nb'));
  });

  it('gives an empty document for blank text', () => {
    expect(textToAdf('')).toEqual({ type: 'doc', version: 1, content: [] });
    expect(textToAdf(' \n\n ')).toEqual({ type: 'doc', version: 1, content: [] });
  });

  it('never emits empty text nodes', () => {
    const texts = JSON.stringify(textToAdf('\n\na\n\n\nb\n'));
    expect(texts).not.toContain('"text":""');
  });

  it('produces documents isAdfDoc accepts', () => {
    expect(isAdfDoc(textToAdf('x'))).toBe(true);
    expect(isAdfDoc('x')).toBe(false);
    expect(isAdfDoc({ type: 'doc', content: [] })).toBe(false);
  });
});

describe('adfToText', () => {
  it('round-trips plain text', () => {
    for (const text of ['Hello', 'a\nb', 'First para\nstill first\n\nSecond para', '  indented']) {
      expect(adfToText(textToAdf(text))).toBe(text);
    }
  });

  it('reads rich documents as plain text', () => {
    const doc = {
      type: 'doc',
      version: 1,
      content: [
        { type: 'heading', attrs: { level: 2 }, content: [{ type: 'text', text: 'Title' }] },
        {
          type: 'paragraph',
          content: [
            { type: 'text', text: 'Bold', marks: [{ type: 'strong' }] },
            { type: 'text', text: ' and ' },
            { type: 'mention', attrs: { id: 'abc', text: '@Ana' } },
            { type: 'text', text: ' ' },
            { type: 'emoji', attrs: { shortName: ':smile:' } },
          ],
        },
        {
          type: 'bulletList',
          content: [
            { type: 'listItem', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'one' }] }] },
            { type: 'listItem', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'two' }] }] },
          ],
        },
        {
          type: 'orderedList',
          attrs: { order: 3 },
          content: [
            { type: 'listItem', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'c' }] }] },
          ],
        },
        { type: 'codeBlock', attrs: { language: 'ts' }, content: [{ type: 'text', text: 'const x = 1;' }] },
        { type: 'rule' },
        { type: 'paragraph', content: [{ type: 'inlineCard', attrs: { url: 'https://example.com' } }] },
      ],
    };
    expect(adfToText(doc)).toBe(
      'Title\n\nBold and @Ana :smile:\n\n- one\n- two\n\n3. c\n\nconst x = 1;\n\n---\n\nhttps://example.com',
    );
  });

  it('reads tables row by row', () => {
    const cell = (text: string) => ({
      type: 'tableCell',
      content: [{ type: 'paragraph', content: [{ type: 'text', text }] }],
    });
    const doc = {
      type: 'doc',
      version: 1,
      content: [{ type: 'table', content: [{ type: 'tableRow', content: [cell('a'), cell('b')] }] }],
    };
    expect(adfToText(doc)).toBe('a | b');
  });

  it('answers empty text for nothing readable', () => {
    expect(adfToText(null)).toBe('');
    expect(adfToText({ type: 'doc', version: 1, content: [] })).toBe('');
    expect(adfToText('not a node')).toBe('');
  });
});
