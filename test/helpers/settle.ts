import { totalTokens, type TokenUsage } from '../../lambdas/shared/chat/types';
import type { ModelPrices } from '../../lambdas/shared/catalog/schema';
import { priceUsage } from '../../lambdas/shared/cost/pricing';
import type { Admission, QuotaService } from '../../lambdas/shared/quota/quota-service';
import type { UsageRecord } from '../../lambdas/shared/usage/record';
import { UsageRecorder } from '../../lambdas/shared/usage/recorder';
import type { TestStore } from './dynamodb';

/**
 * Prices an admitted request's usage, records it with its quota settlement and tells the quota
 * service it settled, as the exchange does (`exchange/recording.ts`); returns its cost.
 *
 * @example
 * const cost = await settleAdmission(store, quota, admission, usage, prices);
 */
export async function settleAdmission(
  store: Pick<TestStore, 'db' | 'tables'>,
  quota: QuotaService,
  admission: Admission,
  usage: TokenUsage,
  prices: ModelPrices,
  requestId = `r-${Math.random()}`,
): Promise<bigint> {
  const cost = priceUsage(usage, prices);
  const record: UsageRecord = {
    requestId,
    teamId: admission.request.teamId,
    keyId: admission.request.keyId,
    model: 'm',
    requestedModel: 'm',
    provider: 'mock',
    upstreamModel: 'm',
    attempts: 1,
    status: 'ok',
    httpStatus: 200,
    streamed: false,
    usage,
    cost,
    latencyMs: 1,
    createdAt: new Date(admission.request.receivedAt).toISOString(),
  };
  const result = await new UsageRecorder(store.db, store.tables.usage).record(record, {
    ...quota.settlement(admission, cost.totalPicos),
    ifSwept: () => quota.lateSettlement(admission, cost.totalPicos),
  });
  const landed = result === 'recorded' || result === 'already_recorded';
  await quota.settled(admission, totalTokens(usage), cost.totalPicos, landed);
  return cost.totalPicos;
}
