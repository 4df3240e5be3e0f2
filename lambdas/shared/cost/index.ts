export { divideRoundHalfUp, formatMicros, MICROS_PER_USD, TOKENS_PER_PRICE_UNIT, usdToMicros } from './money';
export { lineItemMicros, priceUsage, type CostBreakdown } from './pricing';
