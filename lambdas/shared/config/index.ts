export {
  accountPrincipal,
  formatAdminAllowList,
  isAdminPrincipal,
  parseAdminAllowList,
  type AdminAllowList,
  type AdminPrincipalEntry,
} from './admin-principals';
export {
  BUDGET_ALERT_DETAIL_TYPES,
  BUDGET_ALERT_EVENT_BUS,
  ENVIRONMENT_VARIABLES,
  EVENT_SOURCE,
  SERVICE_NAME,
} from './constants';
export {
  EnvironmentError,
  loadAdminAllowList,
  loadEnvironment,
  loadReplayQueue,
  type GatewayEnvironment,
  type ReplayQueueEnvironment,
} from './environment';
export { FUNCTION_TABLES, type FunctionTables, type GatewayFunctionName } from './function-tables';
