/** The depends_on store over the in-memory records: the same cases as over DynamoDB Local. */
import { StoredDependencyStore } from '../../../lambdas/core/domain/dependency-store.js';
import { describeDependencyStore } from '../../support/dependency-store-suite.js';
import { InMemoryDependencyRecords } from '../../support/in-memory-dependencies.js';
import { InMemoryStore } from '../../support/in-memory-store.js';

describeDependencyStore('StoredDependencyStore over InMemoryDependencyRecords', async () => {
  const requests = new InMemoryStore();
  const records = new InMemoryDependencyRecords(requests);
  return {
    requests,
    deps: new StoredDependencyStore(records),
    records,
    expire: async (token) => {
      requests.records.delete(token);
    },
  };
});
