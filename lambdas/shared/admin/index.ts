export {
  AdminService,
  createAdminService,
  DEFAULT_ROTATION_GRACE_SECONDS,
  MAX_ROTATION_GRACE_SECONDS,
  type AdminServiceDeps,
  type KeyScope,
} from './admin-service';
export { AdminChangeLog, type AdminAction, type AdminChange, type ChangePage } from './change-log';
export {
  changeView,
  createKeyInputSchema,
  createTeamInputSchema,
  keyView,
  rotateKeyInputSchema,
  teamView,
  updateTeamInputSchema,
  type CreateKeyInput,
  type CreateTeamInput,
  type UpdateTeamInput,
} from './schemas';
