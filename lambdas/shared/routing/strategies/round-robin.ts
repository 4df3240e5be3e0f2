import type { Strategy } from './types';

/** Each candidate first in turn, counted per entry and Lambda instance. */
export const roundRobin: Strategy<'round-robin'> = (_config, { candidates, turn }) => turn % candidates.length;
