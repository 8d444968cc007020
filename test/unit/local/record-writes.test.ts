import { describe, expect, it } from 'vitest';
import { writtenPartitions } from '../../../local/record-writes.js';

const A = 'REQ#req_a';
const B = 'REQ#req_b';

describe('writtenPartitions', () => {
  it.each([
    ['PutCommand', { Item: { pk: A, status: 'queued' } }],
    ['PutItemCommand', { Item: { pk: { S: A }, status: { S: 'queued' } } }],
    ['UpdateCommand', { Key: { pk: A } }],
    ['UpdateItemCommand', { Key: { pk: { S: A } } }],
    ['DeleteCommand', { Key: { pk: A } }],
    ['DeleteItemCommand', { Key: { pk: { S: A } } }],
  ])('names the record a %s writes, plain or marshalled', (command, input) => {
    expect(writtenPartitions(command, input)).toEqual([A]);
  });

  it('names every record of a transaction it writes, not the ones it only checks', () => {
    const input = {
      TransactItems: [
        { Put: { Item: { pk: { S: A } } } },
        { Update: { Key: { pk: B } } },
        { ConditionCheck: { Key: { pk: 'REQ#req_checked' } } },
        { Delete: { Key: { pk: 'LOCK#x' } } },
      ],
    };
    expect(writtenPartitions('TransactWriteItemsCommand', input)).toEqual([A, B, 'LOCK#x']);
  });

  it('names the records of a batch write', () => {
    const input = {
      RequestItems: {
        t: [{ PutRequest: { Item: { pk: A } } }, { DeleteRequest: { Key: { pk: { S: B } } } }],
      },
    };
    expect(writtenPartitions('BatchWriteCommand', input)).toEqual([A, B]);
  });

  it('names nothing for a read', () => {
    expect(writtenPartitions('GetItemCommand', { Key: { pk: { S: A } } })).toEqual([]);
    expect(writtenPartitions('QueryCommand', {})).toEqual([]);
  });
});
