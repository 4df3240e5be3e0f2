export {
  formatMicros,
  formatPicos,
  MICROS_PER_USD,
  microsToPicos,
  PICOS_PER_MICRO,
  PICOS_PER_USD,
  picosOf,
  picosToMicrosApprox,
  TOKENS_PER_PRICE_UNIT,
  usdToMicros,
} from './money';
export { lineItemPicos, priceUsage, type CostBreakdown } from './pricing';
