/**
 * Successful outcomes and next-protocol keys, always with the same fields in the same order.
 * The layer walk reads every decoder's outcome at one place: when all outcomes share one
 * object shape, those reads stay fast (monomorphic) instead of a lookup per field per layer.
 */
import type { Layer } from '../types.js';
import type { DispatchTable, LayerOk, NextProtocol } from '../layer.js';

export function decoded(
  layer: Layer | undefined,
  nextOffset: number,
  next?: NextProtocol,
  capEnd?: number,
  wireEnd?: number,
  warning?: string,
): LayerOk {
  return { ok: true, layer, nextOffset, next, capEnd, wireEnd, warning };
}

export function nextProtocol(table: DispatchTable, key: number, altKey?: number, tunnel?: boolean): NextProtocol {
  return { table, key, altKey, tunnel };
}
