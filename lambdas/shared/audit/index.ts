export { AuditLog, type AuditPage, type AuditSearch } from './audit-log';
export type { AuditRecord } from './record';
export { adminAuditQuerySchema, auditRange, auditView, ownAuditQuerySchema } from './views';
