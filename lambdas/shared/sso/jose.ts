/**
 * The parts of jose the verifier uses, loaded on the first token (`require('./jose')`): named, so
 * esbuild keeps only these in the bundle; required at first use, so a gateway without single
 * sign-on never evaluates them.
 */
export { createRemoteJWKSet, errors, jwtVerify } from 'jose';
