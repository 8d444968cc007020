/**
 * The Powertools logger every function uses: JSON lines, service name from POWERTOOLS_SERVICE_NAME.
 *
 * Each line carries the Lambda context fields that say something a line's log group does not: the
 * invocation's request id, whether it was a cold start, and the X-Ray trace when there is one. The
 * function's ARN, name and memory size (the same on every line of a log group) and the debug
 * sampling rate are left out: CloudWatch Logs bills by the byte, and they were about a fifth of a
 * request's log volume.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { LogFormatter, LogItem } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';

export class LeanLogFormatter extends LogFormatter {
  formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const context = attributes.lambdaContext;
    return new LogItem({
      attributes: {
        level: attributes.logLevel,
        message: attributes.message,
        timestamp: this.formatTimestamp(attributes.timestamp),
        service: attributes.serviceName,
        cold_start: context?.coldStart,
        function_request_id: context?.awsRequestId,
        xray_trace_id: attributes.xRayTraceId,
      },
    }).addAttributes(additional);
  }
}

export const logger = new Logger({ logFormatter: new LeanLogFormatter() });
