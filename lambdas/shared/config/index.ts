export {
  accountPrincipal,
  formatAdminAllowList,
  isAdminPrincipal,
  parseAdminAllowList,
  type AdminAllowList,
  type AdminPrincipalEntry,
} from './admin-principals';
export { ENVIRONMENT_VARIABLES } from './constants';
export { EnvironmentError, loadAdminAllowList, loadEnvironment, type GatewayEnvironment } from './environment';
