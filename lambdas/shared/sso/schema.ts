import * as z from 'zod';
import { teamIdSchema } from '../teams/schema';

/**
 * Single sign-on: which identity provider's tokens the gateway accepts and how their claims map
 * to roles. Pure schema, shared by the CDK app (the console door's JWT authorizer) and the Lambdas.
 */

/** The roles a signed-in user can hold: one for the whole gateway, three within a team. */
export const SSO_ROLES = ['platform_admin', 'team_admin', 'member', 'viewer'] as const;

/** One of {@link SSO_ROLES}. */
export type SsoRole = (typeof SSO_ROLES)[number];

/** A role held within one team. */
export type TeamRole = Exclude<SsoRole, 'platform_admin'>;

/**
 * Signing algorithms a token may use. Asymmetric only: a shared-secret (HS*) token could be forged
 * by anyone holding the client secret, and `none` is never accepted.
 */
export const SSO_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'EdDSA',
] as const;

/** Hosts that may serve an issuer over plain HTTP: a local identity provider stand-in, never a network one. */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** An HTTPS URL, or HTTP on a loopback host. */
const secureUrl = z.url().refine((value) => {
  const url = new URL(value);
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname));
}, 'expected an https:// URL (http:// only on localhost)');

/**
 * One grant: the members of an identity-provider group hold a role, in a team unless the role is
 * `platform_admin`. A user in several groups holds every role granted to them.
 */
const grantSchema = z
  .strictObject({
    /** A value of the groups claim (a Cognito group, an Okta or Entra group name or id). */
    group: z.string().min(1).max(256),
    role: z.enum(SSO_ROLES),
    team: teamIdSchema.optional(),
  })
  .superRefine((grant, context) => {
    if (grant.role === 'platform_admin' && grant.team !== undefined) {
      context.addIssue({ code: 'custom', path: ['team'], message: 'platform_admin is not held within a team' });
    }
    if (grant.role !== 'platform_admin' && grant.team === undefined) {
      context.addIssue({ code: 'custom', path: ['team'], message: `${grant.role} is held within a team: name it` });
    }
  });

/** The config's `sso` section; absent, only team keys and IAM admins are accepted. */
export const ssoConfigSchema = z.strictObject({
  /** The token's `iss`, exactly (Cognito: `https://cognito-idp.<region>.amazonaws.com/<pool id>`). */
  issuer: secureUrl,
  /** Accepted `aud` values (the app client ids); a token must name one of them. */
  audience: z.array(z.string().min(1).max(256)).min(1).max(20),
  /**
   * Where the issuer publishes its signing keys. Absent, the issuer's OpenID discovery document
   * (`<issuer>/.well-known/openid-configuration`) names it, read once per Lambda instance.
   */
  jwksUri: secureUrl.optional(),
  /** The claim that names the user in usage, audit and the admin change log (e.g. `email`). */
  userClaim: z.string().min(1).max(128).default('sub'),
  /** The claim listing the user's groups (Cognito: `cognito:groups`; an array or a space-separated string). */
  groupsClaim: z.string().min(1).max(128).default('groups'),
  grants: z.array(grantSchema).min(1).max(1_000),
  algorithms: z.array(z.enum(SSO_ALGORITHMS)).min(1).default(['RS256', 'ES256']),
  /** Clock skew allowed on `exp` and `nbf`. */
  clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
});

/** The validated `sso` section. */
export type SsoConfig = z.output<typeof ssoConfigSchema>;
/** The `sso` section as written. */
export type SsoConfigInput = z.input<typeof ssoConfigSchema>;
