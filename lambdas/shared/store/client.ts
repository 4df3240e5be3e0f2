import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Where a DynamoDB client connects. */
export interface DynamoDbClientOptions {
  region: string;
  /** DynamoDB Local (tests, local runtime); unset in AWS. */
  endpoint?: string;
  /** Who sends the HTTP requests; the bench answers them from memory. Default: the SDK's, with short timeouts. */
  requestHandler?: DynamoDBClientConfig['requestHandler'];
}

/**
 * A document client with the gateway's defaults: short timeouts (the request path has a latency
 * budget), `undefined` attributes dropped. Against a local endpoint it signs with placeholder
 * credentials, because DynamoDB Local ignores them and a developer may have none.
 *
 * @example
 * const db = createDocumentClient({ region: 'us-east-1', endpoint: 'http://localhost:8000' });
 */
export function createDocumentClient(options: DynamoDbClientOptions): DynamoDBDocumentClient {
  const config: DynamoDBClientConfig = {
    region: options.region,
    endpoint: options.endpoint,
    credentials: options.endpoint ? { accessKeyId: 'local', secretAccessKey: 'local' } : undefined,
    requestHandler: options.requestHandler ?? { connectionTimeout: 1_000, requestTimeout: 5_000 },
    // `standard`: exponential backoff with jitter and a retry quota shared by the client, so a
    // struggling table is not hammered. `adaptive` would also rate-limit this client's own
    // sends, delaying every team's requests because of one hot team.
    retryMode: 'standard',
    maxAttempts: 3,
  };
  const client = new DynamoDBClient(config);
  // The SDK's logger middleware passes every request and response through a sensitive-data
  // filter for a logger we never configure: about 10 µs a call for nothing (`npm run bench`,
  // section "DynamoDB client"). Our own logs say what was stored.
  client.middlewareStack.remove('loggerMiddleware');
  const db = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  // Transactions (every request's usage record and its leases) go through a low-level client that
  // resolves each command's middleware chain once (`cacheMiddleware`, which lib-dynamodb refuses),
  // with items marshalled once by `transactWrite`: about 0.1 ms less CPU a transaction (`npm run
  // bench`, "DynamoDB client"). It shares the document client's connections and its middleware
  // stack, so what is added to `db.middlewareStack` before the first transaction applies to both.
  const transactions = new DynamoDBClient({
    ...config,
    requestHandler: client.config.requestHandler,
    cacheMiddleware: true,
  });
  transactions.middlewareStack = client.middlewareStack;
  TRANSACTION_CLIENTS.set(db, transactions);
  return db;
}

/** The low-level client each document client's transactions are sent through. */
const TRANSACTION_CLIENTS = new WeakMap<DynamoDBDocumentClient, DynamoDBClient>();

/**
 * The low-level client for `db`'s transactions, when `db` came from {@link createDocumentClient};
 * otherwise undefined, and transactions go through `db` itself.
 */
export function transactionClientOf(db: DynamoDBDocumentClient): DynamoDBClient | undefined {
  return TRANSACTION_CLIENTS.get(db);
}
