/**
 * DuckDB for the export tests: one in-memory database per file, queried with rows as plain
 * objects (BIGINT as number: easier to compare with the CLI's JSON), timestamps in UTC.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

export type Row = Record<string, unknown>;

export interface TestDb {
  query(sql: string): Promise<Row[]>;
  close(): void;
}

export async function openTestDb(): Promise<TestDb> {
  const instance = await DuckDBInstance.create(':memory:');
  const db: DuckDBConnection = await instance.connect();
  await db.run("SET TimeZone = 'UTC'");
  return {
    async query(sql: string): Promise<Row[]> {
      const r = await db.runAndReadAll(sql);
      return r
        .getRowObjects()
        .map((o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));
    },
    close(): void {
      db.closeSync();
      instance.closeSync();
    },
  };
}

/** A file name as an SQL string literal. */
export function sqlFile(file: string): string {
  return `'${file.replace(/'/g, "''")}'`;
}
