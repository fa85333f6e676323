import { VxiError } from '../errors.js';

/** Building, using or tearing down the namespace lab failed: exit 1. */
export class LabError extends VxiError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('VXI_LAB', message, options);
  }
}
