import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination as RestLogGroupLogDestination,
  MethodLoggingLevel,
  ResponseTransferMode,
  ResponseType,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnStage as CfnHttpStage,
  HttpApi,
  HttpMethod,
  type HttpRoute,
  HttpStage,
  LogGroupLogDestination,
  type ThrottleSettings,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import type { Construct } from 'constructs';
import { KEEP_STATUS, STREAM_DOOR_RESPONSES } from '../lambdas/shared/http/door-responses';
import type { GatewayError } from '../lambdas/shared/http/errors';
import { ROUTES, routeKey, type FunctionName, type RouteDefinition } from '../lambdas/shared/http/routes';
import type { SsoConfig } from '../lambdas/shared/sso/schema';

/**
 * The gateway's two public doors, both throttled: the HTTP API (every route, buffered answers,
 * admin routes behind IAM and a tighter throttle) and the streaming door (a REST API with Lambda
 * response streaming for the gateway function's routes, stage throttling, optional WAF).
 */

/** Default throttling of the HTTP API's routes: well above a team's normal traffic, far below the account's 10,000/s. */
export const DEFAULT_API_THROTTLE = { rateLimit: 100, burstLimit: 200 } as const satisfies ThrottleSettings;

/** Default throttling of each admin route. */
export const DEFAULT_ADMIN_THROTTLE = { rateLimit: 5, burstLimit: 10 } as const satisfies ThrottleSettings;

/** Default throttling of the streaming door: new streams per second (each may then run minutes). */
export const DEFAULT_STREAM_THROTTLE = { rateLimit: 50, burstLimit: 100 } as const satisfies ThrottleSettings;

/** Default reserved concurrency of the streaming function (see `streamReservedConcurrency`). */
export const DEFAULT_STREAM_RESERVED_CONCURRENCY = 100;

/** Name of the streaming door's REST API stage; the `StreamUrl` ends in it. */
export const STREAM_STAGE_NAME = 'stream';

/** Throttle settings with the defaults filled in, refused at synth when not positive numbers. */
function throttleOf(name: string, given: ThrottleSettings | undefined, defaults: Required<ThrottleSettings>) {
  const throttle = {
    rateLimit: given?.rateLimit ?? defaults.rateLimit,
    burstLimit: given?.burstLimit ?? defaults.burstLimit,
  };
  for (const [field, value] of Object.entries(throttle)) {
    if (!Number.isFinite(value) || value <= 0) {
      throw new Error(`LlmGateway: ${name}.${field} must be a positive number (got ${String(value)}).`);
    }
  }
  return throttle;
}

/** What the doors are built from: the construct's throttle and WAF props, log retention. */
export interface DoorProps {
  logRetention: RetentionDays;
  removalPolicy: RemovalPolicy;
  apiThrottle?: ThrottleSettings;
  adminThrottle?: ThrottleSettings;
  streamThrottle?: ThrottleSettings;
  webAclArn?: string;
}

/**
 * An HTTP API's `$default` stage: auto-deployed, throttled, with JSON access logs in a log group of
 * its own (request id, IP, time, route, status, latency, and the door's own `logFields`).
 */
function httpApiStage(
  scope: Construct,
  api: HttpApi,
  id: string,
  logGroupId: string,
  options: { props: DoorProps; throttle: Required<ThrottleSettings>; logFields: Record<string, string> },
): HttpStage {
  const { logRetention, removalPolicy } = options.props;
  const accessLogs = new LogGroup(scope, logGroupId, { retention: logRetention, removalPolicy });
  return new HttpStage(scope, id, {
    httpApi: api,
    stageName: '$default',
    autoDeploy: true,
    throttle: options.throttle,
    accessLogSettings: {
      destination: new LogGroupLogDestination(accessLogs),
      format: AccessLogFormat.custom(
        JSON.stringify({
          requestId: '$context.requestId',
          ip: '$context.identity.sourceIp',
          requestTime: '$context.requestTime',
          routeKey: '$context.routeKey',
          status: '$context.status',
          responseLatency: '$context.responseLatency',
          ...options.logFields,
        }),
      ),
    },
  });
}

/** Each route of the shared table with the API Gateway route constructs created for it. */
export type HttpDoorRoutes = { definition: RouteDefinition; constructs: HttpRoute[] }[];

/**
 * The HTTP API door: every route of the shared table, admin routes behind API Gateway's IAM
 * authorizer, stage throttling by default and a tighter throttle on each admin route, access logs.
 *
 * @example
 * const { api, routes } = createHttpApiDoor(this, { gateway, auth, usage }, doorProps);
 */
export function createHttpApiDoor(
  scope: Construct,
  functions: Record<FunctionName, IFunction>,
  props: DoorProps,
): { api: HttpApi; routes: HttpDoorRoutes } {
  const api = new HttpApi(scope, 'Api', {
    description: 'LLM gateway (OpenAI-compatible)',
    createDefaultStage: false,
  });
  const apiStage = httpApiStage(scope, api, 'DefaultStage', 'ApiAccessLogs', {
    props,
    throttle: throttleOf('apiThrottle', props.apiThrottle, DEFAULT_API_THROTTLE),
    logFields: {
      responseLength: '$context.responseLength',
      integrationLatency: '$context.integrationLatency',
      iamPrincipal: '$context.identity.userArn',
    },
  });
  const integrations = {} as Record<FunctionName, HttpLambdaIntegration>;
  for (const name of ['gateway', 'auth', 'usage'] as const) {
    integrations[name] = new HttpLambdaIntegration(`${name}Integration`, functions[name]);
  }
  const iamAuthorizer = new HttpIamAuthorizer();
  const routes = ROUTES.map((definition: RouteDefinition) => ({
    definition,
    constructs: api.addRoutes({
      path: definition.path,
      methods: [HttpMethod[definition.method]],
      integration: integrations[definition.function],
      authorizer: definition.auth === 'iam' ? iamAuthorizer : undefined,
    }),
  }));
  // Admin routes get their own, tighter throttle. The HTTP stage L2 has only the default route
  // settings, so these go on the L1 stage, keyed by route key (a JSON property: CloudFormation's
  // own field names). CloudFormation refuses settings for a route not created yet, hence the dependency.
  const adminThrottle = throttleOf('adminThrottle', props.adminThrottle, DEFAULT_ADMIN_THROTTLE);
  const adminRoutes = routes.filter(({ definition }) => definition.auth === 'iam');
  (apiStage.node.defaultChild as CfnHttpStage).routeSettings = Object.fromEntries(
    adminRoutes.map(({ definition }) => [
      routeKey(definition),
      { ThrottlingRateLimit: adminThrottle.rateLimit, ThrottlingBurstLimit: adminThrottle.burstLimit },
    ]),
  );
  for (const { constructs } of adminRoutes) apiStage.node.addDependency(...constructs);

  return { api, routes };
}

/** The routes the console door serves: every admin and usage route (the admin and usage Lambdas'). */
export const CONSOLE_ROUTES = ROUTES.filter(
  (route: RouteDefinition) => route.function === 'auth' || route.function === 'usage',
) as readonly RouteDefinition[];

/**
 * The console door, created only with the config's `sso`: a second HTTP API with the admin and
 * usage routes behind API Gateway's JWT authorizer (the identity provider's issuer and audiences),
 * for signed-in users. Why a second API: an HTTP API route has one authorizer, and the first
 * door's admin routes keep IAM. The authorizer turns away unsigned, expired and foreign tokens
 * before any Lambda runs; the Lambdas verify the token again and check the user's roles (the
 * model routes take tokens on the first two doors, where only the Lambda checks them). Every
 * route gets the admin throttle.
 *
 * @example
 * const consoleApi = createConsoleDoor(this, functions, config.sso, doorProps);
 */
export function createConsoleDoor(
  scope: Construct,
  functions: Pick<Record<FunctionName, IFunction>, 'auth' | 'usage'>,
  sso: SsoConfig,
  props: DoorProps,
): HttpApi {
  if (!sso.issuer.startsWith('https://')) {
    throw new Error(`LlmGateway: sso.issuer must be an https:// URL to deploy (got ${sso.issuer}).`);
  }
  const api = new HttpApi(scope, 'ConsoleApi', {
    description: 'LLM gateway console: admin and usage routes for signed-in users (single sign-on)',
    createDefaultStage: false,
  });
  httpApiStage(scope, api, 'ConsoleStage', 'ConsoleApiAccessLogs', {
    props,
    throttle: throttleOf('adminThrottle', props.adminThrottle, DEFAULT_ADMIN_THROTTLE),
    logFields: {
      // The token's subject: an id, never the token.
      subject: '$context.authorizer.claims.sub',
      authorizerError: '$context.authorizer.error',
    },
  });
  const authorizer = new HttpJwtAuthorizer('SsoAuthorizer', sso.issuer, { jwtAudience: [...sso.audience] });
  const integrations = {
    auth: new HttpLambdaIntegration('authConsoleIntegration', functions.auth),
    usage: new HttpLambdaIntegration('usageConsoleIntegration', functions.usage),
  };
  for (const definition of CONSOLE_ROUTES) {
    api.addRoutes({
      path: definition.path,
      methods: [HttpMethod[definition.method]],
      integration: integrations[definition.function as 'auth' | 'usage'],
      authorizer,
    });
  }
  return api;
}

/**
 * The streaming door: a regional REST API with one resource per gateway-function route, each a
 * Lambda proxy integration in STREAM mode (API Gateway calls InvokeWithResponseStream, streams
 * for up to 15 minutes, closes a stream idle for 5). Stage throttling, access logs, execution
 * logs at ERROR without request data, and the optional WAF web ACL.
 */
export function createStreamDoor(scope: Construct, stream: IFunction, props: DoorProps): RestApi {
  const { logRetention, removalPolicy } = props;
  const throttle = throttleOf('streamThrottle', props.streamThrottle, DEFAULT_STREAM_THROTTLE);
  const accessLogs = new LogGroup(scope, 'StreamApiAccessLogs', { retention: logRetention, removalPolicy });
  const api = new RestApi(scope, 'StreamApi', {
    description: 'LLM gateway streaming door (OpenAI-compatible, response streaming)',
    endpointConfiguration: { types: [EndpointType.REGIONAL] },
    // REST API logging (access and execution) needs the account's API Gateway CloudWatch role;
    // this sets it (an account-wide setting, kept when the stack is deleted).
    cloudWatchRole: true,
    deployOptions: {
      stageName: STREAM_STAGE_NAME,
      throttlingRateLimit: throttle.rateLimit,
      throttlingBurstLimit: throttle.burstLimit,
      // Errors only, never request or response bodies (prompts and answers stay out of logs).
      loggingLevel: MethodLoggingLevel.ERROR,
      dataTraceEnabled: false,
      accessLogDestination: new RestLogGroupLogDestination(accessLogs),
      accessLogFormat: AccessLogFormat.custom(
        JSON.stringify({
          requestId: '$context.requestId',
          ip: '$context.identity.sourceIp',
          requestTime: '$context.requestTime',
          routeKey: '$context.httpMethod $context.resourcePath',
          status: '$context.status',
          errorType: '$context.error.responseType',
          waf: '$context.wafResponseCode',
          responseLength: '$context.responseLength',
          responseLatency: '$context.responseLatency',
          integrationLatency: '$context.integrationLatency',
        }),
      ),
    },
  });
  const integration = new LambdaIntegration(stream, {
    responseTransferMode: ResponseTransferMode.STREAM,
    // A streamed response may run as long as the function (15 minutes), the most REST allows.
    timeout: Duration.minutes(15),
    // One invoke permission per method, for the deployed stage only (no console test invokes).
    allowTestInvoke: false,
  });
  for (const route of ROUTES.filter((definition: RouteDefinition) => definition.function === 'gateway')) {
    api.root.resourceForPath(route.path).addMethod(route.method, integration, {
      authorizationType: AuthorizationType.NONE,
    });
  }
  // API Gateway's own answers (throttled, unknown route, firewall, its 5xx) in OpenAI's shape.
  for (const [type, error] of Object.entries(STREAM_DOOR_RESPONSES) as [
    keyof typeof STREAM_DOOR_RESPONSES,
    GatewayError,
  ][]) {
    api.addGatewayResponse(`Door${type}`, {
      type: ResponseType.of(type),
      statusCode: KEEP_STATUS.has(type) ? undefined : String(error.status),
      responseHeaders: { 'content-type': "'application/json'" },
      templates: { 'application/json': JSON.stringify(error.toBody()) },
    });
  }
  if (props.webAclArn) {
    new CfnWebACLAssociation(scope, 'StreamApiWebAcl', {
      resourceArn: api.deploymentStage.stageArn,
      webAclArn: props.webAclArn,
    });
  }
  return api;
}
