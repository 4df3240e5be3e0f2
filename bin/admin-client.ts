import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentityProvider, HttpRequest } from '@smithy/types';
import { isLocalUrl } from './local-state';

/** How the CLI reaches the admin API. */
export interface AdminClientOptions {
  /** Base URL of the API (the stack's `ApiUrl`, or the local runtime's `http://localhost:8080`). */
  url: string;
  /** The local runtime's admin token; without it (or `token`) requests are signed with AWS credentials (SigV4). */
  adminToken?: string;
  /** A signed-in user's token (single sign-on), for the stack's ConsoleUrl. */
  token?: string;
  /** Region of the API for SigV4; read from the URL when it is an execute-api URL. */
  region?: string;
  credentials?: AwsCredentialIdentityProvider;
  fetch?: typeof fetch;
}

/** An error answer of the admin API. */
export class AdminApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | null,
  ) {
    super(message);
    this.name = 'AdminApiError';
  }
}

/**
 * The region of an `execute-api` URL, e.g. `eu-west-1` for
 * `https://abc.execute-api.eu-west-1.amazonaws.com`.
 */
export function regionOfApiUrl(url: string): string | undefined {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com/.exec(new URL(url).hostname)?.[1];
}

/**
 * The credential provider, with its failure turned into what the admin must do: the SDK's own
 * message lists every source it tried, which does not say that this is about AWS credentials.
 */
function explainMissing(provider: AwsCredentialIdentityProvider, origin: string): AwsCredentialIdentityProvider {
  return async (options) => {
    try {
      return await provider(options);
    } catch (error) {
      throw new Error(
        `no AWS credentials to sign requests to ${origin}: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), ` +
          `or run \`aws sso login\` (${(error as Error).message})`,
        { cause: error },
      );
    }
  };
}

/**
 * A small client for the admin API. Against AWS it signs every request with SigV4 for
 * `execute-api` (the HTTP API's IAM authorizer checks it), using the standard AWS credential
 * chain; against the local runtime it sends the admin token instead.
 *
 * @example
 * const client = new AdminClient({ url: 'https://abc.execute-api.eu-west-1.amazonaws.com/' });
 * const { data } = await client.request('GET', '/v1/admin/teams');
 */
export class AdminClient {
  private readonly fetch: typeof fetch;
  private signer: SignatureV4 | undefined;

  constructor(private readonly options: AdminClientOptions) {
    this.fetch = options.fetch ?? fetch;
  }

  /** Calls the admin API; resolves to the JSON body, or throws {@link AdminApiError}. */
  async request(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    const { text } = await this.send(method, path, body);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  }

  /** Calls the admin API for a non-JSON body (a CSV report); throws {@link AdminApiError}. */
  async requestText(method: string, path: string): Promise<string> {
    return (await this.send(method, path)).text;
  }

  /**
   * Calls the admin API for a non-JSON body with its response headers (a page of an export, whose
   * next cursor is a header); throws {@link AdminApiError}.
   */
  async requestPage(method: string, path: string): Promise<{ text: string; headers: Headers }> {
    return this.send(method, path);
  }

  private async send(method: string, path: string, body?: unknown): Promise<{ text: string; headers: Headers }> {
    const url = new URL(path, this.options.url.endsWith('/') ? this.options.url : `${this.options.url}/`);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = await this.headers(method, url, payload);
    let response: Response;
    try {
      response = await this.fetch(url, { method, headers, body: payload });
    } catch (error) {
      throw new Error(`cannot reach ${url.origin}: ${(error as Error).message}`, { cause: error });
    }
    const text = await response.text();
    if (!response.ok) {
      let json: Record<string, unknown> = {};
      try {
        json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        // API Gateway's own errors (e.g. a bad signature) may not be JSON
      }
      const error = (json.error ?? {}) as { message?: string; code?: string };
      const message = error.message ?? (json.message as string | undefined) ?? (text || response.statusText);
      throw new AdminApiError(response.status, message, error.code ?? null);
    }
    return { text, headers: response.headers };
  }

  private async headers(method: string, url: URL, payload: string | undefined): Promise<Record<string, string>> {
    const base: Record<string, string> = { 'content-type': 'application/json', host: url.host };
    const bearer = this.options.token ?? this.options.adminToken;
    if (bearer) return { ...base, authorization: `Bearer ${bearer}` };
    if (isLocalUrl(url.toString())) {
      // Only the local runtime listens here, and it takes its admin token, never a signature.
      throw new Error(
        `no admin token for the local gateway at ${url.origin}: pass --admin-token (or set GATEWAY_ADMIN_TOKEN)`,
      );
    }
    const region = this.options.region ?? regionOfApiUrl(url.toString());
    if (!region) {
      throw new Error(
        `cannot tell the AWS region to sign requests to ${url.host} (not an execute-api URL): pass --region (or set AWS_REGION)`,
      );
    }
    this.signer ??= new SignatureV4({
      service: 'execute-api',
      region,
      credentials: explainMissing(
        this.options.credentials ?? (await import('@aws-sdk/credential-provider-node')).defaultProvider(),
        url.origin,
      ),
      sha256: Hash.bind(null, 'sha256'),
    });
    const request: HttpRequest = {
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: base,
      body: payload,
    };
    const signed = await this.signer.sign(request);
    return signed.headers;
  }
}
