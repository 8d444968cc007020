import { Duration, Validations } from 'aws-cdk-lib';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import {
  functionTimeoutSeconds,
  PRIORITIES,
  queueKey,
  reservedConcurrency,
  RUNTIME_ENV,
  SERVICES,
  type RiqConfig,
  type Service,
} from '../../model/config/index.js';
import { allowAtlassianCalls } from './atlassian-caller.js';
import { RiqFunction } from './riq-function.js';
import type { StatefulResources } from './stateful-resources.js';
import { pick } from './work-queues.js';

export interface WorkersProps extends StatefulResources {
  readonly config: RiqConfig;
}

/**
 * One worker Lambda per service (stateless). Its reserved concurrency is the service's bulkhead:
 * the sum of the `maximumConcurrency` of the event source mappings on its three priority queues,
 * which report partial batch failures so one bad message does not retry the whole batch.
 */
export class Workers extends Construct {
  public readonly functions: Record<Service, RiqFunction>;

  constructor(scope: Construct, id: string, props: WorkersProps) {
    super(scope, id);
    const { config } = props;
    const functions: Partial<Record<Service, RiqFunction>> = {};

    for (const service of SERVICES) {
      const worker = new RiqFunction(this, `${capitalize(service)}Worker`, {
        config,
        entry: 'worker',
        description: `RIQ ${service} worker: runs queued operations against ${capitalize(service)} Cloud`,
        timeout: Duration.seconds(functionTimeoutSeconds(config).worker),
        memorySize: config.worker.memoryMb,
        reservedConcurrentExecutions: reservedConcurrency(config, service),
      });
      allowAtlassianCalls(worker, props);
      // Loads large payloads, stores large results.
      worker.useBodies(props.bodies, config, { read: true, write: true });
      // The event source mapping grants receive and delete itself; these are the worker's own
      // calls: retry backoff (ChangeMessageVisibility) and re-enqueueing (SendMessage).
      worker.useQueues(RUNTIME_ENV.queueUrls, pick(props.queues, service), [
        'sqs:ChangeMessageVisibility',
        'sqs:SendMessage',
      ]);
      worker.useQueues(RUNTIME_ENV.deadLetterQueueUrls, pick(props.deadLetterQueues, service), [
        'sqs:SendMessage',
      ]);

      for (const priority of PRIORITIES) {
        worker.addEventSource(
          new SqsEventSource(props.queues[queueKey(service, priority)], {
            batchSize: config.worker.batchSize,
            reportBatchItemFailures: true,
            maxConcurrency: config.services[service].concurrency[priority],
          }),
        );
      }
      Validations.of(worker).acknowledge({
        id: 'Serverless-LambdaEventSourceMappingDestination',
        reason:
          'An SQS event source mapping takes no on-failure destination: a message that keeps failing goes ' +
          "to its queue's dead-letter queue (redrive policy, retry.maxAttempts receives), which the DLQ " +
          'alarms watch.',
      });
      functions[service] = worker;
    }

    this.functions = functions as Record<Service, RiqFunction>;
  }
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
