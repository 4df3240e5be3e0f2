export { Access, accessOfGroups, PERMISSIONS, TEAM_ROLE_PERMISSIONS, type Permission, type TeamGrant } from './access';
export {
  SSO_ALGORITHMS,
  SSO_ROLES,
  ssoConfigSchema,
  type SsoConfig,
  type SsoConfigInput,
  type SsoRole,
  type TeamRole,
} from './schema';
export { looksLikeJwt, SsoVerifier, ssoVerifierOf, userKeyId, type SsoUser } from './verifier';
