import { VxiError } from '../errors.js';

/**
 * Building, using or tearing down the namespace lab failed: exit 1; exit 2 where the user must
 * fix something first (a --dir that is not safe to write into).
 */
export class LabError extends VxiError {
  constructor(message: string, options: { cause?: unknown; exitCode?: number } = {}) {
    super('VXI_LAB', message, options);
  }
}
