import type { Strategy } from './types';

/** The entry, then its fallbacks, in config order: the first candidate goes first. */
export const fallback: Strategy<'fallback'> = () => 0;
