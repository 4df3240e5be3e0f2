export { EnvironmentError, loadEnvironment, type GatewayEnvironment } from './environment';
