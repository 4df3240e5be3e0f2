// Runs before every test file. Tests never reach AWS: no real credentials, a fixed region, and
// the SDK's Node.js upgrade notice silenced (the Lambdas themselves run on Node.js 22).
process.env.AWS_REGION = 'us-east-1';
process.env.AWS_ACCESS_KEY_ID = 'test';
process.env.AWS_SECRET_ACCESS_KEY = 'test';
delete process.env.AWS_PROFILE;
delete process.env.AWS_SESSION_TOKEN;
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
// Keep test output readable; set TEST_LOG_LEVEL=DEBUG to see the gateway's logs.
process.env.POWERTOOLS_LOG_LEVEL = process.env.TEST_LOG_LEVEL ?? 'SILENT';
process.env.POWERTOOLS_DEV = 'false';

// Lambda's Node.js runtime gives streaming handlers an `awslambda` global; tests use the same
// stand-in as the local runtime.
import { installAwsLambdaGlobal } from '../../local/awslambda';
installAwsLambdaGlobal();
// Metrics go to stdout as EMF documents; tests that check them capture them explicitly.
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
