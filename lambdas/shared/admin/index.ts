export { AdminService, type AdminServiceDeps } from './admin-service';
export {
  createKeyInputSchema,
  createTeamInputSchema,
  keyView,
  teamView,
  type CreateKeyInput,
  type CreateTeamInput,
} from './schemas';
