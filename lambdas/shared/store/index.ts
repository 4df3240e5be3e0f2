export { createDocumentClient, type DynamoDbClientOptions } from './client';
export { putIfAbsent } from './put-if-absent';
export { queryAll } from './query-all';
export { isStoreUnavailable, storeUnavailable } from './unavailable';
export { BY_PARENT_INDEX, itemKeys, TABLES, type TableDefinition, type TableId, type TableNames } from './schema';
export {
  TransactionCancelledError,
  transactWrite,
  withConflictRetry,
  type ConflictRetryOptions,
  type TransactItem,
} from './transactions';
