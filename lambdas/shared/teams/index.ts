export { TeamAlreadyExistsError, TeamRepository } from './repository';
export { modelPatternSchema, teamIdSchema, teamRecordSchema, type TeamRecord } from './schema';
