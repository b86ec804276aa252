export { D1Databases, type D1Result, type RowShape, splitStatements } from './database.ts';
export { D1_LIMITS, D1Error } from './limits.ts';
export {
  appliedMigrations,
  applyMigrations,
  createMigration,
  type MigrationTarget,
  migrationFiles,
  pendingMigrations,
} from './migrations.ts';
