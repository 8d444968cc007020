/** The Powertools logger every function uses: JSON lines, service name from POWERTOOLS_SERVICE_NAME. */
import { Logger } from '@aws-lambda-powertools/logger';

export const logger = new Logger();
