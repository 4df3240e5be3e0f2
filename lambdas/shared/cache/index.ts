export { TtlCache } from './ttl-cache';
