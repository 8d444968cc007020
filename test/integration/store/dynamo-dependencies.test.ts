import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import {
  DynamoDependencyRecords,
  DynamoDependencyStore,
} from '../../../lambdas/adapters/dynamodb/dynamo-dependencies.js';
import { DynamoRequestStore } from '../../../lambdas/adapters/dynamodb/dynamo-request-store.js';
import { requestKey } from '../../../lambdas/adapters/dynamodb/request-items.js';
import { createRequestsTable } from '../../../local/resources.js';
import { isolatedConfig, localDynamo } from '../../support/aws-local.js';
import { describeDependencyStore } from '../../support/dependency-store-suite.js';

const { client, doc } = localDynamo(inject('dynamoEndpoint'));
const TTL = 7 * 86400;

describeDependencyStore('DynamoDependencyStore on DynamoDB Local', async () => {
  const tableName = await createRequestsTable(client, isolatedConfig());
  return {
    requests: new DynamoRequestStore(doc, tableName, TTL),
    deps: new DynamoDependencyStore(doc, tableName, TTL),
    records: new DynamoDependencyRecords(doc, tableName, TTL),
    expire: async (token) => {
      await doc.send(new DeleteCommand({ TableName: tableName, Key: requestKey(token) }));
    },
  };
});
